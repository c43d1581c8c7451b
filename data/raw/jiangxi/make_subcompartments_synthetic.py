"""Write subcompartments_SYNTHETIC_chongyi.gpkg: a SYNTHETIC forest sub-compartment layer (小班)
of Chongyi County (崇义县, adcode 360725), so the demo can run the forest strata from polygons as
a bureau's inventory would give them. NOT inventory data: the polygons are a seeded Voronoi
tessellation of the real county outline, the attributes are drawn from stated shares and yield
curves (below). Run from the repository root:
    .venv/bin/python data/raw/jiangxi/make_subcompartments_synthetic.py

Fields (Chinese names, as a forest management inventory writes them): 小班号 (id), 优势树种
(dominant species), 起源 (人工 / 天然), 林龄 (yr; empty for bamboo), 龄组 (幼龄林 .. 过熟林 from the
age by the national rules for the species group; empty for bamboo and oil-tea, and left empty
in a few stands so that readers exercise the classing from age), 公顷蓄积 (m3 ha-1; empty for
bamboo and oil-tea, whose inventory counts culms or yield instead), 数据说明 ("SYNTHETIC 合成数据").
The layer also carries SYNTHETIC in its GeoPackage metadata (layer metadata SYNTHETIC=true and
its description).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from sinks.forest.models import AGE_CLASSES, age_class, richards_volume

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
OUT = HERE / "subcompartments_SYNTHETIC_chongyi.gpkg"
LAYER = "subcompartments"
SEED = 360725  # the county's adcode
N_CELLS = 400  # about 5.5 km2 each (real sub-compartments are 1-20 ha: this is a coarse stand-in)
CRS = "EPSG:4547"  # CGCS2000 / 3-degree Gauss-Kruger CM 114E, the inventory's usual projection here
NOTE = "SYNTHETIC 合成数据"
EMPTY_CLASS_SHARE = 0.05  # stands whose 龄组 is left empty (classed from 林龄 by the reader)

# Dominant species: (name in the layer, forest type, share of stands, share planted,
# age range (yr) drawn uniformly, Chapman-Richards V_max m3 ha-1, k yr-1, p). Shares: Chinese fir
# 30 %, Masson pine 20 %, broadleaf 20 % (木荷 and 阔叶混 10 % each), mixed 10 %, bamboo 10 %,
# oil-tea 5 %, slash pine (other conifer) 5 %: a plausible southern-Jiangxi mix, not a statistic.
# Yield curves: stated ASSUMPTIONS of the right order (a 20-yr planted fir stand ~100 m3 ha-1, the
# mean of the tree stands about 110 m3 ha-1). Each species gets its share of the stands exactly.
SPECIES = [
    ("杉木", "chinese_fir", 0.30, 0.80, (2, 45), 220.0, 0.07, 2.2),
    ("马尾松", "masson_pine", 0.20, 0.50, (3, 60), 180.0, 0.05, 2.0),
    ("湿地松", "other_conifer", 0.05, 1.00, (3, 35), 170.0, 0.08, 2.0),
    ("木荷", "broadleaf", 0.10, 0.20, (5, 70), 170.0, 0.04, 1.8),
    ("阔叶混", "broadleaf", 0.10, 0.10, (5, 80), 160.0, 0.04, 1.8),
    ("针阔混", "mixed", 0.10, 0.30, (5, 70), 170.0, 0.045, 1.9),
    ("毛竹", "bamboo", 0.10, 0.60, None, None, None, None),
    ("油茶", "economic", 0.05, 1.00, (3, 40), None, None, None),
]
VOLUME_NOISE_SD = 0.25  # log-normal noise on the yield curve
ORIGIN_ZH = {"planted": "人工", "natural": "天然"}
AGE_ZH = dict(zip(AGE_CLASSES, ("幼龄林", "中龄林", "近熟林", "成熟林", "过熟林")))

# Upper ages (yr) of young, middle, near-mature, mature stands by forest type and origin, southern
# China, national forest inventory rules (国家林业局 2014, 国家森林资源连续清查技术规定, 主要树种龄级与
# 龄组划分; as recalled, to be checked). Used only if src/sinks/data/forest_age_classes.csv (the
# cited table) is absent; otherwise that file's bounds are used.
AGE_BOUNDS = {
    ("chinese_fir", "planted"): (10, 20, 25, 35), ("chinese_fir", "natural"): (20, 40, 50, 60),
    ("masson_pine", "planted"): (10, 20, 30, 50), ("masson_pine", "natural"): (20, 30, 40, 60),
    ("other_conifer", "planted"): (10, 15, 20, 30), ("other_conifer", "natural"): (20, 30, 40, 60),
    ("broadleaf", "planted"): (5, 10, 15, 25), ("broadleaf", "natural"): (20, 40, 50, 70),
    ("mixed", "planted"): (10, 20, 30, 50), ("mixed", "natural"): (20, 30, 40, 60),
}


def age_bounds_table() -> dict[tuple[str, str], tuple[float, ...]]:
    """The age-class bounds: from the package's cited CSV if present, else AGE_BOUNDS."""
    csv = REPO / "src" / "sinks" / "data" / "forest_age_classes.csv"
    if not csv.exists():
        return AGE_BOUNDS
    table = pd.read_csv(csv, comment="#")
    cols = ["young_max", "middle_max", "near_mature_max", "mature_max"]
    return {(r.forest_type, r.origin): tuple(float(getattr(r, c)) for c in cols)
            for r in table.itertuples()}


def tessellate(county, rng: np.random.Generator, n: int) -> list:
    """``n`` Voronoi cells of seeded random points inside ``county``, clipped to it (1 m precision)."""
    x0, y0, x1, y1 = county.bounds
    points = []
    while len(points) < n:
        xy = rng.uniform((x0, y0), (x1, y1), size=(n, 2))
        inside = shapely.contains_xy(county, xy[:, 0], xy[:, 1])
        points.extend(xy[inside].tolist())
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points[:n]), extend_to=county)
    clipped = [shapely.set_precision(c.intersection(county), 1.0) for c in cells.geoms]
    return [c for c in clipped if not c.is_empty and c.area > 0]


def attributes(n: int, rng: np.random.Generator, bounds) -> pd.DataFrame:
    """Species, origin, age, age class and volume of ``n`` stands (see SPECIES)."""
    counts = np.round(np.array([s[2] for s in SPECIES]) * n).astype(int)
    counts[0] += n - counts.sum()
    pick = rng.permutation(np.repeat(np.arange(len(SPECIES)), counts))
    rows = []
    for i, k in enumerate(pick):
        name, ftype, _, planted, ages, vmax, kk, p = SPECIES[k]
        origin = "planted" if rng.random() < planted else "natural"
        age = int(rng.integers(ages[0], ages[1] + 1)) if ages else None
        klass, volume = None, None
        if vmax is not None:
            klass = AGE_ZH[str(age_class(age, bounds[(ftype, origin)]))]
            if rng.random() < EMPTY_CLASS_SHARE:
                klass = None
            volume = round(float(richards_volume(age, vmax, kk, p)
                                 * rng.lognormal(-VOLUME_NOISE_SD**2 / 2, VOLUME_NOISE_SD)), 1)
        rows.append({"小班号": f"{i + 1:04d}", "优势树种": name, "起源": ORIGIN_ZH[origin],
                     "林龄": age, "龄组": klass, "公顷蓄积": volume, "数据说明": NOTE})
    table = pd.DataFrame(rows)
    table["林龄"] = table["林龄"].astype("Int64")
    table["公顷蓄积"] = table["公顷蓄积"].astype("float64")
    return table


def main() -> None:
    counties = gpd.read_file(HERE / "jiangxi_counties.geojson")
    county = counties[counties["adcode"].astype(str) == "360725"].to_crs(CRS).geometry.union_all()
    rng = np.random.default_rng(SEED)
    cells = tessellate(county, rng, N_CELLS)
    table = attributes(len(cells), rng, age_bounds_table())
    gdf = gpd.GeoDataFrame(table, geometry=cells, crs=CRS)
    OUT.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2025-01-01T00:00:00.000Z"})  # same bytes each run
    description = (f"SYNTHETIC sub-compartments (小班) of 崇义县 Chongyi County, not inventory data: "
                   f"{Path(__file__).name}, seed {SEED}")
    gdf.to_file(OUT, layer=LAYER, driver="GPKG", engine="pyogrio",
                layer_options={"DESCRIPTION": description, "IDENTIFIER": "SYNTHETIC 小班 崇义县"},
                layer_metadata={"SYNTHETIC": "true", "GENERATOR": Path(__file__).name,
                                "SEED": str(SEED)})
    print(f"{OUT.name}: {len(gdf)} sub-compartments, {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

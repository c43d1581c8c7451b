"""Test factories and shared helpers. Test files import from here (``from conftest import ...``)
and never from one another.

* factories: small rasters, zones and configs whose totals can be worked out by hand (the tiny
  case), and running its stages in-process;
* ``assert_backends_agree``: a compute function gives the same numbers on numpy and on dask with
  chunks smaller than the array (STYLE: block seams are exercised);
* ``check_cog``: an output map opens as QGIS would see it;
* cases shared by the tests of several modules: gain-loss strata and perennial crops, a sinks
  density table with sds, the tiny case with biomass maps, remote-sensing scenes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
import yaml
from pyproj import CRS
from rasterio.transform import from_origin
from shapely.geometry import box

REPO = Path(__file__).resolve().parents[1]
ORIGIN = (500000.0, 3000000.0)  # UTM 50N (EPSG:32650), inside Jiangxi's zone

# Pixel area of the tiny case: 30 m x 30 m in UTM 50N at its central meridian, where the
# projection's areal scale is k0^2 = 0.9996^2, so the true area is 900 / 0.9996^2 m2.
PX_HA = 900 / 0.9996**2 / 1e4


# tests/cluster/ (a real single-node SLURM and dask.distributed cluster) runs only when asked:
# `make test-cluster`, i.e. pytest tests/cluster --cluster. The default run does not collect it.
def pytest_addoption(parser):
    parser.addoption("--cluster", action="store_true", default=False,
                     help="also run tests/cluster/ (needs scripts/cluster/start_slurm.sh start and "
                          "the cluster extra; make test-cluster does both)")


def pytest_ignore_collect(collection_path, config):
    if collection_path.name == "cluster" and collection_path.parent == Path(__file__).parent:
        return not config.getoption("--cluster")
    return None


def pytest_collection_modifyitems(config, items):
    # named on the command line (pytest tests/cluster), the folder is collected all the same
    if not config.getoption("--cluster"):
        skip = pytest.mark.skip(reason="a cluster test: run it with --cluster (make test-cluster)")
        for item in items:
            if "cluster" in item.keywords:
                item.add_marker(skip)


def make_raster(path: Path, array, crs="EPSG:32650", res=30.0, nodata=None, origin=ORIGIN,
                dtype=None) -> Path:
    """Write a single-band GeoTIFF (north-up) and return its path."""
    array = np.asarray(array)
    dtype = dtype or array.dtype
    profile = {"driver": "GTiff", "width": array.shape[1], "height": array.shape[0], "count": 1,
               "dtype": str(np.dtype(dtype)), "transform": from_origin(*origin, res, res)}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array.astype(dtype), 1)
    return path


def make_halves(path: Path, width_px: int, height_px: int, res=30.0, crs="EPSG:32650",
                id_field="code", name_field="name") -> Path:
    """Two zones: west half 'W' (id 1) and east half 'E' (id 2) of a raster footprint."""
    x0, y1 = ORIGIN
    x1, y0 = x0 + width_px * res, y1 - height_px * res
    xm = x0 + (width_px // 2) * res
    gdf = gpd.GeoDataFrame({id_field: ["1", "2"], name_field: ["W", "E"]},
                           geometry=[box(x0, y0, xm, y1), box(xm, y0, x1, y1)], crs=crs)
    gdf.to_file(path, driver="GPKG")
    return path


# CLCD codes: 1 cropland, 2 forest, 3 shrub, 5 water, 8 impervious.
LC_2000 = np.array([[2, 2, 1, 1],
                    [2, 3, 1, 5],
                    [8, 3, 1, 5]], dtype="uint8")
LC_2020 = np.array([[2, 2, 2, 1],
                    [2, 2, 8, 5],
                    [8, 3, 1, 5]], dtype="uint8")

# InVEST table (Mg C/ha): c_above, c_below, c_soil, c_dead
INVEST_TABLE = """lucode,c_above,c_below,c_soil,c_dead
1,5,0,40,0
2,30,7,55,2
3,2,5,50,0
5,0,0,0,0
8,0,0,20,0
"""


@pytest.fixture
def tiny(tmp_path):
    """A tiny two-epoch case (CLCD codes, 4 x 3 px of 30 m, InVEST table, two zones)."""
    return build_tiny(tmp_path)


def build_tiny(tmp_path: Path) -> Path:
    """Write the tiny case's files and config.yaml into ``tmp_path`` (paths relative to it)."""
    make_raster(tmp_path / "lc_2000.tif", LC_2000, nodata=0)
    make_raster(tmp_path / "lc_2020.tif", LC_2020, nodata=0)
    (tmp_path / "carbon_pools.csv").write_text(INVEST_TABLE)
    make_halves(tmp_path / "townships.gpkg", 4, 3)
    cfg = {
        "run": {"name": "my_county"},
        "grid": {"crs": "EPSG:32650", "resolution": 30},
        "landcover": {"legend": "clcd", "epochs": {2000: "lc_2000.tif", 2020: "lc_2020.tif"}},
        "carbon": {"densities": "carbon_pools.csv"},
        "zones": [{"path": "townships.gpkg", "id_field": "code", "name_field": "name",
                   "level": "township"}],
    }
    write_config(tmp_path / "config.yaml", cfg)
    return tmp_path


# The rules whose outputs the summary reads, and the gain-loss maps its figure shows when there
# is no stock-difference sink: what the tiny runs compute before summarizing.
SUMMARY_INPUTS = ("rasterize_zones", "align_landcover", "make_scenario", "map_inundation", "map_forest_strata",
                  "track_conversions", "compute_sink")


def run_tiny_stages(root: Path, edit=None, chunks: int = 2048, before_summary=None):
    """Edit the tiny case's config (``edit(cfg)``), then run in-process, in the plan's order
    (sinks.plan.stage_order), the jobs the zone tables need, ``before_summary(cfg, paths)`` if
    given, and summarize. Returns (cfg, paths, zonal summary)."""
    from sinks import plan
    from sinks.config import load_config
    from sinks.paths import run_paths
    from sinks.run import Run
    from sinks.summary import summarize

    cfg = yaml.safe_load((root / "config.yaml").read_text())
    if edit:
        edit(cfg)
    write_config(root / "config.yaml", cfg)
    cfg = load_config(root / "config.yaml")
    paths = run_paths(cfg)
    run = Run(cfg, paths, chunks)
    wanted = SUMMARY_INPUTS + (("compute_gain_loss",) if plan.summary_sink_kind(cfg) == "gain_loss_net" else ())
    for rule, wildcards in plan.stage_order(cfg):
        if rule in wanted:
            plan.RULES[rule].load()(run, **wildcards)
    if before_summary:
        before_summary(cfg, paths)
    return cfg, paths, summarize(run)


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture
def chdir(monkeypatch):
    """Change the working directory for one test."""
    def _chdir(path):
        monkeypatch.chdir(path)
        return path
    return _chdir


def sinks_cli(*args, cwd) -> subprocess.CompletedProcess:
    """Run the ``sinks`` command line in a fresh interpreter (``python -m sinks ...``)."""
    return subprocess.run([sys.executable, "-m", "sinks", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


# --- numpy vs dask ----------------------------------------------------------------------------

def assert_backends_agree(fn, *arrays, chunks=2, rtol=0.0, atol=0.0, lazy=True):
    """Run ``fn`` on numpy-backed and on dask-backed (chunked) xarray inputs and assert that the
    results agree (STYLE: every compute function on numpy and on dask with chunks smaller than
    the array, so that block seams are exercised).

    ``arrays`` are numpy arrays (wrapped as DataArrays with dims ``("y", "x")``) or numpy-backed
    DataArrays / Datasets; pass every other argument through ``fn`` (a lambda). ``chunks`` is
    an int, a tuple (one size per dim) or a dict, as for ``.chunk``; every input must be split
    into more than one block. With ``lazy`` every xarray result of the dask run must still be a
    dask array (nothing computed on the way). Results may be DataArrays, Datasets, arrays,
    scalars, or dicts / tuples / lists of them; each leaf must have the same shape and dtype on
    both backends and equal values by ``np.testing.assert_allclose(equal_nan=True)`` (the
    default ``rtol = atol = 0`` is exact equality). Returns (numpy result, dask result)."""
    eager_in = [_numpy_backed(a) for a in arrays]
    lazy_in = [_chunked(a, chunks) for a in eager_in]
    for i, a in enumerate(lazy_in):
        assert _n_blocks(a) > 1, (f"input {i}: chunks {chunks!r} do not split shape "
                                  f"{dict(a.sizes)}; no block seam would be exercised")
    eager, lazy_out = fn(*eager_in), fn(*lazy_in)
    e_leaves, d_leaves = dict(_leaves(eager)), dict(_leaves(lazy_out))
    assert list(e_leaves) == list(d_leaves), (list(e_leaves), list(d_leaves))
    for key, e in e_leaves.items():
        d = d_leaves[key]
        if lazy and isinstance(d, xr.DataArray):
            assert isinstance(d.data, da.Array), f"{key}: the dask run returned computed values"
        ev, dv = _values(e), _values(d)
        assert ev.shape == dv.shape, f"{key}: shape {dv.shape} on dask, {ev.shape} on numpy"
        assert ev.dtype == dv.dtype, f"{key}: dtype {dv.dtype} on dask, {ev.dtype} on numpy"
        np.testing.assert_allclose(dv, ev, rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=f"{key}: dask (chunks {chunks!r}) != numpy")
    return eager, lazy_out


def _numpy_backed(a):
    if isinstance(a, np.ndarray):
        return xr.DataArray(a, dims=("y", "x")[2 - a.ndim:] if a.ndim <= 2 else None)
    variables = a.data_vars.values() if isinstance(a, xr.Dataset) else [a]
    assert all(isinstance(v.data, np.ndarray) for v in variables), "inputs must be numpy-backed"
    return a


def _chunked(a, chunks):
    if isinstance(chunks, tuple):
        dims = a.dims if isinstance(a, xr.DataArray) else next(iter(a.data_vars.values())).dims
        chunks = dict(zip(dims, chunks))
    return a.chunk(chunks)


def _n_blocks(a) -> int:
    variables = a.data_vars.values() if isinstance(a, xr.Dataset) else [a]
    return min(v.data.npartitions for v in variables)


def _leaves(obj, key="result"):
    if isinstance(obj, xr.Dataset):
        for name in obj.data_vars:
            yield f"{key}[{name!r}]", obj[name]
    elif isinstance(obj, Mapping):
        for name, v in obj.items():
            yield from _leaves(v, f"{key}[{name!r}]")
    elif isinstance(obj, (tuple, list)):
        for i, v in enumerate(obj):
            yield from _leaves(v, f"{key}[{i}]")
    else:
        yield key, obj


def _values(x) -> np.ndarray:
    return np.asarray(x.values if isinstance(x, xr.DataArray) else x)


# --- COG conformance ----------------------------------------------------------------------------

REQUIRED_TAGS = {"units", "sign_convention", "sinks_version", "config_hash", "run_name",
                 "created", "inputs", "model", "citation", "scenario"}


def check_cog(path, kind):
    """The map opens as QGIS would see it: CRS, dtype, nodata, LAYOUT=COG, overviews,
    description, unit and tags of its registry entry, and its style sidecar."""
    from sinks.io.outputs import OUTPUTS

    spec = OUTPUTS[kind]
    with rasterio.open(path) as src:
        assert src.crs is not None
        assert src.dtypes[0] == spec.dtype
        assert src.nodata == spec.nodata
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.block_shapes[0] == (512, 512) or max(src.shape) <= 512
        if max(src.shape) > 512:
            assert src.overviews(1), "no overviews"
        assert src.descriptions[0] and len(src.descriptions[0]) <= 100, src.descriptions[0]
        assert src.tags()["long_description"]
        assert src.units[0] == spec.unit
        assert REQUIRED_TAGS <= set(src.tags())
        crs_name = CRS.from_wkt(src.crs.to_wkt()).name
        assert crs_name and crs_name != "unknown", f"{path.name}: CRS without a name"
        if kind == "ecosystem":
            assert src.colormap(1)[1][:3] == (34, 120, 51)
        present = set(np.unique(src.read(1))) - {src.nodata} if spec.style == "classes" else None
    check_qml(path, kind, present)


def check_qml(path, kind, present=None):
    """The QGIS style sidecar parses and matches the map: the classes ``present`` (and only
    those) with readable names, or a ramp whose legend items carry the unit (sinks: centred on
    0, "source" below and "sink" above)."""
    from sinks.io.outputs import OUTPUTS
    from sinks.io.styles import display_unit

    root = ET.parse(path.with_suffix(".qml")).getroot()
    renderer = root.find("pipe/rasterrenderer")
    spec = OUTPUTS[kind]
    if spec.style == "classes":
        assert renderer.get("type") == "paletted"
        labels = {int(e.get("value")): e.get("label") for e in renderer.iter("paletteEntry")}
        if present is not None:
            assert set(labels) == {int(c) for c in present}
        assert all(" " in t for t in labels.values()), labels  # words, not identifiers
        if kind == "ecosystem" and 1 in labels:
            assert labels[1] == "林地 forest"
    else:
        assert renderer.get("type") == "singlebandpseudocolor"
        vmin, vmax = float(renderer.get("classificationMin")), float(renderer.get("classificationMax"))
        assert vmin < vmax
        shader = renderer.find("rastershader/colorrampshader")
        assert shader.find("rampLegendSettings").get("useContinuousLegend") == "0"
        items = [i.get("label") for i in shader.iter("item")]
        assert all(display_unit(spec.unit) in t for t in items), items
        if spec.style == "diverging":
            assert vmin == -vmax
            assert items[0].endswith("(source)") and items[-1].endswith("(sink)"), items


# --- gain-loss cases ----------------------------------------------------------------------------

# Plantation gain, Eq. 2.9-2.10: G_W 8 t d.m./ha/yr x (1 + R 0.224) x CF 0.47 = 4.60224 t C/ha/yr.
GAIN = 8 * 1.224 * 0.47


def strata_case(root, soil_codes=None):
    """Forest growth and soil strata rasters on the tiny case; returns the config edit (gain-loss
    on, paddy_share 0): (0,0) and (1,0) natural secondary > 20 y, the rest plantation; soil
    code 5 at (0,2), mapped to ``soil_codes`` (default sandy)."""
    make_raster(root / "forest_strata.tif", np.array([[2, 1, 1, 1], [2, 1, 1, 1], [1, 1, 1, 1]],
                                                     dtype="uint8"), nodata=0)
    make_raster(root / "soil.tif", np.array([[0, 0, 5, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
                                            dtype="uint8"), nodata=0)

    def edit(c):
        c["carbon"].update(method=["stock_difference", "gain_loss"], paddy_share=0.0)
        c["gain_loss"] = {"strata": {
            "forest_growth": {"raster": "forest_strata.tif",
                              "codes": {1: "plantation", 2: "natural_secondary_gt20"}},
            "soil": {"raster": "soil.tif", "codes": soil_codes or {5: "sandy"}}}}
    return edit


# Perennial crops: CSV legend code 4 = cropland_perennial; (0,0) is cropland in 2000 and
# perennial from the second epoch on.
PERENNIAL_LC = {2000: [[1, 2, 2, 2], [1, 3, 2, 5], [8, 3, 1, 5]],
                2006: [[4, 2, 2, 2], [1, 3, 2, 5], [8, 3, 1, 5]]}


def perennial_case(root, epochs, confirm=True):
    """Three epochs ``epochs`` of the perennial land cover (the 2nd and 3rd alike), a CSV legend
    and a perennial row in the InVEST table; returns the config edit (gain-loss on, perennial
    rate 2.1 and cycle 30 confirmed unless ``confirm`` is False)."""
    for year, lc in zip(epochs, [PERENNIAL_LC[2000], PERENNIAL_LC[2006], PERENNIAL_LC[2006]]):
        make_raster(root / f"lc_{year}.tif", np.array(lc, dtype="uint8"), nodata=0)
    pd.DataFrame({"code": [1, 2, 3, 4, 5, 8],
                  "ecosystem": ["cropland_upland", "forest", "shrub", "cropland_perennial",
                                "water", "settlement"]}).to_csv(root / "legend.csv", index=False)
    (root / "carbon_pools.csv").write_text((root / "carbon_pools.csv").read_text() + "4,31.5,0,39.6,0\n")

    def edit(c):
        c["landcover"].update(legend="legend.csv", epochs={y: f"lc_{y}.tif" for y in epochs})
        c["carbon"]["method"] = ["stock_difference", "gain_loss"]
        if confirm:
            c["parameters"] = {"perennial_agb_rate": {"value": 2.1, "source": "test"},
                               "perennial_cycle": {"value": 30, "source": "test"}}
    return edit


def perennial_w_net(df, year_start):
    """Zone W's gain-loss net sink of the perennial crops in the period starting ``year_start``."""
    return df[(df.method == "gain_loss") & (df.ecosystem == "cropland_perennial")
              & (df.quantity == "net_sink") & (df.zone_name == "W")
              & (df.year_start == year_start)]["value"].iloc[0]


# --- a sinks density table with sds -------------------------------------------------------------

# Zones of the tiny case: W = columns 0-1, E = columns 2-3.
# 2000: W forest 3, shrub 2, settlement 1 px; E cropland 4, water 2 px.
# 2020: W forest 4, shrub 1, settlement 1 px; E forest 1, cropland 2, settlement 1, water 2 px.
# AGB sd (Mg C/ha): forest 6, shrub 1, paddy 3, upland 1; cropland = 0.5 paddy + 0.5 upland,
# so its AGB sd per ha is sqrt(0.5² 3² + 0.5² 1²) = sqrt(2.5) = 1.5811.
DENSITY_SD_TABLE = """ecosystem,pool,value,unit,sd,distribution,source,status
forest,agb,30,Mg C ha-1,6,normal,test,C1
forest,bgb,7,Mg C ha-1,0,none,test,C1
forest,dead,2,Mg C ha-1,0,none,test,C1
forest,soc,55,Mg C ha-1,0,none,test,C1
shrub,agb,2,Mg C ha-1,1,normal,test,C1
shrub,bgb,5,Mg C ha-1,0,none,test,C1
shrub,dead,0,Mg C ha-1,0,none,test,C1
shrub,soc,50,Mg C ha-1,0,none,test,C1
cropland_paddy,agb,6,Mg C ha-1,3,normal,test,C1
cropland_paddy,bgb,0,Mg C ha-1,0,none,test,C1
cropland_paddy,dead,0,Mg C ha-1,0,none,test,C1
cropland_paddy,soc,40,Mg C ha-1,0,none,test,C1
cropland_upland,agb,4,Mg C ha-1,1,normal,test,C1
cropland_upland,bgb,0,Mg C ha-1,0,none,test,C1
cropland_upland,dead,0,Mg C ha-1,0,none,test,C1
cropland_upland,soc,40,Mg C ha-1,0,none,test,C1
"""
ZERO_SD_CLASSES = {"grassland": 60, "wetland": 100, "water": 0, "settlement": 20, "other": 0}


def density_table_with_sd() -> str:
    """A sinks density table whose only uncertain densities are above-ground biomass (see
    DENSITY_SD_TABLE), so every sd can be worked out by hand with IPCC 2006 Vol.1 Ch.3 Eq. 3.2:
    sd(Σ c_j θ_j) = sqrt(Σ (c_j sd_j)²)."""
    rows = [f"{cls},{pool},{soc if pool == 'soc' else 0},Mg C ha-1,0,none,test,C1"
            for cls, soc in ZERO_SD_CLASSES.items() for pool in ("agb", "bgb", "dead", "soc")]
    return DENSITY_SD_TABLE + "\n".join(rows) + "\n"


def run_with_density_sd(root, approaches, chunks=2048, n_draws=4000):
    """The tiny case with ``density_table_with_sd`` (paddy_share 0.5) and the uncertainty
    ``approaches``: zone rows indexed by (zone, ecosystem, quantity, years) and the stock (2000)
    and sink (2000-2020) uncertainty maps."""
    from sinks.methods.stock_difference.maps import map_sink_uncertainty, map_stock_uncertainty
    from sinks.run import Run

    (root / "densities.csv").write_text(density_table_with_sd())

    def edit(cfg):
        cfg["carbon"] = {"densities": "densities.csv", "paddy_share": 0.5}
        cfg["uncertainty"] = {"approaches": approaches, "n_draws": n_draws, "seed": 7}

    cfg, paths, df = run_tiny_stages(root, edit, chunks)
    maps = map_stock_uncertainty(Run(cfg, paths, chunks), 2000)
    maps += map_sink_uncertainty(Run(cfg, paths, chunks), 2000, 2020)
    return df.set_index(["zone_name", "ecosystem", "quantity", "year_start", "year_end"]), maps


# --- the tiny case with biomass maps ------------------------------------------------------------

CF, ROOT_SHOOT = 0.47, 0.224  # registry carbon_fraction (IPCC 2006 Table 4.3), root_shoot_plantation (2019 Table 4.4)
R_HIGH = 0.232  # root_shoot_plantation_gt125: R above 125 t d.m./ha (2019 Table 4.4)
Q = 1.6448536269514722 * 10.0  # conformal half-width of a 90 % interval whose pixel sd is 10 Mg/ha
# Relative sds of the carbon factors (registry): CF 95 % range 0.44-0.49 -> sd 0.05 / 3.92;
# R +/-90 % as 2 SD -> sd 0.1008; CF (1 + R) by Eq. 3.1: hypot(0.012755 / 0.47, 0.1008 / 1.224).
U_CF = 0.05 / 3.92 / CF
U_CF1R = float(np.hypot(U_CF, 0.224 * 90 / 200 / (1 + ROOT_SHOOT)))
# Training plots of the tiny model: NDVI 0.8 and AGB 100 everywhere, so every refit on resampled
# plots predicts 100 and the model's coefficient error is 0 unless a test gives other plots.
TINY_PLOTS = {"ndvi": [0.8] * 6, "agb": [100.0] * 6}
NA = np.nan
# Tiny AGB epochs (Mg d.m./ha) on the forest pixels of each land cover (CLCD 2 = forest).
AGB_2000 = np.array([[100, 80, NA, NA],
                     [60, NA, NA, NA],
                     [NA, NA, NA, NA]])
AGB_2020 = np.array([[110, 90, 20, NA],
                     [60, 30, NA, NA],
                     [NA, NA, NA, NA]])


def biomass_config(years):
    """Config edit: biomass maps of ``years`` (model year 2000, NDVI feature, simulated plots)
    used in the stocks."""
    def edit(cfg):
        cfg["biomass"] = {"enabled": True, "year": 2000, "years": years, "use_in_stock": True,
                          "features": {"ndvi": "ndvi.tif"}, "plots": None, "bootstrap": 5}
    return edit


def write_maps(maps, plots=TINY_PLOTS):
    """Write the given AGB epochs, the model sidecar and the training plots (``plots``: feature
    and agb columns) as the biomass stages would."""
    import sklearn

    from sinks.rs.biomass_model import training_hash

    def write(cfg, paths):
        for year, agb in maps.items():
            make_raster(paths.output("agb", year=year), np.where(np.isnan(agb), -9999.0, agb),
                        nodata=-9999.0, dtype="float32")
        table = pd.DataFrame(plots)
        features = table.drop(columns="agb")
        side = {"features": list(features.columns), "alpha": 0.1, "q": Q,
                "training_hash": training_hash(features, table["agb"]), "cv_rmse": 20.0,
                "n_plots": len(table), "sklearn": sklearn.__version__}
        paths.biomass_model(2000).with_suffix(".json").write_text(json.dumps(side))
        gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(np.full(len(table), 15.0),
                                                            np.full(len(table), -15.0)),
                         crs="EPSG:32650").to_file(paths.output("biomass_plots", year=2000))
    return write


@pytest.fixture
def two_epochs(tmp_path, chdir):
    """The tiny case with AGB maps for 2000 and 2020 (AGB_2000, AGB_2020): (cfg, paths, rows)."""
    root = chdir(build_tiny(tmp_path))
    make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
    return run_tiny_stages(root, biomass_config([2000, 2020]),
                           before_summary=write_maps({2000: AGB_2000, 2020: AGB_2020}))


def rows_where(df, **sel):
    """The zone rows with the given column values, indexed by zone name."""
    out = df
    for k, v in sel.items():
        out = out[out[k] == v]
    return out.set_index("zone_name")


# --- remote sensing -----------------------------------------------------------------------------

# 314 kB real scene, in the repo with its provenance README.
S2 = REPO / "data/raw/sentinel2/sentinel2_patagonia_10m.tif"
S2_BANDS = {"B": 1, "G": 2, "R": 3, "N": 4}  # file bands: B2 blue, B3 green, B4 red, B8 nir (DN = refl x 1e4)


def make_scene(path: Path, bands, crs="EPSG:32650", res=10.0, origin=ORIGIN, nodata=0,
               dtype="uint16") -> Path:
    """A multi-band GeoTIFF from a list of 2-D arrays (band 1 first)."""
    bands = [np.asarray(b) for b in bands]
    profile = {"driver": "GTiff", "width": bands[0].shape[1], "height": bands[0].shape[0],
               "count": len(bands), "dtype": dtype, "transform": from_origin(*origin, res, res)}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        for i, b in enumerate(bands, start=1):
            dst.write(b.astype(dtype), i)
    return path


def one_line(exc_info) -> str:
    """The message of a raised error, which must be one line."""
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


def s2_case(root: Path, **scene) -> Path:
    """A config on the Sentinel-2 subset's own grid (UTM 19S, 10 m, 300 x 200 px): an all-forest
    WorldCover land cover (code 10) and the scene for epoch 2020 (Patagonia: I/O check only)."""
    make_raster(root / "lc_2020.tif", np.full((200, 300), 10, dtype="uint8"), crs="EPSG:32719",
                res=10.0, nodata=0, origin=(600000.0, 4700020.0))
    gpd.GeoDataFrame({"id": ["1"]}, geometry=[box(600000, 4698020, 603000, 4700020)],
                     crs="EPSG:32719").to_file(root / "site.gpkg")
    cfg = {"run": {"name": "s2"}, "grid": {"crs": "EPSG:32719", "resolution": 10},
           "zones": [{"path": "site.gpkg", "id_field": "id", "level": "site"}],
           "landcover": {"legend": "worldcover", "epochs": {2020: "lc_2020.tif", 2021: "lc_2020.tif"}},
           "uncertainty": {"enabled": False},
           "imagery": {"scenes": {2020: [{"path": str(S2), "bands": S2_BANDS, "scale": 1e-4, **scene}]},
                       "indices": ["NDVI", "EVI"]}}
    return write_config(root / "config.yaml", cfg)


@pytest.fixture(scope="module")
def jiangxi_plots():
    """400 SYNTHETIC plots over real Jiangxi forest pixels (MCD12C1 IGBP 1-5, 8) with AGB from
    real NDVI max by the simulator's stated relation."""
    from sinks.io.rasters import open_raster
    from sinks.rs.plots import simulate_plots

    lc = open_raster(REPO / "data/raw/jiangxi/mcd12c1_2019_igbp_jiangxi.tif").load()
    ndvi = open_raster(REPO / "data/raw/jiangxi/ndvi_max_jiangxi.tif").load()
    forest = lc.isin([1, 2, 3, 4, 5, 8])
    return simulate_plots(forest, ndvi, n=400, seed=3, year=2019), ndvi

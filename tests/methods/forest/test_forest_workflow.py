"""The forest strata end to end on the tiny case: a sub-compartment layer with Chinese field
names and values, inventory shares for the other forest pixels, the strata map, biomass from
volume, the gain-loss growth by stratum and the harvest from volume statistics, each against
numbers worked out by hand."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import box

from conftest import ORIGIN, PX_HA, build_tiny, rows_where, run_tiny_stages
from sinks.forest.models import class_age, richards_increment, richards_volume
from sinks.forest.tables import age_bounds, stratum_codes

CF = 0.47  # registry carbon_fraction
FIR = (0.4, 20.0, 200.0, 0.1, 2.0)  # Fang a, b; yield Vmax, k, p
PINE = (0.5, 1.0, 180.0, 0.06, 2.0)
TIMBER = 10.0  # m3/yr felled: all of it from the one mature stand


def forest_case(root):
    """Pixel (0, 0) is a natural Masson pine sub-compartment of age 45 (龄组 left empty, so it is
    classed from 林龄) and 120 m3/ha; every other forest pixel takes the shares: planted Chinese
    fir, middle-aged."""
    x0, y1 = ORIGIN
    gpd.GeoDataFrame({"小班号": ["001"], "优势树种": ["马尾松"], "起源": ["天然"], "龄组": [""],
                      "林龄": [45], "公顷蓄积": [120.0]},
                     geometry=[box(x0, y1 - 30, x0 + 30, y1)], crs="EPSG:32650").to_file(
        root / "xiaoban.gpkg", driver="GPKG")
    (root / "shares.csv").write_text("zone_id,forest_type,origin,age_class,share\n"
                                     "*,chinese_fir,planted,middle,1.0\n")
    params = {"harvest_timber_volume": TIMBER, "harvest_fuelwood_volume": 0.0, "disturbance_area": 0.0}
    for t, (a, b, vmax, k, p) in (("chinese_fir", FIR), ("masson_pine", PINE)):
        params.update({f"fang_a_{t}": a, f"fang_b_{t}": b, f"yield_vmax_{t}": vmax,
                       f"yield_k_{t}": k, f"yield_p_{t}": p})

    def edit(c):
        c["carbon"]["method"] = ["stock_difference", "gain_loss"]
        c["forest"] = {"enabled": True, "shares": "shares.csv", "shares_level": "township",
                       "subcompartments": {
                           "path": "xiaoban.gpkg",
                           "fields": {"forest_type": "优势树种", "origin": "起源", "age_class": "龄组",
                                      "age": "林龄", "volume": "公顷蓄积"},
                           "codes": {"forest_type": {"马尾松": "masson_pine"}, "origin": {"天然": "natural"}}}}
        c["parameters"] = {k: {"value": v, "source": "test"} for k, v in params.items()}
    return edit


def test_forest_strata_volume_growth_and_harvest_by_hand(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, forest_case(root))
    codes = stratum_codes()
    pine, fir = codes[("masson_pine", "natural", "mature")], codes[("chinese_fir", "planted", "middle")]
    with rasterio.open(paths.output("forest_strata")) as src:
        strata = src.read(1)
    # forest in 2000: (0,0), (0,1), (1,0); age 45 is mature for natural Masson pine (bounds 20/30/40/60)
    assert strata.tolist() == [[pine, fir, 0, 0], [fir, 0, 0, 0], [0, 0, 0, 0]]
    # the QGIS legend names every stratum present in the map, in Chinese first, each with its own colour
    qml = paths.output("forest_strata").with_suffix(".qml").read_text(encoding="utf-8")
    entries = re.findall(r'<paletteEntry value="(\d+)" color="(#[0-9a-f]{6})"[^>]*label="([^"]+)"', qml)
    assert {int(v) for v, _, _ in entries} == {pine, fir} and len({c for _, c, _ in entries}) == 2
    assert (str(fir), "人工杉木林中龄林 (chinese_fir/planted/middle)") in {(v, lab) for v, _, lab in entries}
    with rasterio.open(paths.output("forest_volume")) as src:
        vol = src.read(1)
    v_fir = richards_volume(class_age(age_bounds("chinese_fir", "planted"), "middle"), *FIR[2:])
    assert vol[0, 0] == pytest.approx(120.0) and vol[0, 1] == pytest.approx(v_fir, rel=1e-6)

    # biomass from volume, zone W (columns 0-1): B = a V + b on each pixel, x CF
    bio = rows_where(df, method="forest_inventory", zone_name="W", ecosystem="forest")
    total = (bio.loc[bio.quantity == "carbon_stock_agb", "value"].sum()
             + bio.loc[bio.quantity == "carbon_stock_bgb", "value"].sum())
    want = PX_HA * CF * ((PINE[0] * 120 + PINE[1]) + 2 * (FIR[0] * v_fir + FIR[1]))
    assert total == pytest.approx(want, rel=1e-5)
    assert bio.loc[bio.quantity == "area", "value"].item() == pytest.approx(3 * PX_HA)

    # growth of forest remaining forest by stratum: a x dV/dt at the class age x CF
    gl = rows_where(df, method="gain_loss", zone_name="W", ecosystem="forest", year_start=2000)
    g_fir = FIR[0] * richards_increment(class_age(age_bounds("chinese_fir", "planted"), "middle"), *FIR[2:]) * CF
    g_pine = PINE[0] * richards_increment(class_age(age_bounds("masson_pine", "natural"), "mature"), *PINE[2:]) * CF
    co2 = 44 / 12
    assert gl.loc[gl.quantity == "net_sink_remaining", "value"].item() == pytest.approx(
        PX_HA * (g_pine + 2 * g_fir) * co2, rel=1e-5)
    # harvest: the 10 m3/yr come out of the one mature stand at the BEF (a + b / V) x CF of its
    # stratum (V its yield-curve volume: the rates are per stratum)
    v_pine = richards_volume(class_age(age_bounds("masson_pine", "natural"), "mature"), *PINE[2:])
    assert gl.loc[gl.quantity == "net_sink_harvest", "value"].item() == pytest.approx(
        -TIMBER * (PINE[0] + PINE[1] / v_pine) * CF * co2, rel=1e-5)
    # the zone table carries uncertainty for the volume-based stocks
    assert bio.loc[bio.quantity == "carbon_stock_agb", "sd"].gt(0).all()
    summary = paths.output("forest_strata_summary")
    assert summary.exists()

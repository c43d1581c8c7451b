"""Strata from rasters (issue 4 item 1): forest growth stratum, IPCC soil class, IPCC climate
zone and cropland management per pixel, mapped from raster codes by the config, change the
gain-loss rates of their pixels only (the forest growth and soil case: conftest.strata_case)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from conftest import (GAIN, PX_HA, build_tiny, make_raster, perennial_case, perennial_w_net,
                      run_tiny_stages, strata_case)
from sinks.errors import MissingClassError
from sinks.methods.gain_loss.maps import compute_gain_loss, map_gain_loss_uncertainty
from sinks.run import Run

CO2 = 44 / 12
G_GT20 = 1.0 * 1.230 * 0.47  # natural secondary > 20 y: G_W 1.0 x (1 + R 0.230) x CF 0.47 = 0.5781
RAMP_LAC = (55 - 55 * 0.69) / 20   # cropland (paddy_share 0) -> forest on LAC: 0.8525 t C/ha/yr
RAMP_SANDY = (36 - 36 * 0.69) / 20  # the same on sandy soil (SOC_ref 36): 0.558


def test_strata_rasters_change_the_rates_of_their_pixels(tmp_path, chdir):
    # W zone (2000 -> 2020): forest at 2020 on (0,0), (0,1), (1,0), (1,1); (0,0) and (1,0) are
    # natural > 20 y, the others plantations; the shrub -> forest px loses 7 Mg C/ha over 20 yr.
    # E zone: cropland -> forest on sandy soil (0,2): GAIN - 5/20 + RAMP_SANDY; cropland ->
    # settlement on LAC (1,2): -5/20 + RAMP_LAC; the rest remains (0).

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, strata_case(root))
    gl = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.quantity == "net_sink")
            ].set_index("zone_name")["value"]
    assert gl["W"] == pytest.approx((2 * GAIN + 2 * G_GT20 - 7 / 20) * PX_HA * CO2, rel=1e-6)
    assert gl["E"] == pytest.approx((GAIN - 0.25 + RAMP_SANDY - 0.25 + RAMP_LAC) * PX_HA * CO2, rel=1e-6)
    maps = {}
    for chunks in (2048, 1):
        compute_gain_loss(Run(cfg, paths, chunks), 2000, 2020)
        with rasterio.open(paths.output("gain_loss_net", y0=2000, y1=2020)) as src:
            maps[chunks] = src.read(1)
    np.testing.assert_array_equal(maps[2048], maps[1])
    assert maps[1][0, 0] == pytest.approx(G_GT20 * CO2, rel=1e-6)
    assert maps[1][0, 1] == pytest.approx(GAIN * CO2, rel=1e-6)
    assert maps[1][0, 2] == pytest.approx((GAIN - 0.25 + RAMP_SANDY) * CO2, rel=1e-6)
    # The map and the rows agree: sum of value x pixel area = the zone total.
    assert maps[1][:, 2:].sum() * PX_HA == pytest.approx(gl["E"], rel=1e-5)


def test_unmapped_stratum_code_is_refused(tmp_path, chdir):
    import yaml

    from conftest import write_config
    from sinks.validate import validate_inputs
    from sinks.config import load_config

    root = chdir(build_tiny(tmp_path))
    edit = strata_case(root, soil_codes={7: "HAC"})
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    edit(cfg)
    write_config(root / "config.yaml", cfg)
    with pytest.raises(MissingClassError, match=r"soil.tif: codes \[5\] are not in gain_loss.strata.soil.codes"):
        validate_inputs(Run.from_config(load_config(root / "config.yaml")))


# Climate zone and management strata (issue 4 item 1). Forest -> annual cropland (paddy_share 0)
# over 2000-2020: biomass (5 - 39) / 20 = -1.7 t C/ha/yr (InVEST table: cropland 5, forest
# 30 + 7 + 2), and the soil moves from SOC_ref x 1 (forest) to SOC_ref x F_LU x F_MG x F_I over
# D = 20 yr (2019 Table 2.3 and Table 5.5).
BIOMASS_LOSS = (5 - 39) / 20                          # -1.7
SOIL_TROPICAL = (38 * 0.83 - 38) / 20                 # LAC tropical moist: -0.323
SOIL_WARM = (55 * 0.69 - 55) / 20                     # LAC warm temperate moist: -0.8525
SOIL_NO_TILL_MANURE = (55 * 0.69 * 1.10 * 1.44 - 55) / 20  # no-till, high input with manure: +0.25564


def _climate_management(root):
    # lc_2020: (0,0) and (0,1) forest -> cropland; the rest as in the tiny case.
    make_raster(root / "lc_2020.tif", np.array([[1, 1, 2, 1], [2, 2, 8, 5], [8, 3, 1, 5]],
                                               dtype="uint8"), nodata=0)
    make_raster(root / "climate.tif", np.array([[2, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]],
                                               dtype="uint8"), nodata=0)
    make_raster(root / "management.tif", np.array([[0, 3, 0, 3], [0, 4, 0, 0], [0, 0, 0, 0]],
                                                  dtype="uint8"), nodata=0)

    def edit(c):
        c["carbon"].update(method=["stock_difference", "gain_loss"], paddy_share=0.0)
        c["gain_loss"] = {"strata": {
            "climate": {"raster": "climate.tif", "codes": {1: "warm_temperate_moist", 2: "tropical_moist"}},
            "management": {"raster": "management.tif",
                           "codes": {3: "no_till/high_manure", 4: "reduced_tillage/low"}}}}
    return edit


def test_climate_and_management_strata_change_only_their_pixels(tmp_path, chdir):
    # (0,0) tropical moist: -1.7 + SOIL_TROPICAL; (0,1) warm temperate, no-till with manure:
    # -1.7 + SOIL_NO_TILL_MANURE. Unchanged: (1,0) forest remaining GAIN; (1,1) shrub -> forest
    # GAIN - 7/20 (reduced tillage / low input does not touch forest); (0,2) cropland -> forest
    # GAIN - 5/20 - SOIL_WARM; (1,2) cropland -> settlement -5/20 - SOIL_WARM; (0,3) cropland
    # remaining (no-till raster code, but the same factors at both ends) 0; the rest 0.

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, _climate_management(root))
    expected = np.array([[BIOMASS_LOSS + SOIL_TROPICAL, BIOMASS_LOSS + SOIL_NO_TILL_MANURE,
                          GAIN - 0.25 - SOIL_WARM, 0],
                         [GAIN, GAIN - 7 / 20, -0.25 - SOIL_WARM, np.nan],
                         [0, 0, 0, np.nan]]) * CO2
    maps = {}
    for chunks in (2048, 1):
        compute_gain_loss(Run(cfg, paths, chunks), 2000, 2020)
        with rasterio.open(paths.output("gain_loss_net", y0=2000, y1=2020)) as src:
            maps[chunks] = np.where(src.read(1) == src.nodata, np.nan, src.read(1))
    np.testing.assert_array_equal(maps[2048], maps[1])
    water = np.isnan(expected)  # water remaining water: no soil, no biomass: 0 or nodata
    np.testing.assert_allclose(maps[1][~water], expected[~water], rtol=1e-6)
    gl = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.quantity == "net_sink")
            ].set_index("zone_name")["value"]
    net = np.nan_to_num(maps[1])
    assert gl["W"] == pytest.approx(net[:, :2].sum() * PX_HA, rel=1e-5)
    assert gl["E"] == pytest.approx(net[:, 2:].sum() * PX_HA, rel=1e-5)
    # Per-pixel Monte Carlo maps look the tropical pixel up in its own stratum: its interval
    # brackets its rate.
    map_gain_loss_uncertainty(Run(cfg, paths), 2000, 2020)
    out = paths.output("gain_loss_net_p2_5", y0=2000, y1=2020)
    with rasterio.open(out) as lo, rasterio.open(str(out).replace("p2_5", "p97_5")) as hi:
        for px in ((0, 0), (0, 1)):
            assert lo.read(1)[px] < maps[1][px] < hi.read(1)[px]


def test_history_rates_follow_the_climate_stratum(tmp_path, chdir):
    # 2000 -> 2010 forest -> cropland on (0,0) (tropical) and (0,1) (warm); cropland remaining
    # 2010 -> 2020, all pixels natural forest > 20 y (forest stratum index 1, so the history
    # tables are found by stratum % n_soil_strata). The soil still moves in 2010-2020 (D = 20 yr
    # after the conversion): SOIL_TROPICAL on (0,0), SOIL_WARM on (0,1).

    root = chdir(build_tiny(tmp_path))
    lc = {2000: [[2, 2, 1, 1], [2, 3, 1, 5], [8, 3, 1, 5]],
          2010: [[1, 1, 1, 1], [2, 3, 1, 5], [8, 3, 1, 5]]}
    for year, a in lc.items():
        make_raster(root / f"lc_{year}.tif", np.array(a, dtype="uint8"), nodata=0)
    make_raster(root / "lc_2020.tif", np.array(lc[2010], dtype="uint8"), nodata=0)
    make_raster(root / "forest_strata.tif", np.full((3, 4), 2, dtype="uint8"), nodata=0)
    make_raster(root / "climate.tif", np.array([[2, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]],
                                               dtype="uint8"), nodata=0)

    def edit(c):
        c["landcover"]["epochs"] = {y: f"lc_{y}.tif" for y in (2000, 2010, 2020)}
        c["carbon"].update(method=["stock_difference", "gain_loss"], paddy_share=0.0)
        c["gain_loss"] = {"climate_zone": "warm_temperate_moist", "strata": {
            "forest_growth": {"raster": "forest_strata.tif", "codes": {2: "natural_secondary_gt20"}},
            "climate": {"raster": "climate.tif", "codes": {1: "warm_temperate_moist", 2: "tropical_moist"}}}}

    cfg, paths, df = run_tiny_stages(root, edit)
    for chunks in (2048, 1):
        compute_gain_loss(Run(cfg, paths, chunks), 2010, 2020)
        with rasterio.open(paths.output("gain_loss_net", y0=2010, y1=2020)) as src:
            net = src.read(1)
        assert net[0, 0] == pytest.approx(SOIL_TROPICAL * CO2, rel=1e-6)
        assert net[0, 1] == pytest.approx(SOIL_WARM * CO2, rel=1e-6)
        assert net[1, 0] == pytest.approx(G_GT20 * CO2, rel=1e-6)
    w = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.quantity == "net_sink")
           & (df.zone_name == "W") & (df.year_start == 2010)]["value"].iloc[0]
    assert w == pytest.approx((SOIL_TROPICAL + SOIL_WARM + G_GT20) * PX_HA * CO2, rel=1e-6)


def test_tropical_perennial_factor_is_refused_unless_given(tmp_path, chdir):
    # F_LU perennial, tropical moist, is UNCONFIRMED (bonsai 1.01 vs hestia 1.10). Given 1.10:
    # cropland -> perennial over 2000-2006 on LAC tropical moist: 2.1 - 5/6 (annual crop biomass
    # lost) + (38 x 1.10 - 38 x 0.83) / 20 = 2.1 - 0.8333 + 0.513 t C/ha/yr.
    from sinks.errors import ConfigError

    root = chdir(build_tiny(tmp_path))
    edit = perennial_case(root, [2000, 2006, 2011])

    def tropical(c, value=None):
        edit(c)
        c["gain_loss"] = {"climate_zone": "tropical_moist"}
        if value is not None:
            c["parameters"]["f_lu_perennial_tropical_moist"] = {"value": value, "source": "test"}

    with pytest.raises(ConfigError, match=r"parameters\.f_lu_perennial_tropical_moist = \(no value\) is UNCONFIRMED"):
        run_tiny_stages(root, tropical)
    _, _, df = run_tiny_stages(root, lambda c: tropical(c, 1.10))
    assert perennial_w_net(df, 2000) == pytest.approx((2.1 - 5 / 6 + (38 * 1.10 - 38 * 0.83) / 20) * PX_HA * CO2, rel=1e-6)


def test_unknown_stratum_level_is_a_one_line_config_error(tmp_path, chdir):
    import yaml

    from conftest import write_config
    from sinks.config import load_config
    from sinks.errors import ConfigError

    root = chdir(build_tiny(tmp_path))
    edit = _climate_management(root)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    edit(cfg)
    cfg["gain_loss"]["strata"]["climate"]["codes"][2] = "subtropical"
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match=r"gain_loss\.strata\.climate\.codes\.2 = \"subtropical\": .*"
                                          r"'warm_temperate_moist', 'tropical_moist'") as err:
        load_config(root / "config.yaml")
    assert "\n" not in str(err.value)
    cfg["gain_loss"]["strata"]["climate"]["codes"][2] = "tropical_moist"
    cfg["gain_loss"]["strata"]["management"]["codes"][4] = "no_till"
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match=r"gain_loss\.strata\.management\.codes\.4 = \"no_till\": .*'no_till/high_manure'"):
        load_config(root / "config.yaml")


def test_unmapped_climate_code_is_refused_and_validate_lists_the_layers(tmp_path, chdir):
    import yaml

    from conftest import write_config
    from sinks.validate import validate_inputs
    from sinks.config import load_config

    root = chdir(build_tiny(tmp_path))
    edit = _climate_management(root)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    edit(cfg)
    write_config(root / "config.yaml", cfg)
    lines = validate_inputs(Run.from_config(load_config(root / "config.yaml")))
    strata = [ln for ln in lines if ln.startswith("gain_loss strata:")][0]
    assert "climate ['tropical_moist', 'warm_temperate_moist']" in strata and "management" in strata
    del cfg["gain_loss"]["strata"]["climate"]["codes"][2]
    write_config(root / "config.yaml", cfg)
    with pytest.raises(MissingClassError, match=r"climate.tif: codes \[2\] are not in gain_loss.strata.climate.codes"):
        validate_inputs(Run.from_config(load_config(root / "config.yaml")))

"""Wetlands, the lake and CH4 (issue 4 item 6) and the 20-year conversion history across three
epochs (item 4): the stages on tiny cases (the equations by hand: tests/models/)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from conftest import GAIN, PX_HA, build_tiny, check_cog, make_raster, run_tiny_stages
from sinks.errors import ConfigError
from sinks.methods.gain_loss.maps import compute_gain_loss, track_conversions
from sinks.run import Run

CO2 = 44 / 12
SOC_UPLAND = 55 * 0.69  # cropland (paddy_share 0): SOC_ref LAC 55 x F_LU 0.69 = 37.95 t C/ha
RAMP = (55 - SOC_UPLAND) / 20  # cropland -> forest soil, (55 - 37.95) / 20 = 0.8525 t C/ha/yr
CH4_HALF = -235 * 0.5 * 27.0 / 1000  # EF 235 kg CH4/ha/yr x 0.5 flooded x GWP 27 = -3.1725 Mg CO2e


# CLCD: 1 cropland, 2 forest, 3 shrub, 5 water, 8 impervious, 9 wetland.
LC3 = {2000: [[1, 2, 2, 2], [1, 3, 2, 5], [8, 3, 1, 5]],
       2006: [[2, 2, 2, 2], [2, 3, 2, 5], [8, 3, 1, 5]],
       2011: [[2, 2, 2, 2], [2, 3, 2, 5], [8, 3, 1, 5]]}


def _three_epochs(root):
    for year, lc in LC3.items():
        make_raster(root / f"lc_{year}.tif", np.array(lc, dtype="uint8"), nodata=0)

    def edit(c):
        c["landcover"]["epochs"] = {y: f"lc_{y}.tif" for y in LC3}
        c["carbon"].update(method=["stock_difference", "gain_loss"], paddy_share=0.0)
    return edit


def test_conversion_history_across_three_epochs(tmp_path, chdir):
    # W zone (columns 0-1): 2 px cropland -> forest in 2000-2006 (6 yr), forest remaining forest
    # in 2006-2011 (5 yr); 1 px forest since 2000; shrub and settlement remain.
    # Period 1, per converted px: GAIN - 5/6 (cropland biomass 5 Mg C/ha lost over 6 yr)
    # + RAMP (soil, over D = 20 > 6 yr). Period 2: GAIN + RAMP (the soil still moves, 5 of 5 yr).

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, _three_epochs(root))
    gl = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.quantity == "net_sink")
            & (df.zone_name == "W")].set_index("year_start")["value"]
    assert gl[2000] == pytest.approx((3 * GAIN + 2 * (-5 / 6 + RAMP)) * PX_HA * CO2, rel=1e-6)
    assert gl[2006] == pytest.approx((3 * GAIN + 2 * RAMP) * PX_HA * CO2, rel=1e-6)
    # The land-use-change component sees nothing in period 2 (no class change):
    sd = df[(df.method == "land_use_change") & (df.ecosystem == "all") & (df.quantity == "net_sink")
            & (df.zone_name == "W") & (df.year_start == 2006)]["value"]
    assert sd.iloc[0] == 0
    # Maps: numpy-sized chunks and 1-px chunks (block seams) give the same, and the converted
    # pixel carries the ramp while the old forest does not.
    maps = {}
    for chunks in (2048, 1):
        for year in LC3:
            track_conversions(Run(cfg, paths, chunks), year)
        compute_gain_loss(Run(cfg, paths, chunks), 2006, 2011)
        with rasterio.open(paths.output("gain_loss_net", y0=2006, y1=2011)) as src:
            maps[chunks] = src.read(1)
    np.testing.assert_array_equal(maps[2048], maps[1])
    assert maps[1][0, 0] == pytest.approx((GAIN + RAMP) * CO2, rel=1e-6)
    assert maps[1][0, 2] == pytest.approx(GAIN * CO2, rel=1e-6)
    # Land area is conserved: the history only adds rates, the transition areas are unchanged.
    tr = df[(df.quantity == "area") & (df.ecosystem == "all") & (df.zone_name == "W")]["value"]
    assert np.allclose(tr, 6 * PX_HA)


def test_conversion_more_than_d_years_back_contributes_nothing(tmp_path, chdir):
    # Epochs 2000, 2006, 2031: the 2000 conversion's soil moves until 2020, so in 2006-2031
    # (25 yr) it adds RAMP x 14 / 25 per yr; its record is gone from the 2031 history.

    root = chdir(build_tiny(tmp_path))
    edit = _three_epochs(root)
    (root / "lc_2011.tif").rename(root / "lc_2031.tif")

    def edit2(c):
        edit(c)
        c["landcover"]["epochs"] = {2000: "lc_2000.tif", 2006: "lc_2006.tif", 2031: "lc_2031.tif"}
    cfg, paths, df = run_tiny_stages(root, edit2)
    gl = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.quantity == "net_sink")
            & (df.zone_name == "W") & (df.year_start == 2006)]["value"]
    assert gl.iloc[0] == pytest.approx((3 * GAIN + 2 * RAMP * 14 / 25) * PX_HA * CO2, rel=1e-6)
    with rasterio.open(paths.conversion_history(2031)) as src:
        assert src.read(1).max() == 0


# Wetland case: E zone (columns 2-3) has a wetland px flooded 0.8 and a water px flooded 0.9
# (lake open water at threshold 0.75), a wetland px flooded 0.5 (wetland on mineral soil, CH4)
# and a water px flooded 0.4 (stays water).
LC_W0 = [[2, 2, 1, 9], [2, 3, 1, 5], [8, 3, 9, 5]]
LC_W1 = [[2, 2, 2, 9], [2, 2, 8, 5], [8, 3, 9, 5]]
FLOOD = [[0, 0, 0, 0.8], [0, 0, 0, 0.9], [0, 0, 0.5, 0.4]]


def _wetland(root, **extra):
    make_raster(root / "lc_2000.tif", np.array(LC_W0, dtype="uint8"), nodata=0)
    make_raster(root / "lc_2020.tif", np.array(LC_W1, dtype="uint8"), nodata=0)
    make_raster(root / "flood.tif", np.array(FLOOD, dtype="float32"), nodata=-1.0)
    (root / "carbon_pools.csv").write_text((root / "carbon_pools.csv").read_text() + "9,1,5,100,0\n")

    def edit(c):
        c["carbon"].update(method=["stock_difference", "gain_loss"], paddy_share=0.0)
        c["wetland"] = {"enabled": True, "inundation": "flood.tif", "open_water_threshold": 0.75,
                        "ch4": True, "ch4_emission_factor": "ch4_ef_rewetted_wetland", "gwp": "AR6",
                        **extra}
        c["parameters"] = {"ch4_ef_rewetted_wetland": {"value": 235, "sd": 47, "source": "test value"}}
    return edit


def test_wetland_lake_and_ch4_rows_and_maps(tmp_path, chdir):
    # E zone gain-loss net (lake excluded): cropland -> forest GAIN - 5/20 + RAMP; cropland ->
    # settlement -5/20 + RAMP (settlement soil: LAC reference 55); wetland and water remain: 0.
    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, _wetland(root))
    e = df[(df.method == "gain_loss") & (df.zone_name == "E")].set_index(["ecosystem", "quantity"])["value"]
    net = (GAIN - 0.25 + RAMP - 0.25 + RAMP) * PX_HA * CO2
    assert e[("all", "net_sink")] == pytest.approx(net, rel=1e-6)
    assert e[("lake_open_water", "area")] == pytest.approx(2 * PX_HA)
    assert e[("all", "area")] == pytest.approx(4 * PX_HA)  # managed land; + lake = the 6 px
    assert e[("wetland", "ch4_emissions_co2e")] == pytest.approx(CH4_HALF * PX_HA, rel=1e-6)
    assert e[("all", "ch4_emissions_co2e")] == pytest.approx(CH4_HALF * PX_HA, rel=1e-6)
    assert e[("all", "net_sink_with_ch4")] == pytest.approx(net + CH4_HALF * PX_HA, rel=1e-6)
    # Monte Carlo: EF sd 47 = 20 % of 235, so the CH4 row's sd is 20 % of its value; the net with
    # CH4 adds it to the net's (independent parameters) variance.
    sd = df[(df.method == "gain_loss") & (df.zone_name == "E") & (df.ecosystem == "all")].set_index("quantity")["sd"]
    assert sd["ch4_emissions_co2e"] == pytest.approx(0.2 * abs(CH4_HALF) * PX_HA, rel=0.1)
    assert sd["net_sink_with_ch4"] == pytest.approx(np.hypot(sd["net_sink"], sd["ch4_emissions_co2e"]), rel=0.1)
    sd_area = df[(df.method == "stock_difference") & (df.zone_name == "E") & (df.quantity == "area")
                 & (df.ecosystem == "all") & (df.year_start == 2020)]["value"].iloc[0]
    assert sd_area == pytest.approx(6 * PX_HA)
    written = compute_gain_loss(Run(cfg, paths), 2000, 2020)
    with rasterio.open(paths.output("ch4_emissions_co2e", y0=2000, y1=2020)) as src:
        ch4 = src.read(1, masked=True)
    assert ch4[2, 2] == pytest.approx(CH4_HALF, rel=1e-6)
    assert ch4.mask[0, 3] and ch4.mask[1, 3]  # lake open water: not managed land
    assert ch4[2, 3] == 0 and ch4[0, 0] == 0
    check_cog(written[-1], "ch4_emissions_co2e")
    check_cog(paths.output("inundation_frequency"), "inundation_frequency")
    with rasterio.open(paths.output("gain_loss_net", y0=2000, y1=2020)) as src:
        gl_map = src.read(1, masked=True)
    assert gl_map.mask[0, 3] and not gl_map.mask[2, 2]
    # 1-px chunks (block seams everywhere) give the same maps.
    compute_gain_loss(Run(cfg, paths, 1), 2000, 2020)
    for kind, before in (("ch4_emissions_co2e", ch4), ("gain_loss_net", gl_map)):
        with rasterio.open(paths.output(kind, y0=2000, y1=2020)) as src:
            np.testing.assert_array_equal(src.read(1, masked=True), before)


def test_wetland_needs_confirmed_ef_threshold_and_masks(tmp_path, chdir):
    from sinks.methods.gain_loss import rates as rate_tables
    from sinks.config import load_config
    from conftest import write_config
    import yaml

    root = chdir(build_tiny(tmp_path))
    edit = _wetland(root)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    edit(cfg)
    cfg["parameters"] = {}
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match="ch4_ef_rewetted_wetland .*UNCONFIRMED"):
        rate_tables.ch4_rate(Run.from_config(load_config(root / "config.yaml")))
    cfg["wetland"]["open_water_threshold"] = None
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match="open_water_threshold is not set"):
        load_config(root / "config.yaml")
    cfg["wetland"].update(open_water_threshold=0.75, water_masks=["a.tif"])
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match="either wetland.inundation"):
        load_config(root / "config.yaml")


def test_inundation_frequency_from_water_masks(tmp_path, chdir):
    # Two masks: a pixel water in both -> 1, in one -> 0.5, never -> 0; unobserved once -> the
    # other observation alone (255 = nodata).

    root = chdir(build_tiny(tmp_path))
    make_raster(root / "m1.tif", np.array([[1, 1, 0, 0]] * 3, dtype="uint8"), nodata=255)
    make_raster(root / "m2.tif", np.array([[1, 0, 0, 255]] * 3, dtype="uint8"), nodata=255)

    def edit(c):
        c["carbon"]["method"] = ["stock_difference", "gain_loss"]
        c["wetland"] = {"enabled": True, "water_masks": ["m1.tif", "m2.tif"], "open_water_threshold": 0.75}
    cfg, paths, _ = run_tiny_stages(root, edit)
    with rasterio.open(paths.output("inundation_frequency")) as src:
        assert src.read(1)[0].tolist() == [1.0, 0.5, 0.0, 0.0]


def test_inundation_outside_0_1_is_refused(tmp_path, chdir):
    from sinks.errors import InputDataError

    root = chdir(build_tiny(tmp_path))
    edit = _wetland(root)
    make_raster(root / "flood.tif", np.full((3, 4), 5, dtype="float32"), nodata=-1.0)
    with pytest.raises(InputDataError, match="flood.tif: inundation frequency spans 5-5; it must be a fraction"):
        run_tiny_stages(root, edit)

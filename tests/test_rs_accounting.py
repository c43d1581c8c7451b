"""Biomass maps in the accounting (issue 6): the stock with the AGB map, the remote-sensing sink
of two map epochs, their zone rows and intervals, worked out by hand on the tiny case; numpy =
dask with chunks smaller than the array; no map stock is ever differenced against a class
default."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
import sklearn
import xarray as xr

from conftest import LC_2000, make_raster, run_tiny_stages
from sinks.errors import InputDataError
from sinks.methods.biomass_map.maps import compute_rs_sink
from sinks.methods.stock_difference.maps import compute_stock
from sinks.methods.stock_difference.maps import map_stock_uncertainty
from sinks.run import Run

PX_HA = 900 / 0.9996**2 / 1e4  # tiny-case pixel area (UTM 50N central meridian), see test_workflow
CF, R = 0.47, 0.224  # registry carbon_fraction (IPCC 2006 Table 4.3), root_shoot_plantation (2019 Table 4.4)
Q = 1.6448536269514722 * 10.0  # conformal half-width of a 90 % interval whose pixel sd is 10 Mg/ha
# Relative sds of the carbon factors (registry): CF 95 % range 0.44-0.49 -> sd 0.05 / 3.92;
# R +/-90 % as 2 SD -> sd 0.1008; CF (1 + R) by Eq. 3.1: hypot(0.012755 / 0.47, 0.1008 / 1.224).
U_CF = 0.05 / 3.92 / CF
U_CF1R = float(np.hypot(U_CF, 0.224 * 90 / 200 / (1 + R)))
RMSE, N_PLOTS = 20.0, 100  # model mean error 20 / sqrt(100) = 2 Mg/ha shared by every pixel
NA = np.nan
# Tiny AGB epochs (Mg d.m./ha) on the forest pixels of each land cover (CLCD 2 = forest).
AGB_2000 = np.array([[100, 80, NA, NA],
                     [60, NA, NA, NA],
                     [NA, NA, NA, NA]])
AGB_2020 = np.array([[110, 90, 20, NA],
                     [60, 30, NA, NA],
                     [NA, NA, NA, NA]])


def biomass_config(years):
    def edit(cfg):
        cfg["biomass"] = {"enabled": True, "year": 2000, "years": years, "use_in_stock": True,
                          "features": {"ndvi": "ndvi.tif"}, "plots": None}
    return edit


def write_maps(maps):
    """Write the given AGB epochs and the model sidecar as the biomass stages would."""
    def write(cfg, paths):
        for year, agb in maps.items():
            make_raster(paths.output("agb", year=year), np.where(np.isnan(agb), -9999.0, agb),
                        nodata=-9999.0, dtype="float32")
        side = {"features": ["ndvi"], "alpha": 0.1, "q": Q, "training_hash": "tiny",
                "cv_rmse": RMSE, "n_plots": N_PLOTS, "sklearn": sklearn.__version__}
        paths.biomass_model(2000).with_suffix(".json").write_text(json.dumps(side))
    return write


@pytest.fixture
def two_epochs(tmp_path, chdir):
    from conftest import build_tiny
    root = chdir(build_tiny(tmp_path))
    make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
    return run_tiny_stages(root, biomass_config([2000, 2020]),
                           before_summary=write_maps({2000: AGB_2000, 2020: AGB_2020}))


def rows(df, **sel):
    out = df
    for k, v in sel.items():
        out = out[out[k] == v]
    return out.set_index("zone_name")


def test_stock_with_the_biomass_map_equals_hand_arithmetic(two_epochs):
    cfg, paths, df = two_epochs
    compute_stock(Run(cfg, paths), 2000)
    # Zone W (columns 0-1) in 2000, InVEST table per ha: forest 2 = 30 + 7 + 55 + 2 = 94,
    # shrub 3 = 57, built-up 8 = 20: class defaults 3 x 94 + 2 x 57 + 20 = 416 Mg C per pixel-ha.
    # The map replaces the forest AGB + BGB (3 x (30 + 7) = 111) by
    # (100 + 80 + 60) x CF x (1 + R) = 240 x 0.47 x 1.224 = 138.0672: 416 - 111 + 138.0672.
    w = rows(df, quantity="carbon_stock", method="biomass_map", ecosystem="all", year_start=2000)
    assert w.loc["W", "value"] == pytest.approx((416 - 111 + 240 * CF * (1 + R)) * PX_HA, rel=1e-9)
    # E has no mapped pixel: its map-based stock is the class-default one (4 cropland x 45).
    assert w.loc["E", "value"] == pytest.approx(180 * PX_HA, rel=1e-9)
    sd_rows = rows(df, quantity="carbon_stock", method="stock_difference", ecosystem="all", year_start=2000)
    assert sd_rows.loc["W", "value"] == pytest.approx(416 * PX_HA, rel=1e-9)  # class-default rows stay
    agb = rows(df, quantity="carbon_stock_agb", method="biomass_map", ecosystem="forest", year_start=2000)
    assert agb.loc["W", "value"] == pytest.approx(240 * CF * PX_HA, rel=1e-9)
    # Interval of the AGB row: 3 pixels of sd 10 (independent), the shared mean error 2 on
    # each, and CF's relative error on the 240 Mg: sd = CF x PX_HA x sqrt(3 x 10^2 + (3 x 2)^2
    # + (240 U_CF)^2) = CF x PX_HA x sqrt(336 + 42.42).
    assert agb.loc["W", "sd"] == pytest.approx(CF * PX_HA * np.sqrt(336 + (240 * U_CF) ** 2), rel=1e-3)
    bgb = rows(df, quantity="carbon_stock_bgb", method="biomass_map", ecosystem="forest", year_start=2000)
    assert bgb.loc["W", "value"] == pytest.approx(240 * CF * R * PX_HA, rel=1e-9)
    # The stock map: forest pixel (0, 0) = 100 x 0.47 x 1.224 + dead 2 + soil 55; shrub (1, 1) = 57.
    with rasterio.open(paths.output("carbon_stock", year=2000)) as src:
        stock = src.read(1)
        tags, description = src.tags(), src.descriptions[0]
    assert stock[0, 0] == pytest.approx(100 * CF * (1 + R) + 57, rel=1e-6)
    assert stock[1, 1] == pytest.approx(57, rel=1e-6)
    assert "biomass map agb_2000.tif" in tags["model"] and "biomass map" in description
    assert "SYNTHETIC" in description  # plots: null -> the map's plots were simulated
    # Zone rows equal the map x pixel area (the same numbers two ways).
    assert float(np.nansum(stock[:, :2])) * PX_HA == pytest.approx(w.loc["W", "value"], rel=1e-6)


def test_rs_sink_of_two_agb_epochs_equals_hand_arithmetic(two_epochs):
    cfg, paths, df = two_epochs
    out = compute_rs_sink(Run(cfg, paths), 2000, 2020)
    # Pixels mapped at both ends: (0,0) 100 -> 110, (0,1) 80 -> 90, (1,0) 60 -> 60, all in W.
    # Per pixel: dAGB x CF x (1 + R) / 20 yr x 44/12; (0,2) and (1,1) are mapped in 2020 only.
    per_px = CF * (1 + R) / 20 * 44 / 12
    with rasterio.open(out) as src:
        sink = src.read(1, masked=True)
        assert src.tags()["sign_convention"].startswith("positive = net removal")
        assert src.tags()["synthetic"].startswith("true")
    assert sink[0, 0] == pytest.approx(10 * per_px, rel=1e-6)
    assert sink[1, 0] == pytest.approx(0.0, abs=1e-9)
    assert sink.mask[0, 2] and sink.mask[1, 1] and int(sink.count()) == 3
    rs = rows(df, quantity="net_sink", method="biomass_map", ecosystem="all")
    assert rs.loc["W", "value"] == pytest.approx(20 * per_px * PX_HA, rel=1e-9)
    assert rs.loc["E", "value"] == 0.0
    # Interval: the shared model error cancels; 3 pixels x 2 years of independent sd 10, and
    # CF (1 + R) scales the whole change of 20 Mg: sd = per_px x PX_HA x sqrt(600 + (20 U_CF1R)^2).
    assert rs.loc["W", "sd"] == pytest.approx(per_px * PX_HA * np.sqrt(600 + (20 * U_CF1R) ** 2), rel=1e-3)
    assert "cancels" in rs.loc["W", "uncertainty_approach"]


def test_mixed_period_gets_no_rs_sink_and_refuses_explicit_request(tmp_path, chdir, caplog):
    from conftest import build_tiny
    root = chdir(build_tiny(tmp_path))
    make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
    with caplog.at_level("INFO"):
        cfg, paths, df = run_tiny_stages(root, biomass_config([2000]),
                                         before_summary=write_maps({2000: AGB_2000}))
    assert not ((df.method == "biomass_map") & (df.quantity == "net_sink")).any()
    assert "no remote-sensing sink for 2000-2020" in caplog.text
    # The class-default sink map is not touched by the 2000 map: still 94 - 94 = 0 on (0,0).
    with rasterio.open(paths.output("net_sink", y0=2000, y1=2020)) as src:
        assert src.read(1)[0, 0] == 0.0
    with pytest.raises(InputDataError, match="never differenced against a class-default"):
        compute_rs_sink(Run(cfg, paths), 2000, 2020)


def test_map_stocks_numpy_equals_dask_with_small_chunks():
    from sinks.methods.biomass_map.stocks import map_stocks
    rng = np.random.default_rng(0)
    shape = (7, 9)
    agb = np.where(rng.random(shape) < 0.4, np.nan, rng.uniform(0, 200, shape))
    pools = {p: rng.uniform(0, 50, shape).astype("float32") for p in ("agb", "bgb", "dead", "soc")}

    def ds(chunks):
        dims = ("y", "x")
        wrap = (lambda a: xr.DataArray(a, dims=dims)) if chunks is None else \
            (lambda a: xr.DataArray(a, dims=dims).chunk({"y": chunks, "x": chunks}))
        return xr.Dataset({k: wrap(v) for k, v in pools.items()}), wrap(agb)
    eager = map_stocks(*ds(None), CF, R)
    lazy = map_stocks(*ds(3), CF, R)
    assert lazy["agb"].chunks is not None
    for p in ("agb", "bgb", "dead", "soc"):
        np.testing.assert_array_equal(eager[p].values, lazy[p].values)
    ok = ~np.isnan(agb)
    np.testing.assert_allclose(eager["bgb"].values[ok], (agb * R * CF)[ok], rtol=1e-6)
    np.testing.assert_array_equal(eager["agb"].values[~ok], pools["agb"][~ok])


def test_zone_rows_do_not_depend_on_chunks(tmp_path, chdir):
    from conftest import build_tiny
    tables = []
    for chunks in (2048, 2):
        (tmp_path / str(chunks)).mkdir()
        root = chdir(build_tiny(tmp_path / str(chunks)))
        make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
        _, _, df = run_tiny_stages(root, biomass_config([2000, 2020]), chunks=chunks,
                                   before_summary=write_maps({2000: AGB_2000, 2020: AGB_2020}))
        tables.append(df[df.method == "biomass_map"].reset_index(drop=True))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def _map_stocks_with_density_sd(tmp_path, chdir, uncertainty):
    """The tiny case with a 2000 AGB map, the sinks table of test_propagation (AGB sd: forest
    6, shrub 1) plus a forest soil sd of 4 Mg C/ha so the pools that stay class defaults carry
    uncertainty; ``uncertainty`` is the config section."""
    from conftest import build_tiny
    from test_propagation import _table

    root = chdir(build_tiny(tmp_path))
    make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
    (root / "densities.csv").write_text(_table().replace("forest,soc,55,Mg C ha-1,0,none",
                                                         "forest,soc,55,Mg C ha-1,4,normal"))

    def edit(cfg):
        biomass_config([2000])(cfg)
        cfg["carbon"] = {"densities": "densities.csv", "paddy_share": 0.5}
        cfg["uncertainty"] = uncertainty
    return run_tiny_stages(root, edit, before_summary=write_maps({2000: AGB_2000}))


def test_uncertainty_of_map_stocks_combines_pixel_model_and_density_errors(tmp_path, chdir):
    """Approach 1 (see _map_stocks_with_density_sd for the densities)."""

    cfg, paths, df = _map_stocks_with_density_sd(tmp_path, chdir, {"approaches": ["approach1"], "seed": 7})
    f = CF * (1 + R)  # Mg C per Mg d.m. of AGB, AGB + BGB
    # W 2000, map-based total: shrub 2 px (AGB sd 1 each) and the soil of the 3 mapped forest
    # px (sd 4 each) from the densities: 2^2 + 12^2 = 148; the map: 3 px of sd 10 independent
    # (300) plus the shared mean error 2 on 3 px (36): f^2 x 336; CF (1 + R) on the map's
    # 240 Mg: (U_CF1R x f x 240)^2.
    row = rows(df, quantity="carbon_stock", method="biomass_map", ecosystem="all", year_start=2000).loc["W"]
    assert row.sd == pytest.approx(PX_HA * np.sqrt(148 + f ** 2 * 336 + (U_CF1R * f * 240) ** 2), rel=1e-9)
    assert row.ci_high - row.value == pytest.approx(1.96 * row.sd)
    # class-default row: forest AGB 3 px x 6 and soil 3 px x 4, shrub 2 px x 1: 324 + 144 + 4
    default = rows(df, quantity="carbon_stock", method="stock_difference", ecosystem="all", year_start=2000).loc["W"]
    assert default.sd == pytest.approx(PX_HA * np.sqrt(472), rel=1e-9)
    # Per-pixel sd map: mapped forest pixel sqrt(4^2 + (f x 10)^2 + (U_CF1R x f x 100)^2);
    # shrub pixel 1 (its AGB sd).
    map_stock_uncertainty(Run(cfg, paths), 2000)
    with rasterio.open(paths.output("carbon_stock_sd", year=2000)) as src:
        sd = src.read(1)
        assert "pixel error" in src.tags()["model"]
    px_sd = np.sqrt(16 + (f * 10) ** 2 + (U_CF1R * f * 100) ** 2)
    assert sd[0, 0] == pytest.approx(px_sd, rel=1e-5)
    assert sd[1, 1] == pytest.approx(1.0, rel=1e-6)
    with rasterio.open(paths.output("carbon_stock_p97_5", year=2000)) as src:
        hi = src.read(1)
    assert hi[0, 0] == pytest.approx(100 * f + 57 + 1.96 * px_sd, rel=1e-5)


def test_demo_synthetic_ndvi_epoch_is_reproducible_and_labelled():
    from pathlib import Path

    from sinks.rs.plots import synthetic_feature_epoch
    raw = Path(__file__).resolve().parents[1] / "data/raw/jiangxi"
    with rasterio.open(raw / "ndvi_max_jiangxi.tif") as a, rasterio.open(raw / "ndvi_max_2025_SYNTHETIC.tif") as b:
        base, synth, tags = a.read(1), b.read(1), b.tags()
    assert tags["SYNTHETIC"] == "true"
    np.testing.assert_array_equal(synth, synthetic_feature_epoch(base, 6, 2025))  # the committed file
    # 6 years x 0.002 = +0.012 on average (noise mean 0, sd 0.005 over ~11,000 px; cap 0.95 rarely hit)
    assert float(np.nanmean(synth - base)) == pytest.approx(0.012, abs=0.0005)
    assert np.array_equal(np.isnan(synth), np.isnan(base)) and np.nanmax(synth) <= 0.95


def test_monte_carlo_of_map_stocks_matches_approach1(tmp_path, chdir):
    """Normal densities and normal map errors: the Monte Carlo sd of the map-based total
    converges to the Approach 1 sd of the test above (4000 draws: about 1 % sampling error)."""
    _, _, df = _map_stocks_with_density_sd(tmp_path, chdir, {"approaches": ["monte_carlo"],
                                                            "n_draws": 4000, "seed": 7})
    f = CF * (1 + R)
    row = rows(df, quantity="carbon_stock", method="biomass_map", ecosystem="all", year_start=2000).loc["W"]
    assert row.sd == pytest.approx(PX_HA * np.sqrt(148 + f ** 2 * 336 + (U_CF1R * f * 240) ** 2), rel=0.05)
    assert row.ci_low < row.value < row.ci_high and "Monte Carlo" in row.uncertainty_approach


@pytest.mark.parametrize("biomass, imagery, expect", [
    ({"years": [2000, 2020], "features": {"ndvi": {2000: "a.tif"}}}, {},
     "biomass.features.ndvi has no source for 2020"),
    ({"features": {"ndvi": "index:NDVI"}}, {}, "needs imagery.scenes.2000"),
    ({"years": [2020], "features": {"ndvi": "a.tif"}}, {}, "including biomass.year 2000"),
    ({"features": {"ndvi": "a.tif"}}, {"scenes": {2010: [{"path": "s.tif"}]}},
     "imagery.scenes.2010: not an epoch year"),
])
def test_biomass_and_imagery_config_errors_are_one_line(tmp_path, biomass, imagery, expect):
    from conftest import build_tiny, write_config
    from sinks.config import load_config
    from sinks.errors import ConfigError
    import yaml
    root = build_tiny(tmp_path)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    cfg["biomass"] = {"enabled": True, "year": 2000, **biomass}
    cfg["imagery"] = imagery
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match=expect) as err:
        load_config(root / "config.yaml")
    assert "\n" not in str(err.value)

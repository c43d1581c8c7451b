"""Stocks with the biomass map (sinks.methods.biomass_map.stocks): the map replaces the class
AGB and BGB where it is valid, numpy = dask with chunks smaller than the array; on the tiny case
with AGB maps (conftest.two_epochs) the stock map and rows equal hand arithmetic; R switches at
the AGB class limit of IPCC 2019 Table 4.4."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr

from conftest import (CF, LC_2000, PX_HA, R_HIGH, U_CF, assert_backends_agree, biomass_config,
                      build_tiny, make_raster, rows_where, run_tiny_stages, write_maps)
from conftest import ROOT_SHOOT as R
from sinks.methods.biomass_map.maps import compute_rs_sink
from sinks.methods.stock_difference.maps import compute_stock
from sinks.run import Run


def test_stock_with_the_biomass_map_equals_hand_arithmetic(two_epochs):
    cfg, paths, df = two_epochs
    compute_stock(Run(cfg, paths), 2000)
    # Zone W (columns 0-1) in 2000, InVEST table per ha: forest 2 = 30 + 7 + 55 + 2 = 94,
    # shrub 3 = 57, built-up 8 = 20: class defaults 3 x 94 + 2 x 57 + 20 = 416 Mg C per pixel-ha.
    # The map replaces the forest AGB + BGB (3 x (30 + 7) = 111) by
    # (100 + 80 + 60) x CF x (1 + R) = 240 x 0.47 x 1.224 = 138.0672: 416 - 111 + 138.0672.
    w = rows_where(df, quantity="carbon_stock", method="biomass_map", ecosystem="all", year_start=2000)
    assert w.loc["W", "value"] == pytest.approx((416 - 111 + 240 * CF * (1 + R)) * PX_HA, rel=1e-9)
    # E has no mapped pixel: its map-based stock is the class-default one (4 cropland x 45).
    assert w.loc["E", "value"] == pytest.approx(180 * PX_HA, rel=1e-9)
    sd_rows = rows_where(df, quantity="carbon_stock", method="stock_difference", ecosystem="all", year_start=2000)
    assert sd_rows.loc["W", "value"] == pytest.approx(416 * PX_HA, rel=1e-9)  # class-default rows stay
    agb = rows_where(df, quantity="carbon_stock_agb", method="biomass_map", ecosystem="forest", year_start=2000)
    assert agb.loc["W", "value"] == pytest.approx(240 * CF * PX_HA, rel=1e-9)
    # Interval of the AGB row: 3 pixels of sd 10 (independent), no coefficient error (the tiny
    # plots all have AGB 100: every refit predicts 100), and CF's relative error on the 240 Mg:
    # sd = CF x PX_HA x sqrt(3 x 10^2 + (240 U_CF)^2) = CF x PX_HA x sqrt(300 + 42.42).
    assert agb.loc["W", "sd"] == pytest.approx(CF * PX_HA * np.sqrt(300 + (240 * U_CF) ** 2), rel=1e-3)
    bgb = rows_where(df, quantity="carbon_stock_bgb", method="biomass_map", ecosystem="forest", year_start=2000)
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


def test_map_stocks_numpy_equals_dask_with_small_chunks():
    from sinks.methods.biomass_map.stocks import CarbonFactors, map_stocks
    rng = np.random.default_rng(0)
    shape = (7, 9)
    agb = np.where(rng.random(shape) < 0.4, np.nan, rng.uniform(0, 200, shape))
    pools = {p: rng.uniform(0, 50, shape).astype("float32") for p in ("agb", "bgb", "dead", "soc")}
    pool_ds = xr.Dataset({k: xr.DataArray(v, dims=("y", "x")) for k, v in pools.items()})
    # 3 x 3 blocks of the 7 x 9 grid: every pool stays lazy and equals numpy exactly
    factors = CarbonFactors(CF, 0.01, (R, R_HIGH), (0.1, 0.1))
    eager, lazy = assert_backends_agree(lambda p, a: map_stocks(p, a, factors), pool_ds, agb, chunks=3)
    assert set(lazy.data_vars) >= {"agb", "bgb", "dead", "soc"}
    ok = ~np.isnan(agb)
    ratio = np.where(agb > 125, R_HIGH, R)  # Table 4.4 AGB classes
    assert (ok & (agb > 125)).any() and (ok & (agb <= 125)).any()
    np.testing.assert_allclose(eager["bgb"].values[ok], (agb * ratio * CF)[ok], rtol=1e-6)
    np.testing.assert_array_equal(eager["agb"].values[~ok], pools["agb"][~ok])


def test_r_switches_at_the_agb_class_boundary(tmp_path, chdir):
    """R by AGB class (IPCC 2019 Vol.4 Ch.4 Table 4.4, planted conifer: 0.224 at <= 125 t/ha,
    0.232 above): W's forest pixels 120, 130 and 125 (the limit: low class) in 2000."""
    na = np.nan
    a0 = np.array([[120, 130, na, na], [125, na, na, na], [na, na, na, na]])
    a1 = np.array([[130, 130, 20, na], [125, 30, na, na], [na, na, na, na]])
    root = chdir(build_tiny(tmp_path))
    make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
    cfg, paths, df = run_tiny_stages(root, biomass_config([2000, 2020]),
                                     before_summary=write_maps({2000: a0, 2020: a1}))
    # BGB = 120 x 0.224 + 130 x 0.232 + 125 x 0.224 = 26.88 + 30.16 + 28.00 = 85.04 Mg d.m.
    bgb = rows_where(df, quantity="carbon_stock_bgb", method="biomass_map", ecosystem="forest",
                     year_start=2000).loc["W"]
    assert bgb.value == pytest.approx(85.04 * CF * PX_HA, rel=1e-9)
    # Its sd: pixel errors 10 x R on each (independent), CF's sd 0.05 / 3.92 on 85.04 and R's
    # shared error (sd 45 % of each class value) 0.1008 x (120 + 125) + 0.1044 x 130 = 38.268.
    sd = PX_HA * np.sqrt(CF ** 2 * 100 * (2 * R ** 2 + R_HIGH ** 2) + (0.05 / 3.92 * 85.04) ** 2
                         + (CF * 38.268) ** 2)
    assert bgb.sd == pytest.approx(sd, rel=1e-9)
    # The stock map at (0, 1): 130 x CF x 1.232 + dead 2 + soil 55.
    compute_stock(Run(cfg, paths), 2000)
    with rasterio.open(paths.output("carbon_stock", year=2000)) as src:
        assert src.read(1)[0, 1] == pytest.approx(130 * CF * (1 + R_HIGH) + 57, rel=1e-6)
    # Pixel (0, 0) crosses the class limit, 120 -> 130: 130 x 1.232 - 120 x 1.224 = 13.28 Mg d.m.
    # of AGB + BGB (12.24 with one R); (0, 1) and (1, 0) do not change.
    per_mg = CF / 20 * 44 / 12
    with rasterio.open(compute_rs_sink(Run(cfg, paths), 2000, 2020)) as src:
        assert src.read(1)[0, 0] == pytest.approx(13.28 * per_mg, rel=1e-6)
    sink = rows_where(df, quantity="net_sink", method="biomass_map", ecosystem="all").loc["W"]
    assert sink.value == pytest.approx(13.28 * per_mg * PX_HA, rel=1e-9)

"""Stocks with the biomass map (sinks.methods.biomass_map.stocks): the map replaces the class
AGB and BGB where it is valid, numpy = dask with chunks smaller than the array; on the tiny case
with AGB maps (conftest.two_epochs) the stock map and rows equal hand arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import xarray as xr

from conftest import CF, PX_HA, U_CF, assert_backends_agree, rows_where
from conftest import ROOT_SHOOT as R
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
    # Interval of the AGB row: 3 pixels of sd 10 (independent), the shared mean error 2 on
    # each, and CF's relative error on the 240 Mg: sd = CF x PX_HA x sqrt(3 x 10^2 + (3 x 2)^2
    # + (240 U_CF)^2) = CF x PX_HA x sqrt(336 + 42.42).
    assert agb.loc["W", "sd"] == pytest.approx(CF * PX_HA * np.sqrt(336 + (240 * U_CF) ** 2), rel=1e-3)
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
    from sinks.methods.biomass_map.stocks import map_stocks
    rng = np.random.default_rng(0)
    shape = (7, 9)
    agb = np.where(rng.random(shape) < 0.4, np.nan, rng.uniform(0, 200, shape))
    pools = {p: rng.uniform(0, 50, shape).astype("float32") for p in ("agb", "bgb", "dead", "soc")}
    pool_ds = xr.Dataset({k: xr.DataArray(v, dims=("y", "x")) for k, v in pools.items()})
    # 3 x 3 blocks of the 7 x 9 grid: every pool stays lazy and equals numpy exactly
    eager, lazy = assert_backends_agree(lambda p, a: map_stocks(p, a, CF, R), pool_ds, agb, chunks=3)
    assert set(lazy.data_vars) >= {"agb", "bgb", "dead", "soc"}
    ok = ~np.isnan(agb)
    np.testing.assert_allclose(eager["bgb"].values[ok], (agb * R * CF)[ok], rtol=1e-6)
    np.testing.assert_array_equal(eager["agb"].values[~ok], pools["agb"][~ok])

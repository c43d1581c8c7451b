"""Plots (sinks.rs.plots, issue 6 item 3): the SYNTHETIC plot simulator (seeded, labelled, on its
stated relation), the plot checks against real Jiangxi plots, and the demo's SYNTHETIC NDVI
epoch."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rioxarray  # noqa: F401  (registers .rio)

from conftest import REPO, make_raster
from sinks.errors import InputDataError
from sinks.io.rasters import open_raster
from sinks.rs.plots import SIM_INTERCEPT, SIM_SLOPE, check_plots, simulate_plots


@pytest.fixture
def landscape(tmp_path):
    """60 x 60 px of 1 km: forest (class 2) except the first 10 rows (class 1, cropland); NDVI
    0.75-0.90, a smooth west-east gradient plus a north-south wave, NaN in one corner."""
    yy, xx = np.mgrid[0:60, 0:60]
    ndvi = 0.75 + 0.15 * (0.7 * xx / 59 + 0.3 * (0.5 + 0.5 * np.sin(yy / 6.0)))
    ndvi[50:, 50:] = np.nan
    lc = np.where(yy < 10, 1, 2)
    lc_a = open_raster(make_raster(tmp_path / "lc.tif", lc, res=1000.0, dtype="uint8")).load()
    ndvi_a = open_raster(make_raster(tmp_path / "ndvi.tif", ndvi, res=1000.0, dtype="float32")).load()
    return lc_a == 2, ndvi_a


def test_simulator_is_seeded_labelled_and_follows_its_stated_relation(landscape):
    forest, ndvi = landscape
    plots = simulate_plots(forest, ndvi, n=300, seed=7, year=2019)
    again = simulate_plots(forest, ndvi, n=300, seed=7, year=2019)
    pd.testing.assert_frame_equal(pd.DataFrame(plots.drop(columns="geometry")),
                                  pd.DataFrame(again.drop(columns="geometry")))
    assert plots.geom_equals(again.geometry).all()
    assert plots["synthetic"].all() and "SYNTHETIC" in plots.attrs["synthetic"]
    assert "seed 7" in plots.attrs["synthetic"] and plots["id"].is_unique
    # every plot on a forest pixel with NDVI
    at = {n: a.sel(x=gpd.GeoSeries(plots.geometry).x.to_xarray(),
                   y=gpd.GeoSeries(plots.geometry).y.to_xarray(), method="nearest").values
          for n, a in (("forest", forest), ("ndvi", ndvi))}
    assert at["forest"].all() and np.isfinite(at["ndvi"]).all()
    # AGB = -800 + 1100 NDVI + N(0, 15): on NDVI 0.75-0.90 no clipping at 0; OLS recovers the line
    # (slope se ~ 15 / (0.04 x sqrt(300)) ~ 22, so +-90 is 4 se)
    slope, intercept = np.polyfit(at["ndvi"], plots["agb"].to_numpy(), 1)
    assert slope == pytest.approx(SIM_SLOPE, abs=90)
    assert intercept + slope * 0.82 == pytest.approx(SIM_INTERCEPT + SIM_SLOPE * 0.82, abs=5)
    resid = plots["agb"].to_numpy() - (SIM_INTERCEPT + SIM_SLOPE * at["ndvi"])
    assert resid.std() == pytest.approx(15, rel=0.2)
    # another seed draws other plots
    other = simulate_plots(forest, ndvi, n=300, seed=8, year=2019)
    assert not plots.geom_equals(other.geometry).all()


def test_plot_checks(jiangxi_plots):
    plots, ndvi = jiangxi_plots
    bounds, crs = tuple(ndvi.rio.bounds()), plots.crs
    check_plots(plots, "plots.csv", bounds, crs, epoch_year=2019)
    dup = plots.copy()
    dup.loc[1, "id"] = dup.loc[0, "id"]
    with pytest.raises(InputDataError, match="duplicate plot id"):
        check_plots(dup, "plots.csv", bounds, crs, 2019)
    bad = plots.copy()
    bad.loc[0, "agb"] = -5
    with pytest.raises(InputDataError, match="impossible agb"):
        check_plots(bad, "plots.csv", bounds, crs, 2019)
    far = plots.copy()
    far.loc[0, "geometry"] = far.geometry[0].__class__(0.0, 0.0)
    with pytest.raises(InputDataError, match="outside the region"):
        check_plots(far, "plots.csv", bounds, crs, 2019)
    with pytest.raises(InputDataError, match="years from the imagery epoch"):
        check_plots(plots, "plots.csv", bounds, crs, epoch_year=2010)


def test_demo_synthetic_ndvi_epoch_is_reproducible_and_labelled():
    from sinks.rs.plots import synthetic_feature_epoch
    raw = REPO / "data/raw/jiangxi"
    with rasterio.open(raw / "ndvi_max_jiangxi.tif") as a, rasterio.open(raw / "ndvi_max_2025_SYNTHETIC.tif") as b:
        base, synth, tags = a.read(1), b.read(1), b.tags()
    assert tags["SYNTHETIC"] == "true"
    np.testing.assert_array_equal(synth, synthetic_feature_epoch(base, 6, 2025))  # the committed file
    # 6 years x 0.002 = +0.012 on average (noise mean 0, sd 0.005 over ~11,000 px; cap 0.95 rarely hit)
    assert float(np.nanmean(synth - base)) == pytest.approx(0.012, abs=0.0005)
    assert np.array_equal(np.isnan(synth), np.isnan(base)) and np.nanmax(synth) <= 0.95


def test_simulator_reads_lazy_inputs_chunk_by_chunk_and_draws_the_same_plots(landscape):
    forest, ndvi = landscape
    whole = simulate_plots(forest, ndvi, n=300, seed=7, year=2019)
    for size in (16, 25):  # chunks that divide the grid, and ones that do not
        lazy = simulate_plots(forest.chunk(size), ndvi.chunk(size), n=300, seed=7, year=2019)
        assert lazy.geom_equals(whole.geometry).all()
        np.testing.assert_array_equal(lazy["agb"].to_numpy(), whole["agb"].to_numpy())
    with pytest.raises(InputDataError, match="cannot place"):
        simulate_plots(forest.chunk(16), ndvi.chunk(16), n=forest.size + 1, seed=7, year=2019)

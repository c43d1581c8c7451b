"""Remote sensing (issue 6): indices on a real Sentinel-2 pixel, imagery checks, plot checks and
the SYNTHETIC plot simulator on real Jiangxi NDVI, spatial CV, conformal coverage, blockwise
prediction and model refusal."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)

from sinks.errors import InputDataError
from sinks.io.rasters import open_raster
from sinks.rs.biomass_model import (conformal_q, fit_biomass_model, load_model, predict_blockwise,
                                    save_model, spatial_blocks)
from sinks.rs.imagery import open_scene
from sinks.rs.indices import compute_index
from sinks.rs.plots import check_plots, simulate_plots

REPO = Path(__file__).resolve().parents[1]
S2 = REPO / "data/raw/sentinel2/sentinel2_patagonia_10m.tif"
S2_BANDS = {"B": 1, "G": 2, "R": 3, "N": 4}  # file band order: B2, B3, B4, B8 (DN = refl x 1e4)


def test_indices_on_a_real_sentinel2_pixel_by_hand():
    # Pixel row 10, column 20: DN B 1318, G 1147, R 1303, N 1424 -> reflectance x 1e-4.
    # NDVI = (0.1424 - 0.1303) / (0.1424 + 0.1303) = 0.0121 / 0.2727 = 0.044371
    # EVI = 2.5 x 0.0121 / (0.1424 + 6 x 0.1303 - 7.5 x 0.1318 + 1) = 0.03025 / 0.9357 = 0.032329
    # NDWI = (0.1147 - 0.1424) / (0.1147 + 0.1424) = -0.107740
    bands = open_scene(S2, S2_BANDS, scale=1e-4, chunks=64)
    got = {n: float(compute_index(n, bands).isel(y=10, x=20)) for n in ("NDVI", "EVI", "NDWI")}
    assert got["NDVI"] == pytest.approx(0.0121 / 0.2727, rel=1e-5)
    assert got["EVI"] == pytest.approx(0.03025 / 0.9357, rel=1e-4)
    assert got["NDWI"] == pytest.approx(-0.0277 / 0.2571, rel=1e-5)


def test_imagery_errors():
    with pytest.raises(InputDataError, match="reflectance"):
        open_scene(S2, S2_BANDS, scale=1.0)  # DNs taken as reflectance
    with pytest.raises(InputDataError, match="missing"):
        open_scene(S2, {"R": 3, "S1": 11}, scale=1e-4)
    with pytest.raises(InputDataError, match="needs band 'S1'"):
        compute_index("MNDWI", open_scene(S2, S2_BANDS, scale=1e-4))


@pytest.fixture(scope="module")
def jiangxi_plots():
    """400 SYNTHETIC plots over real Jiangxi forest pixels (MCD12C1 IGBP 1-5, 8) with AGB from
    real NDVI max by the simulator's stated relation."""
    lc = open_raster(REPO / "data/raw/jiangxi/mcd12c1_2019_igbp_jiangxi.tif").load()
    ndvi = open_raster(REPO / "data/raw/jiangxi/ndvi_max_jiangxi.tif").load()
    forest = lc.isin([1, 2, 3, 4, 5, 8])
    return simulate_plots(forest, ndvi, n=400, seed=3, year=2019), ndvi


def test_simulated_plots_recover_relation_with_spatial_cv_and_coverage(jiangxi_plots):
    plots, ndvi = jiangxi_plots
    assert plots["synthetic"].all() and "SYNTHETIC" in plots.attrs["synthetic"]
    x, y = plots.geometry.x.to_numpy(), plots.geometry.y.to_numpy()
    feats = pd.DataFrame({"ndvi": at_points(ndvi, x, y)})
    m = fit_biomass_model(feats, plots["agb"].to_numpy(), x, y, block_size=0.5, alpha=0.1)
    overall = m.cv.set_index("fold").loc["all"]
    # signal sd 1100 x 0.032 (forest NDVI sd) = 35 Mg/ha against noise sd 15: R2 about 0.84
    assert overall.r2 > 0.6
    assert 0.85 <= overall.coverage <= 0.95  # held-out coverage of the 90 % interval
    # folds are spatially disjoint: every 0.5 deg block sits in exactly one fold
    blocks = spatial_blocks(x, y, 0.5)
    assert (pd.Series(m.oof["fold"].to_numpy()).groupby(blocks).nunique() == 1).all()


def at_points(arr, x, y):
    """Pixel values at points (nearest pixel centre), pointwise."""
    import xarray as xr
    return arr.sel(x=xr.DataArray(x), y=xr.DataArray(y), method="nearest").values


def test_blockwise_prediction_equals_in_memory_and_refuses_mismatch(jiangxi_plots, tmp_path):
    plots, ndvi = jiangxi_plots
    x, y = plots.geometry.x.to_numpy(), plots.geometry.y.to_numpy()
    feats = pd.DataFrame({"ndvi": at_points(ndvi, x, y)})
    m = fit_biomass_model(feats, plots["agb"].to_numpy(), x, y, block_size=0.5, alpha=0.1)
    path = save_model(m, tmp_path / "agb.joblib")
    model, side = load_model(path, ["ndvi"])
    valid = ndvi.notnull()
    lazy = ndvi.copy(data=da.from_array(ndvi.values, chunks=(40, 30)))
    import xarray as xr
    out = predict_blockwise(model, side["q"], xr.Dataset({"ndvi": lazy}),
                            valid.copy(data=da.from_array(valid.values, chunks=(40, 30))))
    expected = np.full(ndvi.shape, np.nan, dtype="float32")
    ok = np.isfinite(ndvi.values)
    expected[ok] = m.model.predict(ndvi.values[ok].reshape(-1, 1).astype("float64"))
    np.testing.assert_array_equal(out["agb"].values, expected)
    assert float((out["agb_high"] - out["agb"]).max()) == pytest.approx(side["q"])
    with pytest.raises(InputDataError, match="trained on features"):
        load_model(path, ["ndvi", "evi"])


def test_conformal_quantile_hand_computed():
    # n = 9 residuals, alpha 0.1: k = ceil(10 x 0.9) = 9 -> the largest |residual|
    assert conformal_q(np.array([1, -2, 3, -4, 5, -6, 7, -8, 9.0]), 0.1) == 9.0
    # alpha 0.5: k = ceil(10 x 0.5) = 5 -> 5
    assert conformal_q(np.array([1, -2, 3, -4, 5, -6, 7, -8, 9.0]), 0.5) == 5.0


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


def test_composites_and_inundation_frequency_hand_computed():
    import xarray as xr

    from sinks.rs.imagery import inundation_frequency
    from sinks.rs.scene_grid import composite

    def scene(n, r):
        return xr.Dataset({"N": ("x", np.array(n, dtype=float)), "R": ("x", np.array(r, dtype=float))})
    a, b, c = scene([0.5, 0.3], [0.1, 0.1]), scene([0.4, np.nan], [0.2, 0.1]), scene([0.6, 0.5], [0.3, 0.05])
    med = composite([a, b, c], "median")
    np.testing.assert_allclose(med["N"], [0.5, 0.4])  # pixel 2: median of 0.3, 0.5
    best = composite([a, b, c], "max_ndvi")
    # pixel 1 NDVI: a 0.667, b 0.333, c 0.333 -> a; pixel 2: a 0.5, b NaN, c 0.818 -> c
    np.testing.assert_allclose(best["N"], [0.5, 0.5])
    masks = [xr.DataArray([1.0, 0.0, np.nan]), xr.DataArray([1.0, 1.0, np.nan]), xr.DataArray([0.0, 1.0, np.nan])]
    freq = inundation_frequency(masks).values
    np.testing.assert_allclose(freq[:2], [2 / 3, 2 / 3])
    assert np.isnan(freq[2])

"""Biomass model (sinks.rs.biomass_model, issue 6 item 4): spatially disjoint CV folds, recovery
of a known relation from SYNTHETIC plots with the held-out coverage of the 90 % conformal
interval (on a synthetic landscape, and on real Jiangxi NDVI), blockwise = in-memory prediction
with the model in the graph once, numpy = dask, refusal of mismatched models, and the conformal
quantile by hand."""

from __future__ import annotations

import json

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from dask._task_spec import DataNode

from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

from conftest import assert_backends_agree, make_raster

from sinks.errors import InputDataError
from sinks.io.rasters import open_raster
from sinks.rs import biomass_model
from sinks.rs.biomass_model import (
    conformal_q,
    fit_biomass_model,
    load_model,
    predict_blockwise,
    save_model,
    spatial_blocks,
    training_hash,
)
from sinks.rs.plots import SIM_INTERCEPT, SIM_SLOPE, simulate_plots

BLOCK = 10_000.0  # m: 10 km spatial blocks on a 60 km landscape -> 36 blocks


@pytest.fixture
def small_models(monkeypatch):
    """Keep training tiny on 2 shared cores: 50 trees instead of the library's 100."""
    monkeypatch.setitem(biomass_model.MODELS, "random_forest", lambda seed: RandomForestRegressor(
        n_estimators=50, min_samples_leaf=3, random_state=seed, n_jobs=1))
    monkeypatch.setitem(biomass_model.MODELS, "gradient_boosting", lambda seed: GradientBoostingRegressor(
        n_estimators=50, random_state=seed))


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    """60 x 60 px of 1 km (UTM 50N): forest everywhere but the first 10 rows; NDVI 0.75-0.90 (a
    west-east gradient plus a north-south wave, NaN in the south-east corner); a second feature
    'elev' that carries no signal."""
    tmp = tmp_path_factory.mktemp("landscape")
    yy, xx = np.mgrid[0:60, 0:60]
    ndvi = 0.75 + 0.15 * (0.7 * xx / 59 + 0.3 * (0.5 + 0.5 * np.sin(yy / 6.0)))
    ndvi[50:, 50:] = np.nan
    elev = 100 + 5 * ((xx * 7 + yy * 13) % 11)
    lc = np.where(yy < 10, 1, 2)

    def load(name, arr, dtype):
        return open_raster(make_raster(tmp / name, arr, res=1000.0, dtype=dtype)).load()
    return (load("lc.tif", lc, "uint8") == 2, load("ndvi.tif", ndvi, "float32"),
            load("elev.tif", elev, "float32"))


@pytest.fixture(scope="module")
def plots(landscape):
    """400 SYNTHETIC plots: AGB = -800 + 1100 NDVI + N(0, 15) Mg/ha (sinks.rs.plots simulator)."""
    forest, ndvi, elev = landscape
    p = simulate_plots(forest, ndvi, n=400, seed=11, year=2019)
    x, y = p.geometry.x.to_numpy(), p.geometry.y.to_numpy()
    feats = pd.DataFrame({n: a.sel(x=xr.DataArray(x), y=xr.DataArray(y), method="nearest").values
                          for n, a in (("ndvi", ndvi), ("elev", elev))}).astype("float64")
    return feats, p["agb"].to_numpy(), x, y


@pytest.mark.usefixtures("small_models")
def test_spatial_cv_folds_are_spatially_disjoint(plots):
    feats, agb, x, y = plots
    m = fit_biomass_model(feats, agb, x, y, block_size=BLOCK, n_splits=5)
    blocks = spatial_blocks(x, y, BLOCK)
    fold = m.oof["fold"].to_numpy()
    assert sorted(set(fold)) == [0, 1, 2, 3, 4]
    for f in range(5):
        test_blocks, train_blocks = set(blocks[fold == f]), set(blocks[fold != f])
        assert test_blocks and not test_blocks & train_blocks, f  # no block on both sides
        # geometrically: no training plot inside the square of any held-out block
        bx, by = np.floor(x[fold != f] / BLOCK), np.floor(y[fold != f] / BLOCK)
        for b in test_blocks:
            tx, ty = np.floor(x[blocks == b][0] / BLOCK), np.floor(y[blocks == b][0] / BLOCK)
            assert not ((bx == tx) & (by == ty)).any()
    # block ids on a 10 km lattice: points 1 m apart across a block edge fall in different blocks
    a, b = spatial_blocks(np.array([9999.5, 10000.5]), np.array([5.0, 5.0]), BLOCK)
    assert a != b
    with pytest.raises(InputDataError, match="spatial blocks"):
        fit_biomass_model(feats, agb, x, y, block_size=100_000.0, n_splits=5)  # 1 block


@pytest.mark.usefixtures("small_models")
@pytest.mark.parametrize("kind", ["random_forest", "gradient_boosting"])
def test_model_recovers_the_simulated_relation_with_honest_coverage(plots, kind):
    feats, agb, x, y = plots
    m = fit_biomass_model(feats, agb, x, y, block_size=BLOCK, kind=kind, alpha=0.1, seed=0)
    cv = m.cv.set_index("fold")
    overall = cv.loc["all"]
    # signal: NDVI sd over the forest ~ 0.15 x sqrt(0.7^2/12 + 0.3^2/8) = 0.034, so 1100 x 0.034
    # = 37 Mg/ha against noise sd 15: the best possible R2 is 37^2 / (37^2 + 15^2) = 0.86 and the
    # best RMSE 15 (seeds 1-11 give R2 0.81-0.85, RMSE 15.7-17.7, coverage 0.895-0.910)
    assert overall.r2 > 0.75
    assert overall.rmse < 22
    assert abs(overall.bias) < 3
    assert len(cv) == 6 and cv.drop(index="all")["n"].sum() == len(agb)
    assert 0.85 <= overall.coverage <= 0.95  # held-out coverage of the 90 % interval
    # the fitted model follows the stated line where the data are (NDVI 0.78-0.87), elev fixed
    grid = np.linspace(0.78, 0.87, 10)
    pred = m.model.predict(np.column_stack([grid, np.full(10, 125.0)]))
    assert np.abs(pred - (SIM_INTERCEPT + SIM_SLOPE * grid)).mean() < 10
    # conformal half-width close to the 90 % quantile of |N(0, 15)| = 1.645 x 15 = 24.7
    assert 18 < m.q < 35


@pytest.mark.usefixtures("small_models")
def test_unknown_model_kind_is_refused(plots):
    feats, agb, x, y = plots
    with pytest.raises(InputDataError, match="unknown; use one of"):
        fit_biomass_model(feats, agb, x, y, block_size=BLOCK, kind="svm")


@pytest.fixture(scope="module")
def saved(plots, tmp_path_factory):
    feats, agb, x, y = plots
    mp = pytest.MonkeyPatch()  # module-scoped fixture: patch by hand to keep 50 trees
    mp.setitem(biomass_model.MODELS, "random_forest", lambda seed: RandomForestRegressor(
        n_estimators=50, min_samples_leaf=3, random_state=seed, n_jobs=1))
    try:
        m = fit_biomass_model(feats, agb, x, y, block_size=BLOCK)
    finally:
        mp.undo()
    path = save_model(m, tmp_path_factory.mktemp("model") / "agb.joblib")
    return m, path


@pytest.mark.usefixtures("small_models")
def test_blockwise_prediction_equals_in_memory_and_sends_the_model_once(landscape, saved):
    forest, ndvi, elev = landscape
    m, path = saved
    model, side = load_model(path, ["ndvi", "elev"])
    chunks = (7, 9)  # smaller than the 60 x 60 array and not dividing it: seams and ragged edges
    # numpy-backed features (one block) and (7, 9) blocks give the same map, exactly
    _, out = assert_backends_agree(lambda feats, valid: predict_blockwise(model, side["q"], feats, valid),
                                   xr.Dataset({"ndvi": ndvi, "elev": elev}), forest, chunks=chunks)
    agb = out["agb"]
    assert isinstance(agb.data, da.Array) and agb.data.numblocks == (9, 7)
    graph = dict(agb.data.__dask_graph__())
    holders = [k for k, v in graph.items() if isinstance(v, DataNode) and v.value is model]
    assert len(holders) == 1  # the model is one graph key ...
    tasks = [v for k, v in graph.items() if isinstance(k, tuple) and k[0] == agb.data.name]
    assert len(tasks) == 63 and all(holders[0] in t.dependencies for t in tasks)  # ... every block uses
    # in memory: predict on every forest pixel with finite features, NaN elsewhere
    X = np.column_stack([ndvi.values.ravel(), elev.values.ravel()]).astype("float64")
    ok = forest.values.ravel() & np.isfinite(X).all(axis=1)
    expected = np.full(X.shape[0], np.nan, dtype="float32")
    expected[ok] = m.model.predict(X[ok])
    expected = expected.reshape(ndvi.shape)
    got = agb.values
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[:10]).all()  # non-forest rows
    assert np.isnan(got[50:, 50:]).all()  # NaN NDVI corner
    assert np.isfinite(got[10:50]).all()
    width = (out["agb_high"] - out["agb"]).values[np.isfinite(got)]
    np.testing.assert_allclose(width, side["q"], rtol=1e-5)
    assert list(agb.dims) == ["y", "x"] and agb.odc.geobox == ndvi.odc.geobox


@pytest.mark.usefixtures("small_models")
def test_sidecar_records_features_hash_and_versions(plots, saved):
    import sklearn
    feats, agb, _, _ = plots
    m, path = saved
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["features"] == ["ndvi", "elev"] and side["alpha"] == 0.1
    assert side["sklearn"] == sklearn.__version__ and side["numpy"] == np.__version__
    assert side["training_hash"] == m.training_hash == training_hash(feats, agb)


@pytest.mark.usefixtures("small_models")
def test_mismatched_models_are_refused(plots, saved, tmp_path):
    feats, agb, _, _ = plots
    _, path = saved
    with pytest.raises(InputDataError, match="trained on features"):
        load_model(path, ["elev", "ndvi"])  # same names, other order
    with pytest.raises(InputDataError, match="trained on features"):
        load_model(path, ["ndvi"])
    # the training data changed since the model was saved (one plot's AGB edited)
    edited = agb.copy()
    edited[0] += 1.0
    with pytest.raises(InputDataError, match="trained on other plot data"):
        load_model(path, ["ndvi", "elev"], expected_hash=training_hash(feats, edited))
    model, _ = load_model(path, ["ndvi", "elev"], expected_hash=training_hash(feats, agb))
    assert model.n_features_in_ == 2
    # another scikit-learn minor version in the sidecar
    copy = tmp_path / "old.joblib"
    copy.write_bytes(path.read_bytes())
    side = json.loads(path.with_suffix(".json").read_text())
    side["sklearn"] = "0.24.2"
    copy.with_suffix(".json").write_text(json.dumps(side))
    with pytest.raises(InputDataError, match="saved with scikit-learn 0.24.2"):
        load_model(copy, ["ndvi", "elev"])
    # a malformed or missing sidecar
    copy.with_suffix(".json").write_text(json.dumps({"features": ["ndvi", "elev"]}))
    with pytest.raises(InputDataError, match="sidecar lacks"):
        load_model(copy, ["ndvi", "elev"])
    copy.with_suffix(".json").unlink()
    with pytest.raises(InputDataError, match="not found"):
        load_model(copy, ["ndvi", "elev"])


# --- SYNTHETIC plots on real Jiangxi NDVI (conftest.jiangxi_plots), the library's model size ---

def at_points(arr, x, y):
    """Pixel values at points (nearest pixel centre), pointwise."""
    return arr.sel(x=xr.DataArray(x), y=xr.DataArray(y), method="nearest").values


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


def test_blockwise_prediction_equals_in_memory_and_refuses_mismatch(jiangxi_plots, tmp_path):
    plots, ndvi = jiangxi_plots
    x, y = plots.geometry.x.to_numpy(), plots.geometry.y.to_numpy()
    feats = pd.DataFrame({"ndvi": at_points(ndvi, x, y)})
    m = fit_biomass_model(feats, plots["agb"].to_numpy(), x, y, block_size=0.5, alpha=0.1)
    path = save_model(m, tmp_path / "agb.joblib")
    model, side = load_model(path, ["ndvi"])
    valid = ndvi.notnull()
    # numpy-backed (one block) and (40, 30) blocks give the same map, exactly
    _, out = assert_backends_agree(lambda f, v: predict_blockwise(model, side["q"], f, v),
                                   xr.Dataset({"ndvi": ndvi}), valid, chunks=(40, 30))
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


def test_bootstrap_refits_give_the_slope_error_of_a_linear_model():
    """Pairs bootstrap of OLS (Efron & Tibshirani 1993 §9.5): the sd of the refits' slope is
    the heteroscedasticity-consistent (HC0) standard error of the slope,
    sqrt(Σ (x − x̄)² e²) / Σ (x − x̄)², computed here from the residuals by hand (for these
    homoscedastic errors also ≈ σ / sqrt(Σ (x − x̄)²)). 2000 refits: ~1.6 % sampling error."""
    from sklearn.linear_model import LinearRegression

    from sinks.rs.biomass_model import bootstrap_refits
    rng = np.random.default_rng(3)
    x = rng.uniform(0.3, 0.9, 400)
    agb = 20 + 150 * x + rng.normal(0, 15, 400)
    features = pd.DataFrame({"ndvi": x})
    refits = bootstrap_refits(features, agb, LinearRegression, 2000, seed=11)
    slopes = np.array([m.coef_[0] for m in refits])
    dx = x - x.mean()
    slope = (dx @ agb) / (dx @ dx)
    e = agb - agb.mean() - slope * dx
    hc0 = np.sqrt(np.sum(dx ** 2 * e ** 2)) / (dx @ dx)
    assert slopes.std(ddof=1) == pytest.approx(hc0, rel=0.05)
    assert hc0 == pytest.approx(15 / np.sqrt(dx @ dx), rel=0.1)
    # A zone total of a prediction difference, 50 pixels whose NDVI rose by 0.1: Σ b̂ × 0.1; the
    # intercept (the same refit at both ends) cancels, so its sd is 50 × 0.1 × sd(b̂).
    x0 = rng.uniform(0.3, 0.8, 50)
    diff = np.array([m.predict((x0 + 0.1)[:, None]).sum() - m.predict(x0[:, None]).sum() for m in refits])
    assert diff.std(ddof=1) == pytest.approx(5 * slopes.std(ddof=1), rel=1e-9)
    # Seeded: the first refits do not depend on how many are asked for.
    again = bootstrap_refits(features, agb, LinearRegression, 3, seed=11)
    assert [m.coef_[0] for m in again] == pytest.approx(slopes[:3].tolist(), rel=1e-12)

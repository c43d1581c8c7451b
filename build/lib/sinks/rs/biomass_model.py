"""Plot-calibrated biomass model: spatial block cross-validation, conformal prediction intervals,
a checked save/load, and blockwise prediction over dask arrays (IPCC Tier 3 biomass map).

* Spatial block CV: plots are grouped into square blocks of ``block_size`` (CRS units) and
  folds hold out whole blocks (scikit-learn GroupKFold), so nearby, correlated plots never sit
  on both sides of a split (Roberts et al. 2017, Ecography 40:913).
* Intervals: split-conformal on the out-of-fold absolute residuals (Vovk et al. 2005; Lei et al.
  2018, JASA 113:1094): the interval is prediction ± q, q the ⌈(n+1)(1−α)⌉-th smallest residual.
  Coverage is measured honestly: for each fold, q from the other folds' residuals, coverage on
  the held-out fold.
* Coefficient error: the model refit on plots resampled with replacement (the pairs bootstrap,
  Efron & Tibshirani 1993, An Introduction to the Bootstrap, §9.5), each refit predicting the
  whole map, so any zone total (and any difference of two epochs mapped by the same model, the
  same refit at both) gets the sampling error of the fitted model (model-based inference:
  McRoberts & Westfall 2016, Ann. For. Sci. 73:625; Saarela et al. 2016, Ann. For. Sci. 73:895).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import joblib
import numpy as np
import pandas as pd
import sklearn
import xarray as xr
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.model_selection import GroupKFold

from sinks.errors import InputDataError

MODELS = {
    "random_forest": lambda seed: RandomForestRegressor(n_estimators=100, min_samples_leaf=3,
                                                        random_state=seed, n_jobs=1),
    "gradient_boosting": lambda seed: GradientBoostingRegressor(random_state=seed),
}


@dataclass
class BiomassModel:
    model: object
    features: list[str]
    alpha: float
    q: float  # conformal half-width, Mg ha-1
    cv: pd.DataFrame  # per-fold metrics
    oof: pd.DataFrame  # out-of-fold predictions (observed, predicted, fold)
    training_hash: str


def spatial_blocks(x: np.ndarray, y: np.ndarray, block_size: float) -> np.ndarray:
    """Block id of each point: square blocks of ``block_size`` on the CRS plane."""
    bx = np.floor(np.asarray(x) / block_size).astype(np.int64)
    by = np.floor(np.asarray(y) / block_size).astype(np.int64)
    return bx * 1_000_003 + by


def conformal_q(residuals: np.ndarray, alpha: float) -> float:
    """Split-conformal half-width: the ⌈(n+1)(1−α)⌉-th smallest absolute residual."""
    r = np.sort(np.abs(residuals))
    k = int(np.ceil((r.size + 1) * (1 - alpha)))
    return float(r[min(k, r.size) - 1])


def fit_biomass_model(features: pd.DataFrame, agb: np.ndarray, x: np.ndarray, y: np.ndarray,
                      block_size: float, kind: str = "random_forest", alpha: float = 0.1,
                      n_splits: int = 5, seed: int = 0) -> BiomassModel:
    """Fit on all plots; report spatial-block CV metrics (RMSE, bias, R² per fold and overall)
    and the held-out coverage of the (1 − α) conformal interval."""
    if kind not in MODELS:
        raise InputDataError(f"biomass model {kind!r} unknown; use one of {sorted(MODELS)}")
    X, target = features.to_numpy(dtype="float64"), np.asarray(agb, dtype="float64")
    groups = spatial_blocks(x, y, block_size)
    if np.unique(groups).size < n_splits:
        raise InputDataError(f"only {np.unique(groups).size} spatial blocks of {block_size:g} for "
                             f"{n_splits} folds; use a smaller block size or more plots")
    pred, fold = np.empty_like(target), np.empty(target.size, dtype=int)
    for f, (tr, te) in enumerate(GroupKFold(n_splits=n_splits).split(X, target, groups)):
        pred[te] = MODELS[kind](seed).fit(X[tr], target[tr]).predict(X[te])
        fold[te] = f
    resid = target - pred
    rows = []
    for f in range(n_splits):
        te = fold == f
        q = conformal_q(resid[~te], alpha)
        rows.append({"fold": f, "n": int(te.sum()), "rmse": float(np.sqrt(np.mean(resid[te] ** 2))),
                     "bias": float(np.mean(pred[te] - target[te])), "r2": _r2(target[te], pred[te]),
                     "coverage": float(np.mean(np.abs(resid[te]) <= q))})
    rows.append({"fold": "all", "n": int(target.size), "rmse": float(np.sqrt(np.mean(resid ** 2))),
                 "bias": float(np.mean(pred - target)), "r2": _r2(target, pred),
                 "coverage": float(np.average([r["coverage"] for r in rows], weights=[r["n"] for r in rows]))})
    model = MODELS[kind](seed).fit(X, target)
    digest = training_hash(features, agb)
    return BiomassModel(model, list(features.columns), alpha, conformal_q(resid, alpha),
                        pd.DataFrame(rows), pd.DataFrame({"observed": target, "predicted": pred,
                                                          "fold": fold}), digest)


def _r2(obs: np.ndarray, pred: np.ndarray) -> float:
    ss = np.sum((obs - obs.mean()) ** 2)
    return float(1 - np.sum((obs - pred) ** 2) / ss) if ss > 0 else float("nan")


def save_model(m: BiomassModel, path: str | Path) -> Path:
    """The model (joblib) and a JSON sidecar: features, interval, training data hash, versions."""
    path = Path(path)
    joblib.dump(m.model, path)
    overall = m.cv.set_index("fold").loc["all"]
    side = {"features": m.features, "alpha": m.alpha, "q": m.q, "training_hash": m.training_hash,
            "cv_rmse": float(overall["rmse"]), "n_plots": int(overall["n"]),
            "sklearn": sklearn.__version__, "numpy": np.__version__}
    path.with_suffix(".json").write_text(json.dumps(side, indent=1))
    return path


SIDECAR_KEYS = ("features", "alpha", "q", "training_hash", "sklearn")


def pixel_sd(q: float, alpha: float) -> float:
    """Standard deviation (Mg ha-1) of one pixel's AGB error, taking its split-conformal
    (1 − α) half-width ``q`` as the half-width of a normal interval: q / z(1 − α/2) (e.g.
    q / 1.645 for a 90 % interval). The conformal residuals are out-of-fold, so this sd holds
    the whole error of a single pixel, the model's mean error included."""
    from scipy.stats import norm
    return float(q / norm.ppf(1 - alpha / 2))


def training_hash(features: pd.DataFrame, agb) -> str:
    """SHA-256 of the training data (float64 features with the AGB column appended)."""
    X = features.to_numpy(dtype="float64")
    target = np.asarray(agb, dtype="float64")
    return hashlib.sha256(np.ascontiguousarray(np.column_stack([X, target])).tobytes()).hexdigest()


def load_model(path: str | Path, features: list[str], expected_hash: str | None = None
               ) -> tuple[object, dict]:
    """Load a saved model, refusing one made for other features, another scikit-learn minor
    version, a malformed sidecar, or (``expected_hash`` given) other training plots."""
    path = Path(path)
    side_path = path.with_suffix(".json")
    if not path.exists() or not side_path.exists():
        raise InputDataError(f"{path}: model or its sidecar {side_path.name} not found")
    try:
        side = json.loads(side_path.read_text())
    except json.JSONDecodeError as exc:
        raise InputDataError(f"{side_path}: sidecar is not valid JSON ({exc}); retrain the "
                             "model to write it again") from None
    missing = [k for k in SIDECAR_KEYS if k not in side]
    if missing:
        raise InputDataError(f"{side_path}: sidecar lacks {missing}; it was not written by "
                             "sinks.rs.biomass_model.save_model: retrain the model")
    if side["features"] != list(features):
        raise InputDataError(f"{path}: trained on features {side['features']}, asked to predict "
                             f"from {list(features)}; retrain or give the same features")
    if side["sklearn"].split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise InputDataError(f"{path}: saved with scikit-learn {side['sklearn']}, this is "
                             f"{sklearn.__version__}; retrain the model")
    if expected_hash is not None and side["training_hash"] != expected_hash:
        raise InputDataError(f"{path}: trained on other plot data (training hash "
                             f"{side['training_hash'][:12]}… vs {expected_hash[:12]}… of the "
                             "current plots); retrain the model on the current plot table")
    return joblib.load(path), side


def bootstrap_refits(features: pd.DataFrame, agb, make, n_boot: int, seed: int) -> list:
    """``n_boot`` models ``make().fit`` on the plots resampled with replacement (pairs
    bootstrap, Efron & Tibshirani 1993 §9.5: plots taken as independent draws); resample b from
    ``SeedSequence(seed, spawn_key=(b,))``, so the first refits do not depend on ``n_boot``."""
    X, target = features.to_numpy(dtype="float64"), np.asarray(agb, dtype="float64")
    out = []
    for b in range(n_boot):
        pick = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,))).integers(
            0, target.size, target.size)
        out.append(make().fit(X[pick], target[pick]))
    return out


def predict_agb(model, features: xr.Dataset, valid: xr.DataArray) -> xr.DataArray:
    """AGB (Mg ha-1) per pixel, block by block; NaN outside ``valid`` (e.g. non-forest) or
    where a feature is missing. The model enters the graph once."""
    names = list(features.data_vars)
    arrays = [features[n].data for n in names] + [valid.data]
    arrays = [a if isinstance(a, da.Array) else da.from_array(a, chunks=2048) for a in arrays]
    chunks = arrays[0].chunks
    arrays = [a.rechunk(chunks) for a in arrays]
    shared = dask.delayed(model, pure=True)

    def block(*blocks, model):
        *feats, ok = blocks
        X = np.column_stack([f.ravel() for f in feats]).astype("float64")
        use = ok.ravel().astype(bool) & np.isfinite(X).all(axis=1)
        out = np.full(X.shape[0], np.nan, dtype="float32")
        if use.any():
            out[use] = model.predict(X[use])
        return out.reshape(ok.shape)

    agb = da.map_blocks(block, *arrays, model=shared, dtype="float32")
    return features[names[0]].copy(data=agb).rename("agb")


def predict_blockwise(model, q: float, features: xr.Dataset, valid: xr.DataArray) -> xr.Dataset:
    """AGB (Mg ha-1, :func:`predict_agb`) and its conformal interval ± ``q`` per pixel."""
    mean = predict_agb(model, features, valid)
    return xr.Dataset({"agb": mean, "agb_low": (mean - q).clip(min=0), "agb_high": mean + q})

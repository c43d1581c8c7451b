"""A stricter load of a saved biomass model: also refuse a model trained on other plots.

:func:`sinks.rs.biomass_model.load_model` refuses a model whose sidecar lists other features or
another scikit-learn minor version. A workflow that rebuilds the model when the plot table
changes also needs to know that the saved model was trained on *these* plots: the sidecar's
``training_hash`` (SHA-256 of the float64 feature matrix with the AGB column appended, as computed
by :func:`sinks.rs.biomass_model.fit_biomass_model`) is compared with the hash of the current
training data. A malformed sidecar is refused with ``InputDataError`` rather than a ``KeyError``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from sinks.errors import InputDataError
from sinks.rs.biomass_model import load_model

SIDECAR_KEYS = ("features", "alpha", "q", "training_hash", "sklearn")


def training_hash(features: pd.DataFrame, agb) -> str:
    """SHA-256 of the training data exactly as ``fit_biomass_model`` hashes it."""
    X = features.to_numpy(dtype="float64")
    target = np.asarray(agb, dtype="float64")
    return hashlib.sha256(np.ascontiguousarray(np.column_stack([X, target])).tobytes()).hexdigest()


def load_model_checked(path: str | Path, features: list[str],
                       expected_hash: str | None = None) -> tuple[object, dict]:
    """Load a saved model and its sidecar, refusing any mismatch.

    Parameters
    ----------
    path : str or Path
        The joblib file written by ``save_model`` (sidecar: same name, ``.json``).
    features : list of str
        Feature names, in order, that the prediction will use.
    expected_hash : str, optional
        :func:`training_hash` of the current training plots; if given, a model trained on other
        data is refused (retrain it).

    Raises
    ------
    InputDataError
        Missing model or sidecar, a malformed sidecar, other features, another scikit-learn
        minor version, or another training data hash.
    """
    path = Path(path)
    side_path = path.with_suffix(".json")
    if side_path.exists():
        try:
            side = json.loads(side_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputDataError(f"{side_path}: sidecar is not valid JSON ({exc}); retrain the "
                                 "model to write it again") from None
        missing = [k for k in SIDECAR_KEYS if k not in side]
        if missing:
            raise InputDataError(f"{side_path}: sidecar lacks {missing}; it was not written by "
                                 "sinks.rs.biomass_model.save_model: retrain the model")
        if expected_hash is not None and side["training_hash"] != expected_hash:
            raise InputDataError(f"{path}: trained on other plot data (training hash "
                                 f"{side['training_hash'][:12]}… vs {expected_hash[:12]}… of the "
                                 "current plots); retrain the model on the current plot table")
    return load_model(path, features)

"""Stock-difference zone rows: area and carbon stock (total and per pool) of each epoch, and
the net sink of each period by IPCC 2006 Vol.4 Ch.2 Eq. 2.5, with each row's coefficients over
the density parameters for the uncertainty (sinks.propagation).

Stocks are class look-ups, so the area of every (zone, class at t0, class at t1) cell is a
sufficient statistic: epoch areas are the margins of the transition areas, stock =
Σ area × density and the net sink Σ area × (density_t1 − density_t0) / (t1 − t0) × 44/12.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinks.constants import C_TO_CO2, POOLS
from sinks.errors import EmptyDataError
from sinks.propagation import ClassParameters
from sinks.zone_rows import Accounts, class_rows, frame

METHOD = "stock_difference"  # the method column of every row here (stocks included)


def stock_rows(acc: Accounts) -> tuple[pd.DataFrame, list]:
    """Area and stock rows of every epoch (Mg C; ha) and their density coefficients."""
    density, onehot = acc.cc.density, acc.onehot
    rows, coefs = [], []
    for i, ep in enumerate(acc.epochs):
        margin = acc.epoch_areas(i)
        res = {lv: {"area": a @ onehot,
                    "carbon_stock": (a * sum(density[p] for p in POOLS)) @ onehot,
                    **{f"carbon_stock_{p}": (a * density[p]) @ onehot for p in POOLS}}
               for lv, a in margin.items()}
        coef = {} if acc.params is None else {lv: _stock_coefficients(a, onehot, acc.params)
                                              for lv, a in margin.items()}
        keep = {lv: res[lv]["area"] > 0 for lv in res}
        r, c = class_rows(res, coef, acc.tables, acc.names, ep.year, ep.year, METHOD, ep.basis, keep)
        rows, coefs = rows + r, coefs + c
        if not any(res[lv]["area"][:, 1:].sum() > 0 for lv in res):
            raise EmptyDataError(f"{acc.run.paths.landcover(ep.year)}: no valid pixel falls in any "
                                 "zone; check that the zones and the land cover cover the same area")
    return frame(rows), coefs


def sink_rows(acc: Accounts) -> tuple[pd.DataFrame, list]:
    """Net-sink rows of every period (Mg CO2 yr-1, + = sink; pixels reported under their
    class at the period's end) and their density coefficients."""
    onehot, total_density = acc.onehot, acc.cc.total_density()
    valid = np.outer(onehot.any(axis=1), onehot.any(axis=1))
    rows, coefs = [], []
    for (e0, e1), per_level in zip(acc.periods, acc.transitions):
        factor = C_TO_CO2 / (e1.year - e0.year)
        change = (total_density[None, :] - total_density[:, None]) * factor
        res = {lv: {"net_sink": (t * change * valid).sum(axis=1) @ onehot}
               for lv, t in per_level.items()}
        coef = {} if acc.params is None else {
            lv: {"net_sink": _sink_coefficients(t * valid, onehot, acc.params, factor)}
            for lv, t in per_level.items()}
        keep = {lv: ((t * valid).sum(axis=1) @ onehot) > 0 for lv, t in per_level.items()}
        r, c = class_rows(res, coef, acc.tables, acc.names, e0.year, e1.year, METHOD,
                          acc.run.period_basis(e0.year, e1.year), keep)
        rows, coefs = rows + r, coefs + c
    return frame(rows), coefs


def _stock_coefficients(a: np.ndarray, onehot: np.ndarray, params: ClassParameters) -> dict[str, np.ndarray]:
    """Coefficients over θ of the stock rows of one epoch: [zone, reporting class, parameter]."""
    per_pool = {f"carbon_stock_{p}": np.einsum("zk,kc,kj->zcj", a, onehot, params.weights[:, i, :])
                for i, p in enumerate(POOLS)}
    return {"carbon_stock": sum(per_pool.values()), **per_pool}


def _sink_coefficients(t: np.ndarray, onehot: np.ndarray, params: ClassParameters,
                       factor: float) -> np.ndarray:
    """Coefficients over θ of the net-sink rows of a period (class of t1 reported):
    Σ area(a → b) × (w_b − w_a) × 44/12 / Δt."""
    w = params.total_weights()
    return factor * (np.einsum("zab,bc,bj->zcj", t, onehot, w)
                     - np.einsum("zab,bc,aj->zcj", t, onehot, w))

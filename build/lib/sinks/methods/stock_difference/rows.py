"""Class look-up zone rows: area and carbon stock (total and per pool) of each epoch, and the
land-use-change component of each period's stock change (IPCC 2006 Vol.4 Ch.2 Eq. 2.5 on
look-up stocks, soils over D years by Eq. 2.25), with each row's coefficients over the density
parameters for the uncertainty (sinks.propagation).

Stocks are class look-ups, so the area of every (zone, class at t0, class at t1) cell is a
sufficient statistic: epoch areas are the margins of the transition areas, stock =
Σ area × density and the change Σ area × rate(class t0, class t1) × 44/12.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinks.constants import BIOMASS_POOLS, C_TO_CO2, POOLS
from sinks.errors import EmptyDataError
from sinks.models.stock_difference import land_use_change_rates
from sinks.parameters import value
from sinks.propagation import ClassParameters
from sinks.run import Run
from sinks.zone_rows import Accounts, class_rows, frame

METHOD = "stock_difference"  # the method column of the stock rows (class look-up stocks)
LUC_METHOD = "land_use_change"  # the method column of the look-up change rows


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
    """Land-use-change component rows of every period (Mg CO2 yr-1, + = removal; pixels
    reported under their class at the period's end): ``net_sink`` and its parts
    ``net_sink_remaining`` and ``net_sink_harvest`` (0: look-up densities neither grow nor are
    harvested), ``net_sink_conversion`` (biomass and dead organic matter) and ``net_sink_soil``
    (booked over D years, :func:`sinks.models.stock_difference.land_use_change_rates`), with
    their density coefficients. Method label ``land_use_change``: conversions only, never the sink."""
    onehot, cc = acc.onehot, acc.cc
    valid = np.outer(onehot.any(axis=1), onehot.any(axis=1))
    rows, coefs = [], []
    for (e0, e1), per_level in zip(acc.periods, acc.transitions):
        years = e1.year - e0.year
        parts = _parts(*luc_parts(acc.run, cc, years))
        res = {lv: {q: (t * change * valid).sum(axis=1) @ onehot for q, change in parts.items()}
               for lv, t in per_level.items()}
        coef = {}
        if acc.params is not None:
            pair_w = _parts(*luc_parts(acc.run, cc, years, pool_weights(acc.params)))
            coef = {lv: {q: np.einsum("zab,bc,abj->zcj", t * valid, onehot, pw) for q, pw in pair_w.items()}
                    for lv, t in per_level.items()}
        keep = {lv: ((t * valid).sum(axis=1) @ onehot) > 0 for lv, t in per_level.items()}
        r, c = class_rows(res, coef, acc.tables, acc.names, e0.year, e1.year, LUC_METHOD,
                          acc.run.period_basis(e0.year, e1.year), keep)
        rows, coefs = rows + r, coefs + c
    return frame(rows), coefs


def _parts(conversion: np.ndarray, soil: np.ndarray) -> dict[str, np.ndarray]:
    """The net change and its parts per class pair, from the conversion and soil parts
    (the look-up has no growth of land remaining in its class and no harvest: 0)."""
    none = np.zeros_like(soil)
    return {"net_sink": conversion + soil, "net_sink_remaining": none, "net_sink_harvest": none,
            "net_sink_conversion": conversion, "net_sink_soil": soil}


def pool_weights(params: ClassParameters) -> dict[str, np.ndarray]:
    """{pool: (K, n_params)}: each class's density of the pool as a combination of θ."""
    return {p: params.weights[:, i, :] for i, p in enumerate(POOLS)}


def luc_parts(run: Run, cc, years: float, values: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Land-use-change component per compact class pair, Mg CO2 ha-1 yr-1, as (conversion,
    soil) (:func:`sinks.models.stock_difference.land_use_change_rates`, soils over D): (K, K)
    from the class densities, or (K, K, n) from per-pool weights ``values`` ({pool: (K, n)})."""
    values = cc.density if values is None else values
    conversion, soil = land_use_change_rates(sum(values[p] for p in BIOMASS_POOLS), values["soc"],
                                             cc.density["soc"] > 0, years,
                                             value(run.registry, "soc_period_d"))
    return conversion * C_TO_CO2, soil * C_TO_CO2


def luc_pair_rates(run: Run, cc, years: float, values: dict | None = None) -> np.ndarray:
    """The land-use-change component per class pair (:func:`luc_parts`, summed)."""
    conversion, soil = luc_parts(run, cc, years, values)
    return conversion + soil


def _stock_coefficients(a: np.ndarray, onehot: np.ndarray, params: ClassParameters) -> dict[str, np.ndarray]:
    """Coefficients over θ of the stock rows of one epoch: [zone, reporting class, parameter]."""
    per_pool = {f"carbon_stock_{p}": np.einsum("zk,kc,kj->zcj", a, onehot, params.weights[:, i, :])
                for i, p in enumerate(POOLS)}
    return {"carbon_stock": sum(per_pool.values()), **per_pool}

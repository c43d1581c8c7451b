"""Sink-potential zone rows (Mg CO2 yr-1, + = sink) per scenario and target year, from the
ecosystem areas of the last epoch, with their registry uncertainty."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinks.methods.potential.rates import potential_rates
from sinks.propagation import registry_uncertainty
from sinks.zone_rows import Accounts, row


def rows(acc: Accounts) -> tuple[pd.DataFrame, None]:
    """Zone rows of the sink potential (sinks.models.potential) per scenario and target year.

    Uncertainty from the registry parameters (the curve's B_max, k and p where the config gives
    an sd, R and CF), see :func:`sinks.propagation.registry_uncertainty`; the areas are held at
    the map's."""
    run, names, onehot, tables = acc.run, acc.names, acc.onehot, acc.tables
    last_year = acc.epochs[-1].year
    areas = {lv: t.sum(axis=1) for lv, t in acc.transitions[-1].items()}
    rates = {key: _class_vector(per_ha, len(names))
             for key, per_ha in potential_rates(run, names, last_year).items()}
    out, coefs = [], []
    for b, ((scenario, year), rate) in enumerate(rates.items()):
        grown = np.isfinite(rate)
        for lv, a in areas.items():
            by_class = np.where(grown, a @ onehot, 0.0)
            for _, z in tables[lv].iterrows():
                i = int(z["index"])
                cells = [(names[c], np.eye(len(names))[c] * by_class[i]) for c in np.flatnonzero(by_class[i] > 0)]
                for eco, coef in cells + [("all", by_class[i])]:
                    out.append(row(lv, z, eco, "sink_potential", last_year, year,
                                   float(coef @ np.nan_to_num(rate)), f"potential_{scenario}", "scenario"))
                    block = np.zeros((len(rates), len(names)))
                    block[b] = coef
                    coefs.append(block.ravel())
    df = pd.DataFrame(out).assign(uncertainty_approach="none: uncertainty disabled")
    registry_uncertainty(acc.cfg, run.registry, df, {"rates": (np.arange(len(df)), np.array(coefs))}, lambda reg: {
        "rates": np.nan_to_num(np.concatenate([_class_vector(v, len(names)) for v in
                                               potential_rates(run, names, last_year, reg).values()],
                                              axis=-1))},
        "areas of the last epoch fixed", batched=True)
    return df, None


def _class_vector(per_ha: dict, n: int) -> np.ndarray:
    """Rates per reporting class index as a vector (n,), NaN for classes not grown; (draws, n)
    when the rates are arrays over a batch of draws."""
    lead = np.broadcast_shapes(*(np.shape(r) for r in per_ha.values())) if per_ha else ()
    v = np.full(lead + (n,), np.nan)
    for c, rate in per_ha.items():
        v[..., c] = rate
    return v

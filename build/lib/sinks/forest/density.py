"""The class look-up's forest density from the strata: the area-weighted mean AGB and BGB
carbon of the strata shares (``forest.shares``, its ``*`` rows or the mean over its zones),
entered in the registry as ``forest_strata_agb_c`` and ``forest_strata_bgb_c`` (with the sd of
that mean over Monte Carlo draws of the strata parameters) and used by the density table's
forest rows, so the stock maps, the look-up rows and the gain-loss conversion losses carry the
inventory's forest biomass rather than a Tier 1 default."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinks.forest.rates import stratum_values
from sinks.forest.tables import Stratum, load_shares, shares_path
from sinks.io.tables import Densities
from sinks.parameters import registry_draws, value

REGISTRY_IDS = {"agb": "forest_strata_agb_c", "bgb": "forest_strata_bgb_c"}
SD_DRAWS = 1000  # draws of the strata parameters for the sd of the mean (sd of the sd ~ 2 %)


def strata_weights(cfg: dict) -> dict[Stratum, float] | None:
    """Area share of each stratum in the region: the shares table's ``*`` rows, else the mean
    of its zones' shares; None without a shares table."""
    fc = cfg["forest"]
    if not fc["shares"]:
        return None
    table = load_shares(shares_path(fc["shares"]))
    rows = table[table["zone_id"] == "*"] if (table["zone_id"] == "*").any() else table
    n = rows["zone_id"].nunique()
    out: dict[Stratum, float] = {}
    for r in rows.itertuples():
        s = Stratum(r.forest_type, r.origin, r.age_class)
        out[s] = out.get(s, 0.0) + r.share / n
    return out


def mean_carbon(reg, weights: dict[Stratum, float]) -> tuple:
    """Area-weighted mean AGB and BGB carbon of the strata (Mg C ha-1)."""
    strata = [s for s, w in weights.items() if w > 0]
    values = [stratum_values(reg, s) for s in strata]
    agb = sum(weights[s] * v.agb_c for s, v in zip(strata, values))
    bgb = sum(weights[s] * v.bgb_c for s, v in zip(strata, values))
    return agb, bgb


def forest_registry_rows(reg: pd.DataFrame, cfg: dict, seed: int) -> pd.DataFrame:
    """The two registry rows of the strata's mean forest density, with their Monte Carlo sd."""
    weights = strata_weights(cfg)
    centre = mean_carbon(reg, weights)
    draws = [mean_carbon(d, weights) for d in registry_draws(reg, SD_DRAWS, seed, batch=SD_DRAWS)]
    sds = [float(np.std(np.asarray(draws[0][i]), ddof=1)) for i in range(2)]
    source = (f"forest strata: area-weighted mean of the shares {shares_path(cfg['forest']['shares']).name} "
              "(Fang BEF on each type's yield-curve volume at the class age, x CF; split by R)")
    rows = []
    for (pool, pid), c, sd in zip(REGISTRY_IDS.items(), centre, sds):
        rows.append({"id": pid, "kind": "stock", "value": float(c), "unit": "t/ha", "uncertainty_type": "sd",
                     "uncertainty": sd, "low": np.nan, "high": np.nan, "distribution": "truncnormal",
                     "status": "derived", "source": source,
                     "note": f"forest {pool.upper()} carbon of the class look-up; sd from {SD_DRAWS} draws of "
                             "the strata parameters (its error is drawn apart from theirs)", "sd": sd})
    return pd.DataFrame(rows).set_index("id")


def forest_densities(dens: Densities, reg) -> Densities:
    """The density table with its forest AGB and BGB rows from the strata registry rows (and
    the dead-organic-matter row, derived from AGB, recomputed)."""
    values, meta = dens.values.copy(), dens.meta.copy()
    agb, bgb = (value(reg, REGISTRY_IDS[p]) for p in ("agb", "bgb"))
    old_agb = float(values.loc["forest", "agb"])
    values.loc["forest", "agb"], values.loc["forest", "bgb"] = agb, bgb
    for pool, pid in REGISTRY_IDS.items():
        key = ("forest", pool)
        meta.loc[key, "derived_from"] = pid
        if "sd" in meta.columns:
            meta.loc[key, "sd"] = float(reg.loc[pid, "sd"])
        meta.loc[key, "source"] = str(reg.loc[pid, "source"])
        meta.loc[key, "status"] = "derived"
    dead = ("forest", "dead")
    if "derived_from" in meta.columns and str(meta.loc[dead, "derived_from"]).startswith("forest/agb"):
        ratio = float(values.loc["forest", "dead"]) / old_agb
        values.loc["forest", "dead"] = agb * ratio
        if "sd" in meta.columns:
            meta.loc[dead, "sd"] = float(meta.loc[dead, "sd"]) * agb / old_agb
    return Densities(dens.kind, values, meta, dens.path)

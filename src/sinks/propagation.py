"""Uncertainty of a run's tables and maps, propagated from the density table's distributions.

Every figure of the class look-up model is linear in the densities θ (one parameter per table
row, i.e. per class and pool): a zone's stock is Σ area(class) × density(class) and a period's
sink Σ area(class t0 → class t1) × (density(t1) − density(t0)) / Δt × 44/12. So each table row
and each map pixel has a coefficient vector c with value = c · θ, and

* IPCC Approach 1 (2006 Vol.1 Ch.3 Eq. 3.2) gives sd = sqrt(Σ c_j² sd_j²);
* IPCC Approach 2 (Monte Carlo, §3.2.3.2) draws θ once per iteration, shared by every pixel,
  zone and epoch (a published density's error is the same wherever it is used), so zone,
  province and map intervals all come from the same draws and totals are not falsely precise;
* the share of each parameter in a row's variance is its first-order Sobol index.

A pixel's distribution depends only on its class (stock) or class pair (sink), so uncertainty
maps are look-ups of per-class statistics: no draws × pixels array is ever formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinks.io.outputs import POOLS
from sinks.models.stock_difference import DEFAULT_PADDY_SHARE
from sinks.uncertainty import Z95, linear_approach1_sd, linear_monte_carlo, parameter_draws

APPROACH1 = "IPCC Approach 1 (propagation of error)"
MONTE_CARLO = "IPCC Approach 2 (Monte Carlo, {n} draws, seed {seed})"


@dataclass(frozen=True)
class ClassParameters:
    """The density parameters θ and how each class's densities depend on them."""

    names: list[str]  # "<class>/<pool>" per parameter
    specs: list[dict]  # distribution of each parameter (sinks.uncertainty keys)
    sds: np.ndarray  # standard deviation of each parameter (Mg C ha-1), for Approach 1
    weights: np.ndarray  # (K, pools, n_params): density[k, pool] = weights[k, pool] @ θ

    def total_weights(self) -> np.ndarray:
        """(K, n_params): total density of each class (sum over pools) as a combination of θ."""
        return self.weights.sum(axis=1)


def class_parameters(distributions: dict[tuple[object, str], dict], table_keys: list,
                     paddy_share: float | None, vary_pools: list[str]) -> ClassParameters:
    """Parameters from a density table's distributions for the compact classes of a run.

    ``table_keys[k]`` is the table key (ecosystem or lucode) of compact class k (None for 0).
    The unsplit ``cropland`` class of a table without a cropland row is the paddy_share mix of
    the paddy and upland rows (as :func:`sinks.models.stock_difference.class_densities`).
    Pools not in ``vary_pools`` are held at their values.
    """
    keys = list(distributions)
    names = [f"{cls}/{pool}" for cls, pool in keys]
    specs = [distributions[k] if k[1] in vary_pools else
             {"dist": "constant", "value": _centre(distributions[k])} for k in keys]
    sds = np.array([s.get("sd", 0.0) for s in specs])
    index = {k: j for j, k in enumerate(keys)}
    share = DEFAULT_PADDY_SHARE if paddy_share is None else paddy_share
    weights = np.zeros((len(table_keys), len(POOLS), len(keys)))
    for k, cls in enumerate(table_keys):
        if cls is None:
            continue
        for p, pool in enumerate(POOLS):
            if (cls, pool) in index:
                weights[k, p, index[(cls, pool)]] = 1.0
            elif cls == "cropland":
                weights[k, p, index[("cropland_paddy", pool)]] = share
                weights[k, p, index[("cropland_upland", pool)]] = 1 - share
    return ClassParameters(names, specs, sds, weights)


def _centre(spec: dict) -> float:
    return spec.get("value", spec.get("mean", 0.0))


def table_uncertainty(values: np.ndarray, coeffs: np.ndarray, params: ClassParameters,
                      settings: dict) -> tuple[pd.DataFrame, dict]:
    """Uncertainty columns for table rows of known coefficients (n_rows, n_params).

    Returns the columns ``sd, ci_low, ci_high, uncertainty_pct, uncertainty_approach`` (and
    ``approach1_uncertainty_pct`` when both approaches run), and the Monte Carlo convergence
    summary. ``uncertainty_pct`` is half the 95 % interval as % of |value| (IPCC convention).
    """
    approaches = settings["approaches"]
    sd1 = linear_approach1_sd(coeffs, params.sds)
    with np.errstate(divide="ignore", invalid="ignore"):
        u1 = np.where(values != 0, 100 * Z95 * sd1 / np.abs(values), np.nan)
    cols = {"sd": sd1, "ci_low": values - Z95 * sd1, "ci_high": values + Z95 * sd1,
            "uncertainty_pct": u1}
    approach, convergence = APPROACH1, {}
    if "monte_carlo" in approaches:
        draws = parameter_draws(params.specs, settings["n_draws"], settings["seed"])
        mc = linear_monte_carlo(coeffs, draws)
        half = (mc["p97_5"] - mc["p2_5"]) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            u2 = np.where(values != 0, 100 * half / np.abs(values), np.nan)
        if "approach1" in approaches:
            cols["approach1_uncertainty_pct"] = u1
        cols.update(sd=mc["sd"], ci_low=mc["p2_5"], ci_high=mc["p97_5"], uncertainty_pct=u2)
        approach = MONTE_CARLO.format(n=settings["n_draws"], seed=settings["seed"])
        worst = float(np.nanmax(mc["rel_change"])) if mc["rel_change"].size else 0.0
        convergence = {"n_draws": settings["n_draws"], "n_half": settings["n_draws"] // 2,
                       "max_interval_shift": worst, "tolerance": 0.05, "converged": worst <= 0.05}
    out = pd.DataFrame(cols)
    out["uncertainty_approach"] = approach
    return out, convergence


def class_statistics(coeffs: np.ndarray, centre: np.ndarray, params: ClassParameters,
                     settings: dict) -> dict[str, np.ndarray]:
    """sd, 2.5 and 97.5 percentiles of per-class (or per-class-pair) quantities c · θ, for maps.

    Monte Carlo when configured (the same draws as the tables), else Approach 1 (value ∓ 1.96 sd).
    """
    if "monte_carlo" in settings["approaches"]:
        mc = linear_monte_carlo(coeffs, parameter_draws(params.specs, settings["n_draws"],
                                                        settings["seed"]))
        return {"sd": mc["sd"], "p2_5": mc["p2_5"], "p97_5": mc["p97_5"]}
    sd = linear_approach1_sd(coeffs, params.sds)
    return {"sd": sd, "p2_5": centre - Z95 * sd, "p97_5": centre + Z95 * sd}

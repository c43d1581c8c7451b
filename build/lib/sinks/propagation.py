"""The uncertainty engine: IPCC Approach 1 and Monte Carlo for every row and map of a run.

Two kinds of parameters: the density table's distributions (class look-up figures are linear in
them, below) and the cited parameter registry (gain-loss, potential: rates nonlinear in it,
:func:`registry_uncertainty`). The draw and interval primitives are in :mod:`sinks.uncertainty`.

Density parameters:

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

import logging

import numpy as np
import pandas as pd

from sinks.accuracy import stratum_means
from sinks.constants import POOLS
from sinks.density_model import REGISTRY_SEED_OFFSET, DensityModel
from sinks.models.stock_difference import DEFAULT_PADDY_SHARE
from sinks.parameters import registry_draws, registry_sensitivities
from sinks.uncertainty import (Z95, converged_monte_carlo, linear_approach1_sd,
                               linear_monte_carlo, parameter_draws, variance_shares)

log = logging.getLogger(__name__)

APPROACH1 = "IPCC Approach 1 (propagation of error)"
MONTE_CARLO = "IPCC Approach 2 (Monte Carlo, {n} draws, seed {seed})"


@dataclass(frozen=True)
class ClassParameters:
    """The density parameters θ (one per table row), how each class's densities depend on
    them, and their joint distribution (sinks.density_model): draws, and first-order loadings
    on independent sources of error, so errors that rows share stay shared."""

    names: list[str]  # "<class>/<pool>" per parameter
    loadings: np.ndarray  # (n_params, n_sources): θ ≈ θ̂ + loadings @ ε, ε independent, sd 1
    sources: list[str]  # name of each independent source of error
    weights: np.ndarray  # (K, pools, n_params): density[k, pool] = weights[k, pool] @ θ
    model: DensityModel

    def total_weights(self) -> np.ndarray:
        """(K, n_params): total density of each class (sum over pools) as a combination of θ."""
        return self.weights.sum(axis=1)

    def draws(self, n_draws: int, seed: int) -> np.ndarray:
        """Monte Carlo draws of θ, (n_draws, n_params), seeded (sinks.density_model)."""
        return self.model.draws(n_draws, seed)

    def approach1_sd(self, coeffs: np.ndarray) -> np.ndarray:
        """sd of each ``coeffs @ θ`` by IPCC Approach 1 with the covariance of θ
        (2006 Vol.1 Ch.3 Eq. 3.2 with correlation: var = c Σ cᵀ, Σ = loadings loadingsᵀ)."""
        return linear_approach1_sd(np.asarray(coeffs, dtype="float64") @ self.loadings,
                                   np.ones(self.loadings.shape[1]))

    def variance_shares(self, coeffs: np.ndarray) -> np.ndarray:
        """Share of each independent source in the variance of each ``coeffs @ θ``
        (first-order Sobol indices), (n_rows, n_sources)."""
        return variance_shares(np.asarray(coeffs, dtype="float64") @ self.loadings,
                               np.ones(self.loadings.shape[1]))


def class_parameters(model: DensityModel, table_keys: list, paddy_share: float | None
                     ) -> ClassParameters:
    """Parameters of a density table's model for the compact classes of a run.

    ``table_keys[k]`` is the table key (ecosystem or lucode) of compact class k (None for 0).
    The unsplit ``cropland`` class of a table without a cropland row is the paddy_share mix of
    the paddy and upland rows (as :func:`sinks.models.stock_difference.class_densities`).
    """
    keys = model.keys
    names = [f"{cls}/{pool}" for cls, pool in keys]
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
    loadings, sources = model.loadings()
    return ClassParameters(names, loadings, sources, weights, model)


def table_uncertainty(values: np.ndarray, coeffs: np.ndarray, params: ClassParameters,
                      settings: dict) -> tuple[pd.DataFrame, dict]:
    """Uncertainty columns for table rows of known coefficients (n_rows, n_params).

    Returns the columns ``sd, ci_low, ci_high, uncertainty_pct, uncertainty_approach`` (and
    ``approach1_uncertainty_pct`` when both approaches run; ``mc_converged, mc_draws`` with the
    Monte Carlo, whose draws grow until the intervals are stable, :func:`grow_monte_carlo`), and
    the Monte Carlo convergence summary. ``uncertainty_pct`` is half the 95 % interval as % of
    |value| (IPCC convention).
    """
    approaches = settings["approaches"]
    sd1 = params.approach1_sd(coeffs)
    with np.errstate(divide="ignore", invalid="ignore"):
        u1 = np.where(values != 0, 100 * Z95 * sd1 / np.abs(values), np.nan)
    cols = {"sd": sd1, "ci_low": values - Z95 * sd1, "ci_high": values + Z95 * sd1,
            "uncertainty_pct": u1}
    approach, convergence = APPROACH1, {}
    if "monte_carlo" in approaches:
        mc, n = grow_monte_carlo(lambda m: linear_monte_carlo(coeffs, params.draws(m, settings["seed"])),
                                 settings)
        half = (mc["p97_5"] - mc["p2_5"]) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            u2 = np.where(values != 0, 100 * half / np.abs(values), np.nan)
        if "approach1" in approaches:
            cols["approach1_uncertainty_pct"] = u1
        cols.update(sd=mc["sd"], ci_low=mc["p2_5"], ci_high=mc["p97_5"], uncertainty_pct=u2,
                    mc_converged=mc["converged"], mc_draws=np.full(len(values), n))
        approach = MONTE_CARLO.format(n=n, seed=settings["seed"])
        convergence = convergence_summary(mc, n, settings)
    out = pd.DataFrame(cols)
    out["uncertainty_approach"] = approach
    return out, convergence


def class_statistics(coeffs: np.ndarray, centre: np.ndarray, params: ClassParameters,
                     settings: dict) -> tuple[dict[str, np.ndarray], int]:
    """sd, 2.5 and 97.5 percentiles of per-class (or per-class-pair) quantities c · θ, for maps.

    Monte Carlo when configured (the tables' seed and draws), grown until the intervals of
    these per-class figures, the maps' pixel values, are stable (:func:`grow_monte_carlo`: the
    maps' own convergence, so a map needs no table); else Approach 1 (value ∓ 1.96 sd).
    Returns the statistics and the number of draws (0 for Approach 1).
    """
    if "monte_carlo" in settings["approaches"]:
        mc, n = grow_monte_carlo(lambda m: linear_monte_carlo(coeffs, params.draws(m, settings["seed"])),
                                 settings)
        log_convergence("the uncertainty map's classes", convergence_summary(mc, n, settings))
        return {"sd": mc["sd"], "p2_5": mc["p2_5"], "p97_5": mc["p97_5"]}, n
    sd = params.approach1_sd(coeffs)
    return {"sd": sd, "p2_5": centre - Z95 * sd, "p97_5": centre + Z95 * sd}, 0


def grow_monte_carlo(statistics, unc: dict) -> tuple[dict[str, np.ndarray], int]:
    """:func:`sinks.uncertainty.converged_monte_carlo` with the config's ``n_draws``,
    ``max_draws`` and ``tolerance``: draws double until every row's 95 % interval is stable."""
    return converged_monte_carlo(statistics, unc["n_draws"], unc["max_draws"], unc["tolerance"])


def convergence_summary(mc: dict, n: int, unc: dict) -> dict:
    """Draws, largest interval shift between n/2 and n draws, and the rows not stable."""
    shift = mc["rel_change"]
    worst = float(np.nanmax(shift)) if np.isfinite(shift).any() else 0.0
    bad = int((~mc["converged"]).sum())
    return {"n_draws": n, "n_half": n // 2, "n_rows": len(shift), "max_interval_shift": worst,
            "tolerance": unc["tolerance"], "max_draws": unc["max_draws"], "converged": bad == 0,
            "n_unconverged": bad}


def log_convergence(what: str, conv: dict) -> None:
    """The convergence line of a Monte Carlo, and a warning naming how many rows are not stable."""
    log.info("Monte Carlo of %s: %d draws; the 95 %% intervals of %d rows moved by at most "
             "%.2f %% of their width between %d and %d draws (tolerance %.0f %%)", what,
             conv["n_draws"], conv["n_rows"], 100 * conv["max_interval_shift"], conv["n_half"],
             conv["n_draws"], 100 * conv["tolerance"])
    if not conv["converged"]:
        log.warning("Monte Carlo of %s: %d of %d rows not stable to %.0f %% of their interval "
                    "width at the cap uncertainty.max_draws = %d (mc_converged = false in the "
                    "table); raise uncertainty.max_draws", what, conv["n_unconverged"],
                    conv["n_rows"], 100 * conv["tolerance"], conv["max_draws"])


DRAW_BATCH = 512  # Monte Carlo draws of the registry evaluated at once (memory ~ batch x rates)
UNCERTAINTY_COLUMNS = ("sd", "ci_low", "ci_high", "uncertainty_pct")


def monte_carlo(cfg: dict) -> bool:
    """True when the config runs IPCC Approach 2 (Monte Carlo)."""
    unc = cfg["uncertainty"]
    return unc["enabled"] and "monte_carlo" in unc["approaches"]


def registry_seed(cfg: dict) -> int:
    """Seed of the registry-parameter draws (gain-loss and potential share it, so a parameter
    used by both, e.g. CF, takes the same value in both in each iteration)."""
    return cfg["uncertainty"]["seed"] + REGISTRY_SEED_OFFSET


def density_uncertainty(cfg: dict, df: pd.DataFrame, coefs: list, params: ClassParameters | None
                        ) -> tuple[pd.DataFrame, tuple[pd.DataFrame, np.ndarray] | None]:
    """Add the uncertainty columns to rows whose values are linear in the density parameters
    (``coefs[i]``: the row's coefficient vector, or None for rows that do not depend on them).
    Returns the table and, for the attribution table, the rows with coefficients and their
    variance shares (None without parameters or such rows)."""
    if params is None:
        reason = ("none: uncertainty disabled" if not cfg["uncertainty"]["enabled"] else
                  "none: the density table has no sd column")
        return df.assign(sd=np.nan, ci_low=np.nan, ci_high=np.nan, uncertainty_pct=np.nan,
                         uncertainty_approach=reason), None
    has = np.array([c is not None for c in coefs], dtype=bool)
    matrix = np.array([c for c in coefs if c is not None])
    if has.any():
        cols, convergence = table_uncertainty(df["value"].to_numpy()[has], matrix, params,
                                              cfg["uncertainty"])
    else:
        cols = pd.DataFrame(np.empty((0, len(UNCERTAINTY_COLUMNS))), columns=list(UNCERTAINTY_COLUMNS))
        cols, convergence = cols.assign(uncertainty_approach=""), {}
    for name in cols.columns:  # NaN on rows without coefficients
        df[name] = pd.Series(cols[name].to_numpy(), index=df.index[has]).reindex(df.index)
    df.loc[~has, "uncertainty_approach"] = np.where(
        df.loc[~has, "quantity"] == "area", "none: map area (no accuracy assessment)",
        "none: not propagated for this method yet")
    if convergence:
        log_convergence("the density parameters", convergence)
    return df, ((df[has], params.variance_shares(matrix)) if has.any() else None)


def fill_monte_carlo(df: pd.DataFrame, idx, mc: dict, approach: str, n: int) -> None:
    """Write Monte Carlo sd, 95 % interval, relative uncertainty and convergence (``n`` draws)
    into rows ``idx`` (positions)."""
    idx = df.index[idx]
    values = df.loc[idx, "value"].to_numpy()
    half = (mc["p97_5"] - mc["p2_5"]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(values != 0, 100 * half / np.abs(values), np.nan)
    for col, v in (("sd", mc["sd"]), ("ci_low", mc["p2_5"]), ("ci_high", mc["p97_5"]),
                   ("uncertainty_pct", pct), ("mc_converged", mc["converged"]),
                   ("mc_draws", np.full(len(idx), n))):
        df.loc[idx, col] = v
    df.loc[idx, "uncertainty_approach"] = approach


def registry_uncertainty(cfg: dict, reg, df: pd.DataFrame, groups: dict, rates_of, fixed: str,
                         batched: bool = False) -> None:
    """Uncertainty columns of rows whose values are ``coefs @ rates_of(registry)[key]``: per
    key, ``groups[key] = (row positions in df, coefs)``; the rates are nonlinear in the
    registry parameters θ (products such as G_W (1 + R) CF, the growth curve). ``batched``:
    ``rates_of`` broadcasts over a leading draw axis (a batch of draws at once).

    * Approach 1 (IPCC 2006 Vol.1 Ch.3 §3.2.3.1): first-order propagation,
      sd² = Σ_j (coefs · ∂rate/∂θ_j × sd_j)² — Eq. 3.1 and 3.2 are this rule for products and
      sums — with the derivatives by central differences
      (:func:`sinks.parameters.registry_sensitivities`).
    * Approach 2 (§3.2.3.2): the rates re-evaluated for every draw of θ
      (:func:`sinks.parameters.registry_draws`, seed :func:`registry_seed`), the draws of all
      groups growing together until every row's interval is stable (:func:`grow_monte_carlo`);
      the rates of the draws already evaluated are kept, only new draws are evaluated.
    """
    unc = cfg["uncertainty"]
    if not unc["enabled"] or not groups:
        return
    mc = monte_carlo(cfg)
    if mc:
        rates = {key: [] for key in groups}  # evaluated rates per key, (draws, size) arrays

        def statistics(n):
            have = sum(len(a) for a in rates[next(iter(groups))])
            for d in registry_draws(reg, n, registry_seed(cfg), start=have,
                                    batch=DRAW_BATCH if batched else None):  # the new draws only
                r = rates_of(d)
                for key in groups:
                    rates[key].append(np.asarray(r[key]) if batched else np.asarray(r[key])[None])
            runs = [linear_monte_carlo(coefs, np.concatenate(rates[key])[:n])
                    for key, (_, coefs) in groups.items()]
            return {k: np.concatenate([r[k] for r in runs]) for k in runs[0]}

        stats, n = grow_monte_carlo(statistics, unc)
        log_convergence(f"the registry parameters ({fixed})", convergence_summary(stats, n, unc))
        ends = np.cumsum([0] + [len(pick) for pick, _ in groups.values()])
    if "approach1" in unc["approaches"]:  # one pass of perturbed registries for every key
        keys = list(groups)
        sizes = [np.asarray(v).size for v in (rates_of(reg)[key] for key in keys)]
        every = registry_sensitivities(reg, lambda r: np.concatenate([np.asarray(rates_of(r)[key]).ravel()
                                                                      for key in keys]))
        cuts = np.cumsum([0] + sizes)
        sensitivities = {key: every[:, cuts[i]:cuts[i + 1]] for i, key in enumerate(keys)}
    for g, (key, (pick, coefs)) in enumerate(groups.items()):
        idx = df.index[pick]
        values = df.loc[idx, "value"].to_numpy()
        if "approach1" in unc["approaches"]:
            sens = sensitivities[key]
            sd1 = np.sqrt(((coefs @ sens.T) ** 2).sum(axis=1))
            with np.errstate(divide="ignore", invalid="ignore"):
                u1 = np.where(values != 0, 100 * Z95 * sd1 / np.abs(values), np.nan)
            if mc:
                df.loc[idx, "approach1_uncertainty_pct"] = u1
            else:
                for col, v in (("sd", sd1), ("ci_low", values - Z95 * sd1),
                               ("ci_high", values + Z95 * sd1), ("uncertainty_pct", u1)):
                    df.loc[idx, col] = v
                df.loc[idx, "uncertainty_approach"] = (
                    f"IPCC Approach 1 (first-order propagation of the registry parameters; {fixed})")
        if mc:
            fill_monte_carlo(df, pick, {k: v[ends[g]:ends[g + 1]] for k, v in stats.items()},
                             f"IPCC Approach 2 (Monte Carlo, {n} draws of the registry "
                             f"parameters; {fixed})", n)


def map_rows_uncertainty(cfg: dict, mapped: np.ndarray, default: np.ndarray, indep: np.ndarray,
                         shared: np.ndarray, factor: np.ndarray, coef: np.ndarray | None,
                         params: ClassParameters | None, seed_key: tuple | None):
    """sd, 95 % interval and approach of rows made from a map (the biomass-map rows): value =
    ``mapped + default``; errors, independent of each other: the pixels' errors (sd ``indep``,
    independent between rows), a shared model error (sd ``shared``, one draw for all rows), the
    carbon factors' shared error (sd ``factor``, one draw for all rows) and, with ``params``,
    the density parameters of the class-default part (``coef @ θ``, the tables' draws).

    Monte Carlo when configured and densities enter (IPCC 2006 Vol.1 §3.2.3.2; the extra
    standard normals seeded by ``seed_key`` in RNG blocks, like θ, so the draws can grow until
    every row's interval is stable, :func:`grow_monte_carlo`), else Approach 1: √ of the summed
    variances (Eq. 3.2). Returns sd, 2.5 and 97.5 percentiles, the approach and the columns
    ``mc_converged, mc_draws`` (none for Approach 1).
    """
    value = mapped + default
    unc = cfg["uncertainty"]
    if params is not None and unc["enabled"] and "monte_carlo" in unc["approaches"]:
        # value draw = coef · θ + mapped × 1 + shared z_s + factor z_f + indep_i z_i: linear in
        # (θ, 1, z_s, z_f, z_1 … z_rows).
        coeffs = np.hstack([coef, mapped[:, None], shared[:, None], factor[:, None], np.diag(indep)])
        normal = [{"dist": "normal", "mean": 0.0, "sd": 1.0}] * (2 + len(value))

        def statistics(n):
            z = parameter_draws(normal, n, [unc["seed"], 6, *seed_key])
            return linear_monte_carlo(coeffs, np.hstack([params.draws(n, unc["seed"]), np.ones((n, 1)), z]))

        mc, n = grow_monte_carlo(statistics, unc)
        log_convergence("the biomass-map rows", convergence_summary(mc, n, unc))
        return (mc["sd"], mc["p2_5"], mc["p97_5"], f"IPCC Approach 2 (Monte Carlo, {n} draws)",
                {"mc_converged": mc["converged"], "mc_draws": np.full(len(value), n)})
    dens_sd = params.approach1_sd(coef) if params is not None else 0.0
    sd = np.sqrt(indep ** 2 + shared ** 2 + factor ** 2 + dens_sd ** 2)
    return (sd, value - Z95 * sd, value + Z95 * sd,
            "IPCC Approach 1" if params is not None else "normal", {})


def stratified_bootstrap_means(stratum: np.ndarray, values_of_draw, n_draws: int, seed: int
                               ) -> np.ndarray:
    """Per-stratum means of a reference sample under a Rao & Wu (1988, JASA 83:231) rescaled
    stratified bootstrap (units resampled within strata, n_h ≥ 2): (n_draws, strata, columns),
    strata in ``np.unique(stratum)`` order. ``values_of_draw(j)``: the units' values
    (units, columns) in Monte Carlo draw j, so parameter draws and sampling error are drawn
    together (IPCC 2006 Vol.1 §3.2.3.2)."""
    uniq, h = np.unique(stratum, return_inverse=True)
    order = np.argsort(h, kind="stable")
    first = np.searchsorted(h[order], h[order], side="left")
    size = np.searchsorted(h[order], h[order], side="right") - first
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    picks = order[first + (rng.random((n_draws, h.size)) * size).astype("int64")]
    n_h = np.bincount(h).astype("float64")
    rescale = np.sqrt(n_h / (n_h - 1))[:, None]
    out = None
    for j, pick in enumerate(picks):
        y = values_of_draw(j)
        full = stratum_means(h, y, uniq.size)
        boot = stratum_means(h[order], y[pick], uniq.size)
        if out is None:
            out = np.empty((len(picks), uniq.size, y.shape[1]))
        out[j] = full + rescale * (boot - full)
    return out

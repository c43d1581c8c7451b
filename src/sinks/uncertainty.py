"""Uncertainty: IPCC Approach 1 error propagation and a seeded Monte Carlo for zone totals.

Sources: IPCC 2006 Guidelines for National Greenhouse Gas Inventories, Vol. 1 (General Guidance),
Ch. 3 (Uncertainties): Approach 1, propagation of error (§3.2.3.1, Eqs. 3.1 and 3.2), and
Approach 2, Monte Carlo simulation (§3.2.3.2).

Convention: an IPCC **uncertainty** ``U`` is the half-width of the 95 % confidence interval as a
percentage of the estimate, ``U = 100 × half_width / |x|``; for a normal quantity,
``half_width = 1.96 sd`` (:func:`ipcc_percent_to_sd`).

Monte Carlo determinism (STYLE §4.7): draws come from ``np.random.SeedSequence(seed)`` only, never
the global RNG. Iterations are cut into fixed blocks of :data:`RNG_BLOCK` iterations and block
``b`` draws from ``SeedSequence(seed, spawn_key=(b,))`` (the ``b``-th child of
``SeedSequence(seed).spawn``), parameters in a fixed order; so the result is the same for any
memory batch size (which only groups whole blocks) and does not depend on how the work is split.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sinks.errors import ConfigError, InputDataError

log = logging.getLogger(__name__)

Z95 = 1.96  # two-sided 95 % normal quantile (IPCC 2006 Vol.1 Ch.3)
APPROACH1_LIMIT_PERCENT = 100.0  # above this, IPCC 2006 Vol.1 §3.2.3.1 prefers Approach 2
RNG_BLOCK = 1024  # iterations per seeded RNG block; fixed, so batching never changes results
DISTRIBUTIONS = {
    "normal": ("mean", "sd"),
    "lognormal": ("mean", "sd"),
    "truncated_normal": ("mean", "sd", "low", "high"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "constant": ("value",),
}
_ALIASES = {"truncnorm": "truncated_normal", "fixed": "constant"}


class Approach1Warning(UserWarning):
    """An uncertainty is too large for IPCC Approach 1 (propagation of error) to be reliable."""


# --------------------------------------------------------------------------- Approach 1


def combine_product(rel_uncertainties: Sequence[float] | np.ndarray) -> float:
    """Uncertainty of a product of quantities, IPCC 2006 Vol.1 Ch.3 Eq. 3.1.

    ``U_total = sqrt(U_1² + U_2² + … + U_n²)``

    Approach 1 assumes uncorrelated quantities with relatively small, symmetric uncertainties.
    Where an uncertainty exceeds about 100 % the intervals are asymmetric (a quantity that cannot
    be negative has a longer upper tail) and Approach 1 misstates them; IPCC 2006 Vol.1 §3.2.3.1
    then recommends Approach 2 (Monte Carlo, :func:`monte_carlo_zone_totals`), or at least
    reporting the asymmetric interval. A :class:`Approach1Warning` is emitted in that case.

    Parameters
    ----------
    rel_uncertainties : sequence of float
        ``U_i`` of each factor, in percent (half-width of the 95 % CI as % of the value), ≥ 0.

    Returns
    -------
    float
        ``U_total`` of the product, in percent.
    """
    u = _percentages(rel_uncertainties, "rel_uncertainties")
    total = float(np.sqrt(np.sum(u ** 2)))
    _check_approach1(u, total, "product")
    return total


def combine_sum(values: Sequence[float] | np.ndarray,
                rel_uncertainties: Sequence[float] | np.ndarray) -> float:
    """Uncertainty of a sum (or difference) of quantities, IPCC 2006 Vol.1 Ch.3 Eq. 3.2.

    ``U_total = sqrt((U_1 x_1)² + (U_2 x_2)² + … + (U_n x_n)²) / |x_1 + x_2 + … + x_n|``

    The quantities are assumed uncorrelated; for a difference enter the subtracted terms with a
    negative ``x_i``. See :func:`combine_product` for the Approach 1 limits (a warning is emitted
    above about 100 %); when the sum is near zero ``U_total`` becomes very large and the absolute
    half-width ``U_total × |Σ x_i| / 100`` is the meaningful figure.

    Parameters
    ----------
    values : sequence of float
        ``x_i``, the quantities summed (any one unit shared by all, e.g. Mg C).
    rel_uncertainties : sequence of float
        ``U_i`` of each quantity, in percent (half-width of the 95 % CI as % of ``|x_i|``), ≥ 0.

    Returns
    -------
    float
        ``U_total`` of the sum, in percent; ``inf`` if the sum is exactly 0 and some ``U_i x_i``
        is not.

    Raises
    ------
    InputDataError
        If the two sequences differ in length or hold non-finite values.
    """
    x = np.asarray(values, dtype="float64")
    u = _percentages(rel_uncertainties, "rel_uncertainties")
    if x.shape != u.shape:
        raise InputDataError(f"combine_sum: {x.size} values but {u.size} uncertainties; give one "
                             "uncertainty per value")
    if not np.isfinite(x).all():
        raise InputDataError("combine_sum: values must be finite")
    num = float(np.sqrt(np.sum((u * x) ** 2)))
    den = abs(float(np.sum(x)))
    total = num / den if den > 0 else (0.0 if num == 0 else float("inf"))
    _check_approach1(u, total, "sum")
    return total


def ipcc_percent_to_sd(mean: float | np.ndarray, percent: float | np.ndarray) -> float | np.ndarray:
    """Standard deviation of a normal quantity stated as "mean ± x %" (IPCC convention).

    IPCC 2006 Vol.1 Ch.3 states uncertainty as the half-width of the 95 % confidence interval in
    percent of the mean; for a normal distribution the half-width is 1.96 sd, so
    ``sd = x / 100 × |mean| / 1.96``.

    Parameters
    ----------
    mean : float or array
        The central value, in the quantity's unit (e.g. Mg C ha-1).
    percent : float or array
        ``x``, half-width of the 95 % CI in percent of the mean (≥ 0).

    Returns
    -------
    float or array
        Standard deviation, in the unit of ``mean``.
    """
    pct = np.asarray(percent, dtype="float64")
    if (pct < 0).any():
        raise InputDataError(f"ipcc_percent_to_sd: uncertainty {percent} % must be ≥ 0")
    return np.abs(mean) * pct / 100.0 / Z95


def approach1_linear_totals(areas_ha: np.ndarray, means: Sequence[float],
                            sds: Sequence[float]) -> pd.DataFrame:
    """Approach 1 uncertainty of zone totals of a stratified linear model.

    ``T_z = Σ_s a_zs θ_s`` with one parameter ``θ_s`` per stratum, shared by every pixel of the
    stratum in every zone (the same model as :func:`monte_carlo_zone_totals`). By IPCC 2006
    Vol.1 Eq. 3.2 applied to the terms ``x_s = a_zs θ_s`` (area ``a_zs`` taken as exact),
    ``sd(T_z) = sqrt(Σ_s a_zs² sd(θ_s)²)`` and ``U_z = 100 × 1.96 sd(T_z) / |T_z|``. Across
    zones the totals are correlated (shared parameters), so do not add zone variances to get a
    region total: add a row of summed areas instead.

    Parameters
    ----------
    areas_ha : (n_zones, n_strata) array
        Area of each stratum in each zone, ha.
    means, sds : (n_strata,) sequences
        Mean and standard deviation of each stratum parameter (per-hectare unit, e.g.
        Mg C ha-1).

    Returns
    -------
    pandas.DataFrame
        One row per zone: ``total`` and ``sd`` (parameter unit × ha, e.g. Mg C), ``ci_low``,
        ``ci_high`` (total ∓ 1.96 sd) and ``uncertainty_percent``.
    """
    a = _areas(areas_ha)
    mu = np.asarray(means, dtype="float64")
    sd = np.asarray(sds, dtype="float64")
    if mu.shape != (a.shape[1],) or sd.shape != (a.shape[1],):
        raise InputDataError(f"approach1_linear_totals: {a.shape[1]} strata in areas_ha but "
                             f"{mu.size} means and {sd.size} sds")
    total = a @ mu
    sd_total = np.sqrt((a ** 2) @ (sd ** 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(total != 0, 100 * Z95 * sd_total / np.abs(total), np.inf)
    return pd.DataFrame({"total": total, "sd": sd_total, "ci_low": total - Z95 * sd_total,
                         "ci_high": total + Z95 * sd_total, "uncertainty_percent": u})


# --------------------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True)
class Convergence:
    """Stability of the 95 % interval: first half of the draws against all of them.

    ``rel_change[z] = max(|lo_half − lo_all|, |hi_half − hi_all|) / (hi_all − lo_all)``: the
    largest shift of an interval bound, as a fraction of the interval width (0 for a zone whose
    interval has zero width). ``converged`` is ``max(rel_change) ≤ tolerance``.
    """

    n_half: int
    rel_change: np.ndarray
    tolerance: float
    converged: bool


@dataclass(frozen=True)
class MonteCarloResult:
    """Monte Carlo (IPCC Approach 2) zone totals, in parameter unit × ha (e.g. Mg C).

    Arrays are per zone (length ``n_zones``); ``draws`` is ``(n_draws, n_zones)``, kept so the
    region total (add the zone columns per draw), further statistics or sensitivity indices
    come from the same draws.
    """

    mean: np.ndarray
    sd: np.ndarray
    p2_5: np.ndarray
    p97_5: np.ndarray
    n_draws: int
    seed: int
    correlation: str
    convergence: Convergence
    draws: np.ndarray = field(repr=False)

    def to_frame(self, zone_names: Sequence | None = None) -> pd.DataFrame:
        """Per-zone table: ``mean``, ``sd``, ``ci_low``, ``ci_high`` (2.5 / 97.5 percentiles) and
        ``uncertainty_percent`` (half the 95 % interval width as % of ``|mean|``)."""
        half = (self.p97_5 - self.p2_5) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(self.mean != 0, 100 * half / np.abs(self.mean), np.inf)
        out = pd.DataFrame({"mean": self.mean, "sd": self.sd, "ci_low": self.p2_5,
                            "ci_high": self.p97_5, "uncertainty_percent": u},
                           index=None if zone_names is None else pd.Index(zone_names, name="zone"))
        out.attrs.update(approach="IPCC 2006 Approach 2 (Monte Carlo)", n_draws=self.n_draws,
                         seed=self.seed, correlation=self.correlation,
                         converged=self.convergence.converged)
        return out


def monte_carlo_zone_totals(areas_ha: np.ndarray,
                            parameters: Sequence[Mapping] | Mapping[str, Mapping],
                            n_draws: int = 10_000, seed: int = 0, *,
                            independent_unit_ha: float | None = None,
                            batch_size: int = 8 * RNG_BLOCK,
                            convergence_tolerance: float = 0.05) -> MonteCarloResult:
    """Monte Carlo zone totals of a stratified linear model (IPCC 2006 Vol.1 §3.2.3.2).

    Model: ``T_z = Σ_s a_zs θ_s``: zone ``z`` holds ``a_zs`` ha of stratum ``s`` (e.g. an
    ecosystem class or a land-cover transition), and every hectare of the stratum takes the
    stratum parameter ``θ_s`` (e.g. a carbon density in Mg C ha-1, or a sink rate).

    **Correlated (default)**: ``θ_s`` is drawn once per iteration and shared by all pixels of
    the stratum in every zone (it is one published value, so its error is the same everywhere);
    per iteration ``T = A @ θ``. Zone totals are then not falsely precise: a stratum covering
    ``N`` pixels contributes ``N × sd(θ_s)`` to the total's sd, not ``sqrt(N) × sd(θ_s)``.

    **Independent** (``independent_unit_ha`` given): each unit of that area (e.g. a pixel) draws
    its own value. The sum over the ``a_zs / unit`` independent units of a zone is drawn
    directly as a normal with mean ``Σ_s a_zs E[θ_s]`` and variance
    ``Σ_s a_zs × unit × sd(θ_s)²`` (central limit theorem; exact for normal parameters), so no
    pixel-level array is formed. Use it for pixel-level errors (e.g. model residuals), or to show
    how much independence understates the spread.

    Iterations are processed in memory batches of ``batch_size`` (rounded up to a multiple of
    :data:`RNG_BLOCK`); peak memory is about ``8 × batch_size × (n_strata + n_zones)`` bytes
    plus the kept totals, ``8 × n_draws × n_zones`` bytes. Results do not depend on
    ``batch_size``.

    Parameters
    ----------
    areas_ha : (n_zones, n_strata) array
        Area of each stratum in each zone, ha (a 1-D array is one zone).
    parameters : sequence of n_strata dicts, or dict name → dict
        Distribution of each stratum parameter, in stratum order, in the per-hectare unit of the
        model (e.g. Mg C ha-1). ``{"dist": ..., ...}`` with keys

        - ``normal``: ``mean``, ``sd``;
        - ``lognormal``: ``mean``, ``sd`` of the quantity itself (not of its log), mean > 0;
        - ``truncated_normal`` (alias ``truncnorm``): ``mean``, ``sd`` of the normal before
          truncation, and bounds ``low``, ``high`` (either may be ``None`` = unbounded);
        - ``uniform``: ``low``, ``high``;
        - ``triangular``: ``low``, ``mode``, ``high``;
        - ``constant`` (alias ``fixed``): ``value`` (no uncertainty).

        IPCC "± x %" values convert with :func:`ipcc_percent_to_sd`.
    n_draws : int
        Number of Monte Carlo iterations (≥ 2; IPCC suggests enough for a stable 95 % interval,
        see ``convergence``).
    seed : int
        Seed of ``np.random.SeedSequence``; the same seed gives identical results.
    independent_unit_ha : float, optional
        Area (ha) of the unit that draws independently; ``None`` (default) = correlated.
    batch_size : int
        Iterations held in memory at once; a runtime knob with no effect on results.
    convergence_tolerance : float
        Largest accepted shift of a 95 % interval bound between the first half of the draws and
        all draws, as a fraction of the interval width; a warning is logged above it.

    Returns
    -------
    MonteCarloResult
        Per zone: mean, sd (ddof=1), 2.5 and 97.5 percentiles, the convergence check and the
        draws (parameter unit × ha, e.g. Mg C).

    Raises
    ------
    ConfigError
        If a parameter's distribution is unknown or its values are invalid (the message names
        the parameter and the key).
    InputDataError
        If the areas are not a finite, non-negative (n_zones, n_strata) array matching the
        parameters.
    """
    a = _areas(areas_ha)
    specs = _parameter_specs(parameters)
    if len(specs) != a.shape[1]:
        raise InputDataError(f"monte_carlo_zone_totals: {a.shape[1]} strata in areas_ha but "
                             f"{len(specs)} parameters; give one distribution per stratum")
    if int(n_draws) != n_draws or n_draws < 2:
        raise ConfigError(f"uncertainty.n_draws = {n_draws}: must be an integer ≥ 2")
    if batch_size < 1:
        raise ConfigError(f"batch_size = {batch_size}: must be ≥ 1")
    if independent_unit_ha is not None and not independent_unit_ha > 0:
        raise ConfigError(f"independent_unit_ha = {independent_unit_ha}: must be > 0 (ha)")
    n_draws = int(n_draws)
    blocks_per_batch = max(1, -(-int(batch_size) // RNG_BLOCK))
    n_blocks = -(-n_draws // RNG_BLOCK)
    correlation = "stratum" if independent_unit_ha is None else "independent"
    if correlation == "independent":
        mom = np.array([_moments(name, spec) for name, spec in specs])  # (n_strata, 2)
        mean_zone = a @ mom[:, 0]
        sd_zone = np.sqrt((a * independent_unit_ha) @ mom[:, 1] ** 2)
    totals = np.empty((n_draws, a.shape[0]))
    for first in range(0, n_blocks, blocks_per_batch):
        blocks = range(first, min(first + blocks_per_batch, n_blocks))
        if correlation == "stratum":
            theta = np.concatenate([_block_draws(seed, b, specs) for b in blocks])
            chunk = theta @ a.T
        else:
            z = np.concatenate([_block_normals(seed, b, a.shape[0]) for b in blocks])
            chunk = mean_zone + z * sd_zone
        i0 = first * RNG_BLOCK
        i1 = min(i0 + len(chunk), n_draws)
        totals[i0:i1] = chunk[:i1 - i0]
    lo, hi = np.percentile(totals, [2.5, 97.5], axis=0)
    conv = _convergence(totals, lo, hi, convergence_tolerance)
    if not conv.converged:
        log.warning("Monte Carlo: the 95 %% interval moved by up to %.1f %% of its width between "
                    "%d and %d draws (tolerance %.1f %%); increase uncertainty.n_draws",
                    100 * conv.rel_change.max(), conv.n_half, n_draws, 100 * convergence_tolerance)
    log.info("Monte Carlo (%s): %d draws, %d zones, %d strata, seed %d; interval stable to "
             "%.2f %% of its width", correlation, n_draws, a.shape[0], a.shape[1], seed,
             100 * (conv.rel_change.max() if conv.rel_change.size else 0.0))
    return MonteCarloResult(mean=totals.mean(axis=0), sd=totals.std(axis=0, ddof=1), p2_5=lo,
                            p97_5=hi, n_draws=n_draws, seed=int(seed), correlation=correlation,
                            convergence=conv, draws=totals)


def draw_parameter(spec: Mapping, n: int, rng: np.random.Generator, name: str = "parameter"
                   ) -> np.ndarray:
    """``n`` draws of one parameter from its distribution dict (see
    :func:`monte_carlo_zone_totals` for the keys), in the parameter's unit."""
    dist, v = _check_spec(name, spec)
    if dist == "normal":
        return rng.normal(v["mean"], v["sd"], n)
    if dist == "lognormal":
        sigma2 = np.log1p((v["sd"] / v["mean"]) ** 2)
        return rng.lognormal(np.log(v["mean"]) - sigma2 / 2, np.sqrt(sigma2), n)
    if dist == "truncated_normal":
        if v["sd"] == 0:
            return np.full(n, float(np.clip(v["mean"], v["low"], v["high"])))
        lo, hi = (v["low"] - v["mean"]) / v["sd"], (v["high"] - v["mean"]) / v["sd"]
        return stats.truncnorm.ppf(rng.random(n), lo, hi, loc=v["mean"], scale=v["sd"])
    if dist == "uniform":
        return rng.uniform(v["low"], v["high"], n)
    if dist == "triangular":
        if v["low"] == v["high"]:
            return np.full(n, float(v["low"]))
        return rng.triangular(v["low"], v["mode"], v["high"], n)
    return np.full(n, float(v["value"]))  # constant


# --------------------------------------------------------------------------- helpers


def _block_draws(seed: int, block: int, specs: list[tuple[str, Mapping]]) -> np.ndarray:
    """Parameter draws of RNG block ``block``: (RNG_BLOCK, n_strata), parameters in order."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    return np.column_stack([draw_parameter(spec, RNG_BLOCK, rng, name) for name, spec in specs])


def _block_normals(seed: int, block: int, n_zones: int) -> np.ndarray:
    """Standard normals of RNG block ``block``: (RNG_BLOCK, n_zones)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    return rng.standard_normal((RNG_BLOCK, n_zones))


def _moments(name: str, spec: Mapping) -> tuple[float, float]:
    """Mean and standard deviation of a parameter distribution (for independent-unit sums)."""
    dist, v = _check_spec(name, spec)
    if dist in ("normal", "lognormal"):
        return v["mean"], v["sd"]
    if dist == "truncated_normal":
        if v["sd"] == 0:
            return float(np.clip(v["mean"], v["low"], v["high"])), 0.0
        lo, hi = (v["low"] - v["mean"]) / v["sd"], (v["high"] - v["mean"]) / v["sd"]
        m, var = stats.truncnorm.stats(lo, hi, loc=v["mean"], scale=v["sd"], moments="mv")
        return float(m), float(np.sqrt(var))
    if dist == "uniform":
        return (v["low"] + v["high"]) / 2, (v["high"] - v["low"]) / np.sqrt(12)
    if dist == "triangular":
        lo, mo, hi = v["low"], v["mode"], v["high"]
        return (lo + mo + hi) / 3, float(np.sqrt((lo * lo + mo * mo + hi * hi - lo * mo - lo * hi
                                                  - mo * hi) / 18))
    return v["value"], 0.0


def _check_spec(name: str, spec: Mapping) -> tuple[str, dict]:
    """Validated distribution name and its numeric values; ConfigError naming the key."""
    if not isinstance(spec, Mapping) or "dist" not in spec:
        raise ConfigError(f"{name}: uncertainty distribution must be a mapping with a 'dist' key "
                          f"(one of {sorted(DISTRIBUTIONS)}); got {spec!r}")
    dist = _ALIASES.get(spec["dist"], spec["dist"])
    if dist not in DISTRIBUTIONS:
        raise ConfigError(f"{name}.dist = {spec['dist']!r}: unknown distribution; use one of "
                          f"{sorted(DISTRIBUTIONS)}")
    v = {}
    for key in DISTRIBUTIONS[dist]:
        if key not in spec:
            raise ConfigError(f"{name}: {dist} distribution needs key {key!r} (keys: "
                              f"{', '.join(DISTRIBUTIONS[dist])})")
        val = spec[key]
        if val is None and key in ("low", "high") and dist == "truncated_normal":
            val = -np.inf if key == "low" else np.inf
        try:
            val = float(val)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}.{key} = {spec[key]!r}: must be a number") from None
        if np.isnan(val) or (np.isinf(val) and not (dist == "truncated_normal"
                                                    and key in ("low", "high"))):
            raise ConfigError(f"{name}.{key} = {spec[key]!r}: must be finite")
        v[key] = val
    problems = []
    if "sd" in v and v["sd"] < 0:
        problems.append(f"{name}.sd = {v['sd']}: must be ≥ 0")
    if dist == "lognormal" and v["mean"] <= 0:
        problems.append(f"{name}.mean = {v['mean']}: a lognormal needs mean > 0 (use a normal or "
                        "truncated normal for quantities that can be ≤ 0)")
    if dist in ("uniform", "truncated_normal") and not v["low"] <= v["high"]:
        problems.append(f"{name}: low = {v['low']} must be ≤ high = {v['high']}")
    if dist == "truncated_normal" and v["low"] == v["high"] and v["sd"] > 0:
        problems.append(f"{name}: low = high = {v['low']} leaves nothing to draw; use constant")
    if dist == "triangular" and not v["low"] <= v["mode"] <= v["high"]:
        problems.append(f"{name}: triangular needs low ≤ mode ≤ high, got {v['low']}, "
                        f"{v['mode']}, {v['high']}")
    if problems:
        raise ConfigError("; ".join(problems))
    return dist, v


def _parameter_specs(parameters) -> list[tuple[str, Mapping]]:
    """(name, spec) pairs in stratum order, each validated."""
    if isinstance(parameters, Mapping) and "dist" not in parameters:
        items = [(str(k), v) for k, v in parameters.items()]
    elif isinstance(parameters, Mapping):
        items = [("parameters[0]", parameters)]
    else:
        items = [(f"parameters[{i}]", v) for i, v in enumerate(parameters)]
    for name, spec in items:
        _check_spec(name, spec)
    return items


def _areas(areas_ha) -> np.ndarray:
    a = np.asarray(areas_ha, dtype="float64")
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or 0 in a.shape:
        raise InputDataError(f"areas_ha has shape {np.shape(areas_ha)}; give an (n_zones, "
                             "n_strata) array of areas in ha")
    if not np.isfinite(a).all() or (a < 0).any():
        raise InputDataError("areas_ha must be finite and ≥ 0 (ha)")
    return a


def _percentages(values, what: str) -> np.ndarray:
    u = np.atleast_1d(np.asarray(values, dtype="float64"))
    if u.ndim != 1 or not np.isfinite(u).all() or (u < 0).any():
        raise InputDataError(f"{what} must be finite percentages ≥ 0; got {values!r}")
    return u


def _check_approach1(u: np.ndarray, total: float, what: str) -> None:
    big = max(float(u.max(initial=0.0)), total)
    if big > APPROACH1_LIMIT_PERCENT:
        msg = (f"IPCC Approach 1 ({what}): uncertainty of {big:.0f} % exceeds "
               f"{APPROACH1_LIMIT_PERCENT:.0f} %; the 95 % interval is asymmetric there and "
               "propagation of error misstates it (IPCC 2006 Vol.1 §3.2.3.1): use Monte Carlo "
               "(Approach 2)")
        warnings.warn(msg, Approach1Warning, stacklevel=3)
        log.warning(msg)


def _convergence(totals: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float) -> Convergence:
    half = totals.shape[0] // 2
    lo_h, hi_h = np.percentile(totals[:half], [2.5, 97.5], axis=0)
    rel = _interval_shift(lo_h, hi_h, lo, hi)
    return Convergence(n_half=half, rel_change=rel, tolerance=tol,
                       converged=bool((rel <= tol).all()))


# --------------------------------------------------------------------------- linear models
# Every table row and map pixel of a class look-up model is a linear combination of the
# parameters: value = coeffs @ θ. The functions below work on a coefficient matrix
# (n_rows, n_params), coefficients of any sign (sums and differences, e.g. a stock change).


def parameter_draws(parameters: Sequence[Mapping] | Mapping[str, Mapping], n_draws: int,
                    seed: int) -> np.ndarray:
    """Monte Carlo draws of every parameter, (n_draws, n_params), seeded as
    :func:`monte_carlo_zone_totals` (fixed RNG blocks), so every table and map of a run that
    uses the same seed and parameters sees the same draws."""
    specs = _parameter_specs(parameters)
    if int(n_draws) != n_draws or n_draws < 2:
        raise ConfigError(f"uncertainty.n_draws = {n_draws}: must be an integer ≥ 2")
    n_blocks = -(-int(n_draws) // RNG_BLOCK)
    return np.concatenate([_block_draws(seed, b, specs) for b in range(n_blocks)])[:int(n_draws)]


def linear_approach1_sd(coeffs: np.ndarray, sds: np.ndarray) -> np.ndarray:
    """Standard deviation of each ``coeffs @ θ`` for independent parameters of standard
    deviation ``sds``: IPCC 2006 Vol.1 Ch.3 Eq. 3.2 applied to the terms ``c_j θ_j``,
    ``sd = sqrt(Σ_j c_j² sd_j²)``. A parameter entering a difference (e.g. the same density at
    both epochs of a stock change) is one term with its net coefficient, so it cancels where
    land does not change."""
    return np.sqrt((np.asarray(coeffs, dtype="float64") ** 2) @ (np.asarray(sds, dtype="float64") ** 2))


def linear_monte_carlo(coeffs: np.ndarray, draws: np.ndarray, batch_rows: int = 512,
                       tolerance: float = 0.05) -> dict[str, np.ndarray]:
    """Mean, sd, 2.5 and 97.5 percentiles of ``coeffs @ θ`` over parameter ``draws``
    (IPCC 2006 Vol.1 §3.2.3.2), rows in batches so memory stays ``8 × n_draws × batch_rows``
    bytes; plus the convergence check of each row's 95 % interval (first half of the draws
    against all, shift as a fraction of the interval width)."""
    c = np.asarray(coeffs, dtype="float64")
    out = {k: np.empty(c.shape[0]) for k in ("mean", "sd", "p2_5", "p97_5", "rel_change")}
    half = draws.shape[0] // 2
    for r0 in range(0, c.shape[0], batch_rows):
        values = c[r0:r0 + batch_rows] @ draws.T  # (rows, n_draws): each row's draws contiguous
        lo, hi = interval95(values)
        sl = slice(r0, r0 + values.shape[0])
        out["mean"][sl], out["sd"][sl] = values.mean(axis=1), values.std(axis=1, ddof=1)
        out["p2_5"][sl], out["p97_5"][sl] = lo, hi
        out["rel_change"][sl] = _interval_shift(*interval95(values[:, :half]), lo, hi)
    return out


def interval95(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5 and 97.5 percentiles of each row of ``values`` (rows, draws), as ``np.percentile``'s
    default (linear interpolation) computes them, by one partial sort per row (np.partition on
    the four order statistics needed: several times faster than np.percentile on 10⁴ draws)."""
    n = values.shape[1]
    pos = [(n - 1) * q for q in (0.025, 0.975)]
    kth = sorted({min(int(np.floor(p)) + i, n - 1) for p in pos for i in (0, 1)})
    part = np.partition(values, kth, axis=1)
    out = []
    for p in pos:
        f = int(np.floor(p))
        w = p - f
        out.append(part[:, f] * (1 - w) + part[:, min(f + 1, n - 1)] * w)
    return out[0], out[1]


def _interval_shift(lo_h: np.ndarray, hi_h: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Largest shift of an interval bound as a fraction of the interval's width (see
    :class:`Convergence`)."""
    width = hi - lo
    shift = np.maximum(np.abs(lo_h - lo), np.abs(hi_h - hi))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(width > 0, shift / width, np.where(shift > 0, np.inf, 0.0))


def variance_shares(coeffs: np.ndarray, sds: np.ndarray) -> np.ndarray:
    """Share of each parameter in the variance of each ``coeffs @ θ``, (n_rows, n_params).

    For a model linear in independent parameters the first-order Sobol index of parameter j is
    exactly ``c_j² sd_j² / Σ_i c_i² sd_i²`` and the indices sum to 1 (Saltelli et al. 2008,
    Global Sensitivity Analysis: The Primer, §1.2.5), so no sampling (e.g. SALib) is needed.
    Rows with zero variance get zeros.
    """
    terms = (np.asarray(coeffs, dtype="float64") ** 2) * (np.asarray(sds, dtype="float64") ** 2)
    total = terms.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, terms / total, 0.0)

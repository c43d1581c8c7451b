"""Distribution draws and interval primitives of the uncertainty engine (:mod:`sinks.propagation`).

The engine in :mod:`sinks.propagation` (and the method row builders) turns these into the
uncertainty columns of every table and map of a run:

* :func:`draw_parameter`, :func:`parameter_draws`: seeded Monte Carlo draws of parameters from
  their distribution dicts, each with the stated mean (:func:`matched_truncated_normal`);
* for figures linear in the parameters (``value = coeffs @ θ``): :func:`linear_approach1_sd`
  (IPCC Approach 1), :func:`linear_monte_carlo` (Approach 2 statistics and the convergence
  check of the 95 % interval) and :func:`variance_shares` (first-order Sobol indices);
* :func:`converged_monte_carlo`: more draws until every row's 95 % interval is stable;
* :func:`interval95`: the 2.5 and 97.5 percentiles of draws.

Sources: IPCC 2006 Guidelines for National Greenhouse Gas Inventories, Vol. 1 (General Guidance),
Ch. 3 (Uncertainties): Approach 1, propagation of error (§3.2.3.1, Eq. 3.2), and Approach 2,
Monte Carlo simulation (§3.2.3.2).

Convention: an IPCC **uncertainty** ``U`` is the half-width of the 95 % confidence interval as a
percentage of the estimate, ``U = 100 × half_width / |x|``; for a normal quantity,
``half_width = 1.96 sd`` (:data:`Z95`).

Distributions: a parameter is a dict ``{"dist": ..., ...}``, in the parameter's unit, with keys

- ``normal``: ``mean``, ``sd``;
- ``lognormal``: ``mean``, ``sd`` of the quantity itself (not of its log), mean > 0;
- ``truncated_normal`` (alias ``truncnorm``): ``mean``, ``sd`` of the distribution *after*
  truncation (the reported value and its sd), and bounds ``low``, ``high``, at most one of them
  finite (``None`` = unbounded); the normal's location and scale are solved from them
  (:func:`matched_truncated_normal`);
- ``uniform``: ``low``, ``high``;
- ``triangular``: ``low``, ``mode``, ``high``;
- ``constant`` (alias ``fixed``): ``value`` (no uncertainty).

Invalid distributions raise ``ConfigError`` naming the parameter and the key.

Monte Carlo determinism (STYLE §4.7): draws come from ``np.random.SeedSequence(seed)`` only, never
the global RNG. Draws are cut into fixed blocks of :data:`RNG_BLOCK` iterations and block
``b`` draws from ``SeedSequence(seed, spawn_key=(b,))`` (the ``b``-th child of
``SeedSequence(seed).spawn``), parameters in a fixed order; so the first draws do not depend on
how many are asked for, nor on how the work is split.

Every distribution's mean is the stated ``mean`` (or ``value``), so the Monte Carlo is centred
on the reported figure (STYLE §11): the lognormal by construction, the truncated normal by
solving its location (:func:`matched_truncated_normal`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from sinks.errors import ConfigError

Z95 = 1.96  # two-sided 95 % normal quantile (IPCC 2006 Vol.1 Ch.3)
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
ALPHA_MAX = 100.0  # largest standardized truncation point solved for (scipy's moments hold to it)

log = logging.getLogger(__name__)


def draw_parameter(spec: Mapping, n: int, rng: np.random.Generator, name: str = "parameter"
                   ) -> np.ndarray:
    """``n`` draws of one parameter from its distribution dict (keys in the module docstring),
    in the parameter's unit."""
    dist, v = _check_spec(name, spec)
    if dist == "normal":
        return rng.normal(v["mean"], v["sd"], n)
    if dist == "lognormal":
        # Mean-preserving: exp(μ + s²/2) = mean and sd² = mean² (e^{s²} − 1) for
        # s² = ln(1 + (sd/mean)²), μ = ln(mean) − s²/2 (the lognormal's moments, Johnson, Kotz &
        # Balakrishnan 1994, Continuous Univariate Distributions Vol. 1, 2nd ed., Ch. 14).
        sigma2 = np.log1p((v["sd"] / v["mean"]) ** 2)
        return rng.lognormal(np.log(v["mean"]) - sigma2 / 2, np.sqrt(sigma2), n)
    if dist == "truncated_normal":
        if v["sd"] == 0:
            return np.full(n, v["mean"])
        # One finite bound: a bound above is the mirror image of a bound below.
        sign = 1.0 if np.isfinite(v["low"]) or not np.isfinite(v["high"]) else -1.0
        bound = v["low"] if sign > 0 else -v["high"]
        return sign * matched_truncated_normal(sign * v["mean"], v["sd"], bound, name).ppf(rng.random(n))
    if dist == "uniform":
        return rng.uniform(v["low"], v["high"], n)
    if dist == "triangular":
        if v["low"] == v["high"]:
            return np.full(n, float(v["low"]))
        return rng.triangular(v["low"], v["mode"], v["high"], n)
    return np.full(n, float(v["value"]))  # constant


@functools.lru_cache(maxsize=None)
def matched_truncated_normal(mean: float, sd: float, low: float, name: str = "parameter"):
    """The normal truncated below at ``low`` whose mean is ``mean`` and sd is ``sd`` (a frozen
    scipy distribution; cached, as every RNG block draws from it).

    With α = (low − μ)/σ and λ = φ(α)/(1 − Φ(α)), the truncated normal has mean μ + σλ and
    variance σ² (1 + αλ − λ²) (Johnson, Kotz & Balakrishnan 1994, Continuous Univariate
    Distributions Vol. 1, 2nd ed., Ch. 13, truncated normal), so (mean − low)/sd = (λ − α)/√(1 + αλ − λ²), which
    falls from ∞ (α → −∞, the plain normal) to 1 (α → ∞, the exponential); α is solved from
    it, then σ = sd/√(1 + αλ − λ²) and μ = low − σα.

    Rule where both cannot be matched, (mean − low)/sd ≤ 1 (i.e. sd/mean ≥ 1 for ``low`` = 0;
    in practice ≤ 1.0001, the ratio at α = :data:`ALPHA_MAX`): the mean is matched exactly and
    the sd as closely as the family allows. With the mean held, the sd grows with the scale
    towards mean − low, reached in the limit, the exponential; that limit is drawn,
    ``low + Exp(mean − low)``, with a warning naming the parameter.
    """
    if not np.isfinite(low):
        return stats.norm(mean, sd)
    k = (mean - low) / sd

    def ratio(alpha):
        m, v = stats.truncnorm.stats(alpha, np.inf, moments="mv")
        return (m - alpha) / np.sqrt(v)

    if k <= ratio(ALPHA_MAX):
        log.warning("%s: sd %.6g is not below mean − low = %.6g, so no truncated normal has "
                    "it; drawn from the family's limit, the exponential low + Exp(mean − low) "
                    "(mean exact, sd %.6g)", name, sd, mean - low, mean - low)
        return stats.expon(loc=low, scale=mean - low)
    alpha = optimize.brentq(lambda a: ratio(a) - k, -(k + 1.0), ALPHA_MAX, xtol=1e-12)
    scale = sd / stats.truncnorm.std(alpha, np.inf)
    return stats.truncnorm(alpha, np.inf, loc=low - scale * alpha, scale=scale)


# --------------------------------------------------------------------------- helpers


def _block_draws(seed: int | Sequence[int], block: int, specs: list[tuple[str, Mapping]]) -> np.ndarray:
    """Parameter draws of RNG block ``block``: (RNG_BLOCK, n_strata), parameters in order."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    return np.column_stack([draw_parameter(spec, RNG_BLOCK, rng, name) for name, spec in specs])


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
    if dist == "truncated_normal" and np.isfinite(v["low"]) and np.isfinite(v["high"]):
        problems.append(f"{name}: a truncated normal takes one finite bound (low or high), got "
                        f"low = {v['low']}, high = {v['high']}: use a uniform or triangular "
                        "distribution between two bounds")
    elif dist == "truncated_normal" and not (v["low"] < v["mean"] < v["high"] or (
            v["sd"] == 0 and v["low"] <= v["mean"] <= v["high"])):
        problems.append(f"{name}.mean = {v['mean']}: must lie strictly inside the bounds "
                        f"(low = {v['low']}, high = {v['high']}) when sd > 0")
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


# --------------------------------------------------------------------------- linear models
# Every table row and map pixel of a class look-up model is a linear combination of the
# parameters: value = coeffs @ θ. The functions below work on a coefficient matrix
# (n_rows, n_params), coefficients of any sign (sums and differences, e.g. a stock change).


def parameter_draws(parameters: Sequence[Mapping] | Mapping[str, Mapping], n_draws: int,
                    seed: int | Sequence[int], start: int = 0) -> np.ndarray:
    """Monte Carlo draws ``start`` to ``n_draws`` of every parameter, (n_draws − start,
    n_params), seeded in fixed RNG blocks (module docstring), so every table and map of a run
    that uses the same seed and parameters sees the same draws, and the first draws do not
    depend on ``n_draws`` (more draws = the same first draws and new ones)."""
    specs = _parameter_specs(parameters)
    if int(n_draws) != n_draws or n_draws < 2:
        raise ConfigError(f"uncertainty.n_draws = {n_draws}: must be an integer ≥ 2")
    first, n_blocks = start // RNG_BLOCK, -(-int(n_draws) // RNG_BLOCK)
    blocks = np.concatenate([_block_draws(seed, b, specs) for b in range(first, n_blocks)])
    return blocks[start - first * RNG_BLOCK:int(n_draws) - first * RNG_BLOCK]


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


def converged_monte_carlo(statistics: Callable[[int], dict], n_draws: int, max_draws: int,
                          tolerance: float) -> tuple[dict[str, np.ndarray], int]:
    """Monte Carlo statistics with the draws the 95 % intervals need: ``statistics(n)`` gives
    :func:`linear_monte_carlo`'s dict over the first ``n`` draws; ``n`` starts at ``n_draws``
    and doubles (the last step capped at ``max_draws``) until every row's interval moved by at
    most ``tolerance`` of its width between the first half of the draws and all of them, or
    ``n`` reaches ``max_draws``. With doubling the check compares each step with the one
    before. Returns the last dict plus ``converged`` (bool per row; a NaN shift, a row with no
    interval, counts as converged) and the draw count."""
    n = int(n_draws)
    while True:
        mc = statistics(n)
        ok = ~(mc["rel_change"] > tolerance)
        if ok.all() or n >= max_draws:
            return {**mc, "converged": ok}, n
        n = min(2 * n, int(max_draws))


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
    """Largest shift of an interval bound as a fraction of the interval's width (the convergence
    check of :func:`linear_monte_carlo`): ``max(|lo_h − lo|, |hi_h − hi|) / (hi − lo)``, 0 where
    the interval and the shift are both zero, ``inf`` where only the width is."""
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

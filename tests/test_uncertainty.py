"""The uncertainty primitives the engine (sinks.propagation) runs, against hand-computed numbers:
IPCC 2006 Vol.1 Ch.3 Eq. 3.1 (product, through the registry's first-order sensitivities) and
Eq. 3.2 (sum, through ``linear_approach1_sd``); the seeded Monte Carlo (``parameter_draws``,
``linear_monte_carlo``): agreement with Approach 1, fixed RNG blocks, a shared parameter against
independent ones, the convergence check; distribution draws and the 95 % interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sinks.errors import ConfigError
from sinks.io.tables import builtin_densities_path, density_distributions, read_densities
from sinks.parameters import SD_RULES, load_registry, registry_sensitivities, value
from sinks.density_model import independent_model
from sinks.parameters import spec as parameter_spec
from sinks.propagation import (class_parameters, density_uncertainty, map_rows_uncertainty,
                               registry_uncertainty, table_uncertainty)
from sinks.uncertainty import (RNG_BLOCK, Z95, draw_parameter, interval95, linear_approach1_sd,
                               linear_monte_carlo, matched_truncated_normal, parameter_draws,
                               variance_shares)

# --------------------------------------------------------------------------- Eq. 3.1 (product)

# Three factors of IPCC 2006 Vol.4 Ch.2 Eq. 2.25 (SOC = SOC_ref × F_LU × F_MG × F_I): a product
# of registry parameters, as the gain-loss and soil rates are.
FACTORS = ("soc_ref_lac", "f_lu_cropland_annual", "f_mg_no_till")


def _product_u(reg, ids) -> float:
    """Approach 1 U (%) of the product of registry parameters ``ids``, from the registry's
    first-order sensitivities, as sinks.propagation.registry_uncertainty combines them."""
    sens = registry_sensitivities(reg, lambda r: np.array([np.prod([value(r, i) for i in ids])]))
    product = np.prod([value(reg, i) for i in ids])
    return 100 * Z95 * float(np.sqrt((sens ** 2).sum())) / abs(product)


@pytest.mark.parametrize("u, expected", [
    ((30.0, 40.0), 50.0),         # sqrt(30^2 + 40^2) = sqrt(900 + 1600) = sqrt(2500) = 50 %
    ((10.0, 20.0, 20.0), 30.0),   # sqrt(10^2 + 20^2 + 20^2) = sqrt(900) = 30 %
    ((7.5,), 7.5),                # one factor keeps its own uncertainty
])
def test_eq_3_1_product_hand_computed(u, expected):
    """IPCC 2006 Vol.1 Ch.3 Eq. 3.1: U_total = sqrt(U_1² + … + U_n²) for a product. First-order
    propagation is exact for a product to first order, and central differences are exact for a
    function linear in each parameter, so the registry's sensitivities give it to ~1e-6."""
    ids = FACTORS[:len(u)]
    means = (50.0, 0.8, 1.2)[:len(u)]
    # Each factor given as "mean ± U %" (95 % CI): sd = U / 100 × mean / 1.96.
    reg = load_registry({i: {"value": m, "sd": m * ui / 100 / Z95} for i, m, ui in zip(ids, means, u)})
    assert _product_u(reg, ids) == pytest.approx(expected, rel=1e-6)


def test_eq_3_1_product_of_registry_parameters():
    """IPCC 2006 Vol.1 Ch.3 Eq. 3.1 on two published entries of the registry: the relative sd of
    a × b is hypot(sd_a / a, sd_b / b) to first order."""
    reg = load_registry()
    a, b = FACTORS[:2]
    sd_a, sd_b = reg.loc[a, "sd"], reg.loc[b, "sd"]
    assert sd_a > 0 and sd_b > 0 and str(reg.loc[a, "status"]).upper() != "UNCONFIRMED"
    fn = lambda r: np.array([value(r, a) * value(r, b)])  # noqa: E731
    sens = registry_sensitivities(reg, fn)
    va, vb = value(reg, a), value(reg, b)
    # Only the two factors have non-zero rows: ∂(ab)/∂a × sd_a = b sd_a, ∂(ab)/∂b × sd_b = a sd_b.
    assert np.count_nonzero(sens) == 2
    np.testing.assert_allclose(np.sort(np.abs(sens[sens != 0])), np.sort([vb * sd_a, va * sd_b]),
                               rtol=1e-6)
    assert np.sqrt((sens ** 2).sum()) / (va * vb) == pytest.approx(np.hypot(sd_a / va, sd_b / vb),
                                                                   rel=1e-6)
    # A negative uncertainty is refused where it enters (the config's override).
    with pytest.raises(ConfigError, match="must be >= 0"):
        load_registry({a: {"value": va, "sd": -1.0}})


def test_ipcc_percent_to_sd():
    """IPCC 2006 Vol.1 Ch.3: "mean ± x %" is the half-width of the 95 % CI, 1.96 sd for a
    normal, so sd = x / 100 × |mean| / 1.96 (the registry's ``pct_ci95`` rule)."""
    rule = SD_RULES["pct_ci95"]
    # "50 ± 19.6 %": half-width 9.8 = 1.96 sd -> sd = 5.0.
    assert rule(50.0, 19.6, np.nan, np.nan) == pytest.approx(5.0)
    np.testing.assert_allclose(rule(np.array([-10.0, 20.0]), 9.8, np.nan, np.nan), [0.5, 1.0])
    # A registry entry stated that way: SOC_ref 55 t/ha ± 8 % -> sd = 55 × 8 / 196 = 2.2449 t/ha.
    row = load_registry().loc["soc_ref_lac"]
    assert row["uncertainty_type"] == "pct_ci95"
    assert row["sd"] == pytest.approx(abs(row["value"]) * row["uncertainty"] / 100 / Z95)


# --------------------------------------------------------------------------- Eq. 3.2 (sum)


def _u_percent(coeffs, means, sds):
    """U (%) of each coeffs @ θ by Approach 1: 100 × 1.96 sd / |value|."""
    c = np.atleast_2d(np.asarray(coeffs, dtype="float64"))
    return 100 * Z95 * linear_approach1_sd(c, sds) / np.abs(c @ np.asarray(means))


def test_eq_3_2_sum_hand_computed():
    """IPCC 2006 Vol.1 Ch.3 Eq. 3.2: U_total = sqrt(Σ (U_i x_i)²) / |Σ x_i|, uncorrelated terms;
    ``linear_approach1_sd`` is this rule on the terms c_j θ_j."""
    pct_sd = lambda x, u: abs(x) * u / 100 / Z95  # noqa: E731  (mean ± U % -> sd)
    # x = 100, 300 with U = 30 %, 10 %: half-widths 30 and 30, so
    # sqrt(30^2 + 30^2) / |100 + 300| = 42.4264 / 400 = 10.6066 %.
    sds = [pct_sd(100, 30), pct_sd(300, 10)]
    assert _u_percent([1.0, 1.0], [100.0, 300.0], sds)[0] == pytest.approx(np.sqrt(1800) / 4)
    assert _u_percent([1.0, 1.0], [100.0, 300.0], sds)[0] == pytest.approx(10.6066, abs=1e-4)
    # The same as areas × per-hectare densities: 10 ha and 30 ha at 10 Mg/ha ± 30 %, ± 10 %.
    assert _u_percent([10.0, 30.0], [10.0, 10.0], [pct_sd(10, 30), pct_sd(10, 10)])[0] == \
        pytest.approx(10.6066, abs=1e-4)
    # A difference (gain 100, loss 60, both ± 10 %): coefficient -1 for the loss,
    # sqrt(10^2 + 6^2) / |100 - 60| = 11.6619 / 40 = 29.1548 %.
    assert _u_percent([1.0, -1.0], [100.0, 60.0], [pct_sd(100, 10), pct_sd(60, 10)])[0] == \
        pytest.approx(29.1548, abs=1e-4)
    # Small net of large terms (100 - 96, both ± 10 %): hypot(10, 9.6) / 4 = 346.6 %, far above
    # the ~100 % where IPCC 2006 Vol.1 §3.2.3.1 prefers Approach 2 (see the asymmetry test).
    assert _u_percent([1.0, -1.0], [100.0, 96.0], [pct_sd(100, 10), pct_sd(96, 10)])[0] == \
        pytest.approx(np.hypot(10, 9.6) / 4 * 100)
    # One parameter at both epochs of a stock change enters with its net coefficient, so it
    # cancels where land does not change: 5 ha kept forest -> 5 - 5 = 0, sd 0.
    np.testing.assert_array_equal(linear_approach1_sd(np.array([[5.0 - 5.0, 2.0]]), [6.0, 0.0]), [0.0])
    # Row by row: a coefficient matrix gives one sd per row.
    np.testing.assert_allclose(linear_approach1_sd([[3.0, 4.0], [1.0, 0.0]], [1.0, 1.0]), [5.0, 1.0])


def test_coefficients_must_match_parameters():
    # One coefficient per parameter: a mismatch is an error, never a silent broadcast.
    with pytest.raises(ValueError):
        linear_approach1_sd(np.ones((2, 3)), [1.0])
    with pytest.raises(ValueError):
        linear_monte_carlo(np.ones((2, 3)), parameter_draws(NORMAL[:1], 10, 0))


# --------------------------------------------------------------------------- Monte Carlo

AREAS = np.array([[100.0, 50.0, 0.0],    # zone 1 (ha of strata 1-3)
                  [20.0, 200.0, 30.0],   # zone 2
                  [0.0, 10.0, 400.0]])   # zone 3
NORMAL = [{"dist": "normal", "mean": 100.0, "sd": 10.0},
          {"dist": "normal", "mean": 50.0, "sd": 5.0},
          {"dist": "normal", "mean": 20.0, "sd": 4.0}]
MEANS = np.array([100.0, 50.0, 20.0])
SDS = np.array([10.0, 5.0, 4.0])


def test_monte_carlo_converges_to_approach1():
    """IPCC 2006 Vol.1 §3.2.3.2 (Approach 2) against Eq. 3.2 (Approach 1): for normal parameters
    and a linear model they agree within sampling error."""
    n = 20_000
    mc = linear_monte_carlo(AREAS, parameter_draws(NORMAL, n, 42))
    total, sd1 = AREAS @ MEANS, linear_approach1_sd(AREAS, SDS)
    # zone 1: total 100*100 + 50*50 = 12,500 Mg; sd = sqrt((100*10)^2 + (50*5)^2) = 1030.78.
    assert total[0] == pytest.approx(12_500.0)
    assert sd1[0] == pytest.approx(np.hypot(1000, 250))
    # Within sampling error: se(mean) = sd/sqrt(n); se(sd) ≈ sd/sqrt(2n) (0.5 % at n = 20,000).
    assert np.all(np.abs(mc["mean"] - total) < 4 * sd1 / np.sqrt(n))
    np.testing.assert_allclose(mc["sd"], sd1, rtol=0.03)
    # The Approach 1 95 % interval (± 1.96 sd) matches the Monte Carlo percentiles.
    np.testing.assert_allclose(mc["p2_5"], total - Z95 * sd1, rtol=0.02)
    np.testing.assert_allclose(mc["p97_5"], total + Z95 * sd1, rtol=0.02)
    # The same through Eq. 3.2 with IPCC percentages: U_s = 100 * 1.96 sd_s / mean_s = 19.6 %
    # for both strata of zone 1: sqrt((19.6 × 10,000)^2 + (19.6 × 2,500)^2) / 12,500 = 16.164 %.
    assert 100 * Z95 * sd1[0] / total[0] == pytest.approx(19.6 * np.hypot(10_000, 2_500) / 12_500)
    assert sorted(mc) == ["mean", "p2_5", "p97_5", "rel_change", "sd"]
    assert mc["rel_change"].shape == (3,) and (mc["rel_change"] <= 0.05).all()


def test_monte_carlo_other_distributions_match_approach1_sd():
    # sd of a linear combination of independent parameters is exact for any distribution
    # (IPCC 2006 Vol.1 Eq. 3.2 holds for variances): uniform(0, 12): sd = 12/sqrt(12) = 3.4641;
    # triangular(0, 3, 6): sd = sqrt(27/18) = 1.2247; lognormal mean 10 sd 2 (of the quantity).
    params = {"forest": {"dist": "uniform", "low": 0.0, "high": 12.0},
              "shrub": {"dist": "triangular", "low": 0.0, "mode": 3.0, "high": 6.0},
              "crop": {"dist": "lognormal", "mean": 10.0, "sd": 2.0}}
    mc = linear_monte_carlo(AREAS, parameter_draws(params, 20_000, 7))
    np.testing.assert_allclose(mc["sd"], linear_approach1_sd(AREAS, [np.sqrt(12.0), np.sqrt(1.5), 2.0]),
                               rtol=0.03)
    np.testing.assert_allclose(mc["mean"], AREAS @ [6.0, 3.0, 10.0], rtol=0.01)


def test_large_uncertainty_monte_carlo_interval_is_asymmetric():
    """IPCC 2006 Vol.1 §3.2.3.1: above about 100 % the interval of a quantity that cannot be
    negative is asymmetric and Approach 1 (± 1.96 sd) misstates it; Approach 2 gets it."""
    # 100 ha at θ of mean 1, sd 1 Mg C/ha, truncated at 0: Approach 1 gives U = 196 % and a
    # lower bound 100 - 196 < 0. sd/mean = 1 is the limit of the truncated normal, the
    # exponential of mean 1: quantiles -ln(1 - q) -> 2.5 %: 0.02532, 97.5 %: 3.6889 (× 100 ha).
    spec = [{"dist": "truncated_normal", "mean": 1.0, "sd": 1.0, "low": 0.0, "high": None}]
    coeffs = np.array([[100.0]])
    sd1 = linear_approach1_sd(coeffs, [1.0])[0]
    assert 100 * Z95 * sd1 / 100.0 == pytest.approx(196.0) and 100.0 - Z95 * sd1 < 0
    mc = linear_monte_carlo(coeffs, parameter_draws(spec, 20_000, 5))
    lo, hi = -np.log(0.975) * 100, -np.log(0.025) * 100
    assert (lo, hi) == pytest.approx((2.532, 368.89), abs=0.01)
    assert mc["p2_5"][0] >= 0 and mc["p2_5"][0] == pytest.approx(lo, abs=0.3)
    assert mc["p97_5"][0] == pytest.approx(hi, abs=10.0)
    assert mc["mean"][0] == pytest.approx(100.0, rel=0.02)
    upper, lower = mc["p97_5"][0] - mc["mean"][0], mc["mean"][0] - mc["p2_5"][0]
    assert upper / lower == pytest.approx((368.89 - 100) / (100 - 2.532), rel=0.1)  # 2.76


def test_truncated_normal_location_hand_computed():
    """The truncated normal's location and scale are solved so that its mean and sd are the
    stated ones: G_W of natural secondary forest > 20 y, 1.0 ± 0.9 t d.m./ha/yr, truncated at 0
    (the normal of mean 1 truncated at 0 would have mean 1.22: +22 %)."""
    dist = matched_truncated_normal(1.0, 0.9, 0.0)
    loc, scale = dist.kwds["loc"], dist.kwds["scale"]
    alpha = (0.0 - loc) / scale
    # Closed form: mean = μ + σ λ, var = σ² (1 + αλ − λ²), λ = φ(α) / (1 − Φ(α)).
    lam = stats.norm.pdf(alpha) / stats.norm.sf(alpha)
    assert loc + scale * lam == pytest.approx(1.0, abs=1e-9)
    assert scale * np.sqrt(1 + alpha * lam - lam ** 2) == pytest.approx(0.9, abs=1e-9)
    assert (loc, scale) == pytest.approx((-4.8027, 2.5715), abs=1e-3)
    # The old rule (location = the value): mean 1 + 0.9 φ(1.111)/Φ(1.111) = 1 + 0.9 × 0.2482 = 1.2234.
    old = 1.0 + 0.9 * stats.norm.pdf(-1 / 0.9) / stats.norm.sf(-1 / 0.9)
    assert old == pytest.approx(1.2234, abs=1e-4)


def test_truncated_normal_beyond_the_family_and_bound_above(caplog):
    """sd ≥ mean − low: no truncated normal has that sd; the exponential limit (mean exact, sd =
    mean − low) is drawn, with a warning. A bound above mirrors a bound below."""
    rng = np.random.default_rng(np.random.SeedSequence(2))
    x = draw_parameter({"dist": "truncnorm", "mean": 2.0, "sd": 3.0, "low": 1.0, "high": None},
                       100_000, rng, "wide")
    assert x.min() >= 1.0 and x.mean() == pytest.approx(2.0, rel=0.01)
    assert x.std() == pytest.approx(1.0, rel=0.02)  # mean − low, the closest attainable
    assert "wide: sd 3 is not below mean − low = 1" in caplog.text
    y = draw_parameter({"dist": "truncnorm", "mean": 9.0, "sd": 0.9, "low": None, "high": 10.0},
                       100_000, rng)
    assert y.max() <= 10.0 and y.mean() == pytest.approx(9.0, rel=0.01)
    assert y.std() == pytest.approx(0.9, rel=0.02)


def _every_stated_distribution():
    """(name, spec) of every usable registry entry and every row of the built-in density table."""
    reg = load_registry()
    out = [(pid, parameter_spec(reg, pid)) for pid in reg.index
           if str(reg.loc[pid, "status"]).upper() != "UNCONFIRMED"]
    dens = density_distributions(read_densities(builtin_densities_path()))
    return out + [(f"{c}/{p}", d) for (c, p), d in dens.items()]


def test_every_distribution_has_its_stated_mean():
    """STYLE §11: a draw's mean is the reported value. 10⁵ draws of every registry entry and
    density: the sample mean within 1 % of the value, the sd within 3 % of the stated sd (every
    one is matchable: sd/mean < 1 for all truncated ones). Sampling error of the mean:
    sd/√n = 0.3 % of the mean at sd/mean = 0.9."""
    items = _every_stated_distribution()
    truncated = [n for n, d in items if d["dist"] == "truncated_normal"]
    assert len(truncated) >= 10 and "forest/agb" in truncated and "gw_natural_secondary_gt20" in truncated
    draws = parameter_draws(dict(items), 100_000, 11)
    for (name, d), x in zip(items, draws.T):
        if d["dist"] == "constant":
            assert (x == d["value"]).all(), name
            continue
        assert x.mean() == pytest.approx(d["mean"], rel=0.01), name
        assert x.std() == pytest.approx(d["sd"], rel=0.03), name


def test_draw_parameter_distributions():
    rng = np.random.default_rng(np.random.SeedSequence(1))
    x = draw_parameter({"dist": "truncnorm", "mean": 1.0, "sd": 2.0, "low": 0.0, "high": None},
                       50_000, rng)
    assert x.min() >= 0.0  # truncated at 0, unbounded above
    ln = draw_parameter({"dist": "lognormal", "mean": 10.0, "sd": 3.0}, 50_000, rng)
    assert ln.mean() == pytest.approx(10.0, rel=0.01) and ln.std() == pytest.approx(3.0, rel=0.03)
    assert (draw_parameter({"dist": "constant", "value": 4.2}, 3, rng) == 4.2).all()


def test_parameter_draws_same_seed_identical_whatever_n():
    """STYLE §4.7: draws in fixed RNG blocks keyed by block index, so the first draws do not
    depend on how many are asked for, and every table and map of a run sees the same draws."""
    n = 3 * RNG_BLOCK + 17  # not a multiple of the RNG block
    full = parameter_draws(NORMAL, n, 123)
    assert full.shape == (n, 3)
    for m in (2, 100, RNG_BLOCK, RNG_BLOCK + 1, 2 * RNG_BLOCK + 1, n):
        np.testing.assert_array_equal(parameter_draws(NORMAL, m, 123), full[:m])
    # Names do not change the draws (list or dict of the same specs, in order).
    named = parameter_draws({f"p{i}": s for i, s in enumerate(NORMAL)}, n, 123)
    np.testing.assert_array_equal(named, full)
    # Another seed, another stream; and each block is a fresh stream, not a repeat of block 0.
    assert (parameter_draws(NORMAL, n, 124) != full).all()
    assert (full[:RNG_BLOCK] != full[RNG_BLOCK:2 * RNG_BLOCK]).all()


def test_linear_monte_carlo_same_for_any_row_batch():
    """Rows are processed in memory batches of ``batch_rows``: a runtime knob with no effect on
    the results, which are each row's mean, sd (ddof=1) and np.percentile 2.5 / 97.5."""
    coeffs = np.random.default_rng(0).normal(size=(37, 3))  # coefficients of both signs
    draws = parameter_draws(NORMAL, 3 * RNG_BLOCK + 17, 123)
    runs = [linear_monte_carlo(coeffs, draws, batch_rows=b) for b in (1, 5, 512)]
    for run in runs[1:]:
        for key in runs[0]:
            np.testing.assert_allclose(run[key], runs[0][key], rtol=1e-12, atol=0)
    values = coeffs @ draws.T
    np.testing.assert_allclose(runs[0]["mean"], values.mean(axis=1), rtol=1e-10)
    np.testing.assert_allclose(runs[0]["sd"], values.std(axis=1, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(np.stack([runs[0]["p2_5"], runs[0]["p97_5"]]),
                               np.percentile(values, [2.5, 97.5], axis=1), rtol=1e-10)


def test_shared_parameter_correlates_rows():
    """IPCC 2006 Vol.1 §3.2.3.2 as sinks.propagation applies it: a published value is drawn once
    per iteration and shared by every row that uses it, so rows are fully correlated and
    totals are not falsely precise."""
    # Zone A 100 ha, zone B 50 ha, and A + B, all of one stratum θ ~ N(10, 2) Mg C/ha.
    spec = [{"dist": "normal", "mean": 10.0, "sd": 2.0}]
    n = 20_000
    coeffs = np.array([[100.0], [50.0], [150.0]])
    corr = linear_monte_carlo(coeffs, parameter_draws(spec, n, 3))
    # Shared draw: sd(A + B) = sd(A) + sd(B) exactly (200 + 100 = 300 Mg C), not hypot = 223.6.
    assert corr["sd"][2] == pytest.approx(corr["sd"][0] + corr["sd"][1], rel=1e-12)
    np.testing.assert_allclose(linear_approach1_sd(coeffs, [2.0]), [200.0, 100.0, 300.0])
    assert corr["sd"][0] == pytest.approx(200.0, rel=0.03)
    # Two independent parameters instead (one per zone): sd(A + B) = hypot(200, 100) = 223.6.
    np.testing.assert_allclose(linear_approach1_sd([[100.0, 0.0], [0.0, 50.0], [100.0, 50.0]],
                                                   [2.0, 2.0]), [200.0, 100.0, np.hypot(200, 100)])
    # N = 100 pixels of 1 ha: shared θ gives sd(total) = N σ = 200 Mg C; one independent θ per
    # pixel gives sqrt(N) σ = 20 Mg C. Ratio sqrt(N) = 10; both have mean 100 × 10 = 1000 Mg C.
    ind = linear_monte_carlo(np.ones((1, 100)), parameter_draws(spec * 100, n, 3))
    assert linear_approach1_sd(np.ones((1, 100)), np.full(100, 2.0))[0] == pytest.approx(20.0)
    assert ind["sd"][0] == pytest.approx(20.0, rel=0.03)
    assert corr["sd"][0] / ind["sd"][0] == pytest.approx(10.0, rel=0.05)
    width = lambda r: r["p97_5"][0] - r["p2_5"][0]  # noqa: E731
    assert width(corr) / width(ind) == pytest.approx(10.0, rel=0.05)
    assert corr["mean"][0] == pytest.approx(1000.0, abs=4 * 200 / np.sqrt(n))
    assert ind["mean"][0] == pytest.approx(1000.0, abs=4 * 20 / np.sqrt(n))


def test_convergence_reported():
    # The check: largest shift of a 95 % bound between the first half of the draws and all of
    # them, as a fraction of the interval width (0 for a zero-width interval).
    draws = parameter_draws(NORMAL, 20, 0)
    coeffs = np.vstack([AREAS, np.zeros(3)])
    mc = linear_monte_carlo(coeffs, draws)
    values = AREAS @ draws.T
    lo, hi = np.percentile(values, [2.5, 97.5], axis=1)
    lo_h, hi_h = np.percentile(values[:, :10], [2.5, 97.5], axis=1)
    expected = np.maximum(np.abs(lo_h - lo), np.abs(hi_h - hi)) / (hi - lo)
    np.testing.assert_allclose(mc["rel_change"][:3], expected, rtol=1e-12)
    assert (mc["rel_change"][:3] > 0).all() and mc["rel_change"][3] == 0.0
    # The engine reports it, and 20 draws are not stable to 5 % of the width.
    params = class_parameters(independent_model({(f"p{i}", "agb"): s for i, s in enumerate(NORMAL)}),
                              [], None)
    cols, conv = table_uncertainty(AREAS @ MEANS, AREAS, params, _settings(20, 20))
    assert conv["n_half"] == 10 and not conv["converged"] and conv["n_unconverged"] == 3
    assert conv["max_interval_shift"] == pytest.approx(expected.max())
    assert isinstance(cols, pd.DataFrame) and len(cols) == 3


def _settings(n_draws, max_draws, seed=0, tolerance=0.05):
    return {"approaches": ["approach1", "monte_carlo"], "n_draws": n_draws,
            "max_draws": max_draws, "tolerance": tolerance, "seed": seed}


def _normal_params():
    return class_parameters(independent_model({(f"p{i}", "agb"): s for i, s in enumerate(NORMAL)}), [], None)


def test_monte_carlo_grows_until_stable():
    """Too few draws to start with: they double (20, 40, 80, ...) until no 95 % bound of any
    row moves by more than 5 % of its width between n/2 and n draws; the rows say so."""
    cols, conv = table_uncertainty(AREAS @ MEANS, AREAS, _normal_params(), _settings(20, 100_000))
    # By hand: the first n of 20 × 2^k at which every row's check passes.
    n = 20
    while (linear_monte_carlo(AREAS, parameter_draws(NORMAL, n, 0))["rel_change"] > 0.05).any():
        n *= 2
    assert n > 20 and conv["n_draws"] == n and conv["converged"]
    assert conv["max_interval_shift"] <= 0.05
    assert cols["mc_converged"].all() and (cols["mc_draws"] == n).all()
    assert cols["uncertainty_approach"].iloc[0] == f"IPCC Approach 2 (Monte Carlo, {n} draws, seed 0)"
    # Its intervals are those of n draws (the same first draws whatever was asked for).
    mc = linear_monte_carlo(AREAS, parameter_draws(NORMAL, n, 0))
    np.testing.assert_array_equal(cols["ci_low"], mc["p2_5"])
    np.testing.assert_array_equal(cols["ci_high"], mc["p97_5"])


def test_monte_carlo_cap_flags_unstable_rows(caplog):
    """A cap too low: the draws stop at max_draws (the last step capped: 20, 40, 50) and the
    rows not stable there are flagged, with a warning naming how many."""
    caplog.set_level("WARNING")
    df = pd.DataFrame({"quantity": ["stock"] * 3, "value": AREAS @ MEANS})
    cfg = {"uncertainty": {**_settings(20, 50), "enabled": True}}
    out, _ = density_uncertainty(cfg, df, list(AREAS), _normal_params())
    check = linear_monte_carlo(AREAS, parameter_draws(NORMAL, 50, 0))["rel_change"] > 0.05
    assert check.sum() >= 1  # by hand: 50 draws are not enough for these rows
    assert (out["mc_draws"] == 50).all()
    np.testing.assert_array_equal(out["mc_converged"].astype(bool), ~check)
    assert f"{check.sum()} of 3 rows not stable to 5 % of their interval width at the cap " \
           "uncertainty.max_draws = 50" in caplog.text


def test_monte_carlo_second_seed_within_tolerance():
    """Another seed moves the converged bounds by less than 5 % of the interval's width. The
    shift between n/2 and n draws estimates the sd of a bound at n draws, and two independent
    runs differ by √2 times that sd; so for a 5 % agreement between seeds (2 sd) the check runs
    at 5 % / (2√2) = 1.77 %. The check is one noisy realisation, so a run can stop early: over
    30 seed pairs most, not all, agree within 5 % (measured: 26 of 30; at a check of 5 % itself
    only 10 of 30 would)."""
    tol = 0.05 / (2 * np.sqrt(2))
    worst = []
    for s0 in range(0, 60, 2):
        runs = [table_uncertainty(AREAS @ MEANS, AREAS, _normal_params(),
                                  _settings(200, 1_000_000, seed=seed, tolerance=tol))[0]
                for seed in (s0, s0 + 1)]
        assert all(r["mc_converged"].all() for r in runs)
        width = runs[0]["ci_high"] - runs[0]["ci_low"]
        worst.append(max(((runs[1][b] - runs[0][b]).abs() / width).max() for b in ("ci_low", "ci_high")))
    assert np.median(worst) < 0.05 / 1.5 and np.mean(np.array(worst) <= 0.05) >= 0.8


def test_monte_carlo_same_seed_same_result_whatever_the_batch_path():
    """Starting from 20 draws and growing, or asking for the final count at once, gives
    identical intervals; registry rows likewise, batched or one by one, and each draw's rates
    are evaluated once however many times the draws grow."""
    grown, conv = table_uncertainty(AREAS @ MEANS, AREAS, _normal_params(), _settings(20, 100_000))
    n = conv["n_draws"]
    direct, conv2 = table_uncertainty(AREAS @ MEANS, AREAS, _normal_params(), _settings(n, n))
    assert conv2["n_draws"] == n
    pd.testing.assert_frame_equal(grown, direct)
    # Registry rows: G_W (1 + R) CF of a plantation, 10 and 30 ha (t C/yr); rates broadcast
    # over a leading draw axis when batched.
    reg = load_registry()
    ids = ("gw_plantation_subtropical_humid", "root_shoot_plantation", "carbon_fraction")
    evaluated = []

    def rates_of(r):
        rate = np.asarray(value(r, ids[0])) * (1 + np.asarray(value(r, ids[1]))) * value(r, ids[2])
        evaluated.append(rate.size)
        return {"rates": rate[..., None]}

    def registry_rows(n0, batched):
        cfg = {"uncertainty": {**_settings(n0, 100_000, seed=3, tolerance=0.02), "enabled": True,
                               "approaches": ["monte_carlo"]}}
        df = pd.DataFrame({"value": [10.0 * 8 * 1.224 * 0.47, 30.0 * 8 * 1.224 * 0.47]})
        evaluated.clear()
        registry_uncertainty(cfg, reg, df, {"rates": (np.arange(2), np.array([[10.0], [30.0]]))},
                             rates_of, "areas fixed", batched=batched)
        assert sum(evaluated) == df["mc_draws"].iloc[0]  # every draw evaluated once
        return df

    grown = registry_rows(20, True)
    n = int(grown["mc_draws"].iloc[0])
    assert n > 20 and grown["mc_converged"].all()
    pd.testing.assert_frame_equal(grown, registry_rows(20, False))
    pd.testing.assert_frame_equal(grown, registry_rows(n, True))


def test_map_rows_monte_carlo_grows_the_same_draws():
    """Biomass-map rows: mapped part, pixel error, shared model and factor errors and the
    density part, all drawn in RNG blocks, so growing from 20 draws or asking for the final
    count at once gives identical rows; the sd is Approach 1's √(Σ sd²) within sampling error."""
    # Row 1: 100 + 0.1 θ_1 (θ_1 ~ N(100, 10): sd 1), errors 3, 4, 5: sd √(1 + 9 + 16 + 25) = 7.14.
    args = (np.array([100.0, 50.0]), np.array([10.0, 5.0]), np.array([3.0, 2.0]),
            np.array([4.0, 2.0]), np.array([5.0, 2.5]), np.array([[0.1, 0, 0], [0, 0.1, 0]]),
            _normal_params(), (2019, 0))
    run = lambda n0, cap: map_rows_uncertainty({"uncertainty": {**_settings(n0, cap), "enabled": True}}, *args)  # noqa: E731
    sd, lo, hi, how, cols = run(20, 100_000)
    n = int(cols["mc_draws"][0])
    assert n > 20 and cols["mc_converged"].all() and how == f"IPCC Approach 2 (Monte Carlo, {n} draws)"
    again = run(n, n)
    for a, b in zip((sd, lo, hi), again[:3]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(sd, [np.sqrt(1 + 9 + 16 + 25), np.sqrt(0.25 + 4 + 4 + 6.25)], rtol=0.1)


@pytest.mark.parametrize("params, message", [
    ([{"dist": "gamma", "mean": 1, "sd": 1}], "unknown distribution"),
    ([{"dist": "normal", "mean": 1}], "needs key 'sd'"),
    ([{"dist": "normal", "mean": 1, "sd": -1}], r"sd = -1.0: must be ≥ 0"),
    ([{"dist": "lognormal", "mean": 0, "sd": 1}], "lognormal needs mean > 0"),
    ([{"dist": "triangular", "low": 0, "mode": 5, "high": 4}], "low ≤ mode ≤ high"),
    ([{"dist": "uniform", "low": "a", "high": 1}], "must be a number"),
    ([{"dist": "truncnorm", "mean": 1, "sd": 1, "low": 2, "high": 1}], "must be ≤ high"),
    ([{"dist": "truncnorm", "mean": 1, "sd": 1, "low": 0, "high": 2}], "one finite bound"),
    ([{"dist": "truncnorm", "mean": 0, "sd": 1, "low": 0, "high": None}], "strictly inside"),
    ({"forest": {"mean": 1}}, "forest: uncertainty distribution"),
])
def test_invalid_parameters(params, message):
    with pytest.raises(ConfigError, match=message):
        parameter_draws(params, 10, 0)


@pytest.mark.parametrize("n_draws", [0, 1, 2.5])
def test_invalid_n_draws(n_draws):
    with pytest.raises(ConfigError, match=f"n_draws = {n_draws}: must be an integer ≥ 2"):
        parameter_draws(NORMAL, n_draws, 0)


def test_variance_shares_hand_computed():
    """Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, §1.2.5: for a model linear
    in independent parameters the first-order Sobol index is c_j² sd_j² / Σ_i c_i² sd_i²."""
    shares = variance_shares(np.vstack([AREAS[:1], np.zeros(3)]), SDS)
    # zone 1: terms (100 × 10)^2 = 10^6 and (50 × 5)^2 = 62,500 -> 16/17, 1/17, 0.
    np.testing.assert_allclose(shares, [[16 / 17, 1 / 17, 0.0], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("n", [2, 3, 7, 1000, 2001])
def test_interval95_equals_numpy_percentile(n):
    # The partial-sort percentiles must be np.percentile's (linear interpolation), whatever n.
    v = np.random.default_rng(n).normal(size=(6, n))
    lo, hi = interval95(v)
    np.testing.assert_allclose(np.stack([lo, hi]), np.percentile(v, [2.5, 97.5], axis=1), rtol=1e-12)

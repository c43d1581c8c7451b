"""IPCC Approach 1 (Eqs. 3.1, 3.2) against hand-computed numbers, and the seeded Monte Carlo of
zone totals: agreement with Approach 1, determinism under any batch size, and the analytic
contrast between correlated (per-stratum) and independent (per-pixel) draws."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from sinks.errors import ConfigError, InputDataError
from sinks.uncertainty import (RNG_BLOCK, Approach1Warning, approach1_linear_totals,
                               combine_product, combine_sum, draw_parameter, ipcc_percent_to_sd,
                               monte_carlo_zone_totals)


def test_eq_3_1_product_hand_computed():
    # Eq. 3.1: U = sqrt(30^2 + 40^2) = sqrt(900 + 1600) = sqrt(2500) = 50 %.
    assert combine_product([30.0, 40.0]) == pytest.approx(50.0)
    # sqrt(10^2 + 20^2 + 20^2) = sqrt(100 + 400 + 400) = sqrt(900) = 30 %.
    assert combine_product([10, 20, 20]) == pytest.approx(30.0)
    assert combine_product([7.5]) == pytest.approx(7.5)


def test_eq_3_2_sum_hand_computed():
    # Eq. 3.2: x = 100, 300 with U = 30 %, 10 %:
    # sqrt((30*100)^2 + (10*300)^2) / |100 + 300| = sqrt(9e6 + 9e6) / 400 = 4242.64 / 400
    # = 10.6066 %.
    assert combine_sum([100.0, 300.0], [30.0, 10.0]) == pytest.approx(np.sqrt(18e6) / 400)
    assert combine_sum([100.0, 300.0], [30.0, 10.0]) == pytest.approx(10.6066, abs=1e-4)
    # A difference (gain 100, loss -60, both ±10 %): sqrt(1000^2 + 600^2) / 40 = 1166.19 / 40
    # = 29.155 %.
    assert combine_sum([100.0, -60.0], [10.0, 10.0]) == pytest.approx(29.1548, abs=1e-4)
    with pytest.raises(InputDataError, match="2 values but 1 uncertainties"):
        combine_sum([1.0, 2.0], [5.0])
    with pytest.raises(InputDataError, match="≥ 0"):
        combine_product([-5.0])


def test_approach1_warns_above_100_percent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        combine_product([60.0, 70.0])  # 92 %: no warning
    with pytest.warns(Approach1Warning, match="Monte Carlo"):
        combine_product([120.0])
    with pytest.warns(Approach1Warning):  # small net of large terms: hypot(1000, 960)/4 = 347 %
        assert combine_sum([100.0, -96.0], [10.0, 10.0]) == pytest.approx(
            np.hypot(1000, 960) / 4)


def test_ipcc_percent_to_sd():
    # "50 ± 19.6 %" as a 95 % CI: half-width 9.8 = 1.96 sd -> sd = 5.0.
    assert ipcc_percent_to_sd(50.0, 19.6) == pytest.approx(5.0)
    np.testing.assert_allclose(ipcc_percent_to_sd(np.array([-10.0, 20.0]), 9.8), [0.5, 1.0])


AREAS = np.array([[100.0, 50.0, 0.0],    # zone 1 (ha of strata 1-3)
                  [20.0, 200.0, 30.0],   # zone 2
                  [0.0, 10.0, 400.0]])   # zone 3
NORMAL = [{"dist": "normal", "mean": 100.0, "sd": 10.0},
          {"dist": "normal", "mean": 50.0, "sd": 5.0},
          {"dist": "normal", "mean": 20.0, "sd": 4.0}]


def test_monte_carlo_converges_to_approach1():
    n = 20_000
    mc = monte_carlo_zone_totals(AREAS, NORMAL, n_draws=n, seed=42)
    a1 = approach1_linear_totals(AREAS, [100, 50, 20], [10, 5, 4])
    # zone 1: total 100*100 + 50*50 = 12,500 Mg; sd = sqrt((100*10)^2 + (50*5)^2) = 1030.78.
    assert a1["total"][0] == pytest.approx(12_500.0)
    assert a1["sd"][0] == pytest.approx(np.hypot(1000, 250))
    # Within sampling error: se(mean) = sd/sqrt(n); se(sd) ≈ sd/sqrt(2n) (0.5 % at n = 20,000).
    assert np.all(np.abs(mc.mean - a1["total"]) < 4 * a1["sd"] / np.sqrt(n))
    np.testing.assert_allclose(mc.sd, a1["sd"], rtol=0.03)
    # The Approach 1 95 % interval (± 1.96 sd) matches the Monte Carlo percentiles.
    np.testing.assert_allclose(mc.p2_5, a1["ci_low"], rtol=0.02)
    np.testing.assert_allclose(mc.p97_5, a1["ci_high"], rtol=0.02)
    # The same through Eq. 3.2 with IPCC percentages: U_s = 100 * 1.96 sd_s / mean_s.
    u = combine_sum(AREAS[0, :2] * [100, 50], [19.6, 19.6])
    assert u == pytest.approx(a1["uncertainty_percent"][0])
    assert mc.convergence.converged and mc.convergence.n_half == n // 2
    table = mc.to_frame(["z1", "z2", "z3"])
    assert list(table.columns) == ["mean", "sd", "ci_low", "ci_high", "uncertainty_percent"]
    assert table.attrs["correlation"] == "stratum" and table.attrs["n_draws"] == n


def test_monte_carlo_other_distributions_match_approach1_sd():
    # sd of a linear combination of independent parameters is exact for any distribution:
    # uniform(0, 12): sd = 12/sqrt(12) = 3.4641; triangular(0, 3, 6): sd = sqrt(27/18) = 1.2247;
    # lognormal mean 10 sd 2 (sd of the quantity itself).
    params = {"forest": {"dist": "uniform", "low": 0.0, "high": 12.0},
              "shrub": {"dist": "triangular", "low": 0.0, "mode": 3.0, "high": 6.0},
              "crop": {"dist": "lognormal", "mean": 10.0, "sd": 2.0}}
    mc = monte_carlo_zone_totals(AREAS, params, n_draws=20_000, seed=7)
    a1 = approach1_linear_totals(AREAS, [6.0, 3.0, 10.0], [np.sqrt(12.0), np.sqrt(1.5), 2.0])
    np.testing.assert_allclose(mc.sd, a1["sd"], rtol=0.03)
    np.testing.assert_allclose(mc.mean, a1["total"], rtol=0.01)


def test_draw_parameter_distributions():
    rng = np.random.default_rng(np.random.SeedSequence(1))
    x = draw_parameter({"dist": "truncnorm", "mean": 1.0, "sd": 2.0, "low": 0.0, "high": None},
                       50_000, rng)
    assert x.min() >= 0.0  # truncated at 0, unbounded above
    ln = draw_parameter({"dist": "lognormal", "mean": 10.0, "sd": 3.0}, 50_000, rng)
    assert ln.mean() == pytest.approx(10.0, rel=0.01) and ln.std() == pytest.approx(3.0, rel=0.03)
    assert (draw_parameter({"dist": "constant", "value": 4.2}, 3, rng) == 4.2).all()


@pytest.mark.parametrize("independent", [None, 0.09])
def test_same_seed_identical_for_any_batch_size(independent):
    n = 3 * RNG_BLOCK + 17  # not a multiple of the RNG block
    runs = [monte_carlo_zone_totals(AREAS, NORMAL, n_draws=n, seed=123, batch_size=b,
                                    independent_unit_ha=independent)
            for b in (1, RNG_BLOCK, 2 * RNG_BLOCK + 1, 10**6)]
    for run in runs[1:]:
        np.testing.assert_array_equal(run.draws, runs[0].draws)
        np.testing.assert_array_equal(run.p97_5, runs[0].p97_5)
    other = monte_carlo_zone_totals(AREAS, NORMAL, n_draws=n, seed=124,
                                    independent_unit_ha=independent)
    assert not np.array_equal(other.draws, runs[0].draws)
    # The first draws do not depend on how many are asked for (blocks keyed by index).
    short = monte_carlo_zone_totals(AREAS, NORMAL, n_draws=100, seed=123,
                                    independent_unit_ha=independent)
    np.testing.assert_array_equal(short.draws, runs[0].draws[:100])


def test_correlated_vs_independent_analytic_factor():
    # One zone of N = 100 identical 1-ha pixels of one stratum, theta ~ N(10, 2) Mg C/ha.
    # Correlated (one draw shared by all pixels): sd(total) = N * sigma = 100 * 2 = 200 Mg C.
    # Independent (one draw per pixel):     sd(total) = sqrt(N) * sigma = 10 * 2 = 20 Mg C.
    # Ratio sqrt(N) = 10; both have mean 100 * 10 = 1000 Mg C.
    areas = np.array([[100.0]])
    spec = [{"dist": "normal", "mean": 10.0, "sd": 2.0}]
    corr = monte_carlo_zone_totals(areas, spec, n_draws=20_000, seed=3)
    ind = monte_carlo_zone_totals(areas, spec, n_draws=20_000, seed=3, independent_unit_ha=1.0)
    assert corr.sd[0] == pytest.approx(200.0, rel=0.03)
    assert ind.sd[0] == pytest.approx(20.0, rel=0.03)
    assert corr.sd[0] / ind.sd[0] == pytest.approx(10.0, rel=0.05)
    width = lambda r: r.p97_5[0] - r.p2_5[0]
    assert width(corr) / width(ind) == pytest.approx(10.0, rel=0.05)
    assert corr.mean[0] == pytest.approx(1000.0, abs=4 * 200 / np.sqrt(20_000))
    assert ind.mean[0] == pytest.approx(1000.0, abs=4 * 20 / np.sqrt(20_000))
    assert ind.correlation == "independent"


def test_convergence_reported_and_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="sinks.uncertainty"):
        mc = monte_carlo_zone_totals(AREAS, NORMAL, n_draws=20, seed=0,
                                     convergence_tolerance=1e-6)
    assert not mc.convergence.converged and mc.convergence.n_half == 10
    assert mc.convergence.rel_change.shape == (3,)
    assert "increase uncertainty.n_draws" in caplog.text


@pytest.mark.parametrize("params, error, message", [
    ([{"dist": "gamma", "mean": 1, "sd": 1}], ConfigError, "unknown distribution"),
    ([{"dist": "normal", "mean": 1}], ConfigError, "needs key 'sd'"),
    ([{"dist": "normal", "mean": 1, "sd": -1}], ConfigError, r"sd = -1.0: must be ≥ 0"),
    ([{"dist": "lognormal", "mean": 0, "sd": 1}], ConfigError, "lognormal needs mean > 0"),
    ([{"dist": "triangular", "low": 0, "mode": 5, "high": 4}], ConfigError,
     "low ≤ mode ≤ high"),
    ([{"dist": "uniform", "low": "a", "high": 1}], ConfigError, "must be a number"),
    ({"forest": {"mean": 1}}, ConfigError, "forest: uncertainty distribution"),
    ([{"dist": "normal", "mean": 1, "sd": 1}], InputDataError, "3 strata in areas_ha but 1"),
])
def test_invalid_parameters(params, error, message):
    with pytest.raises(error, match=message):
        monte_carlo_zone_totals(AREAS, params, n_draws=10)


def test_invalid_run_settings():
    with pytest.raises(ConfigError, match="n_draws = 0"):
        monte_carlo_zone_totals(AREAS, NORMAL, n_draws=0)
    with pytest.raises(InputDataError, match="≥ 0"):
        monte_carlo_zone_totals(-AREAS, NORMAL, n_draws=10)
    with pytest.raises(ConfigError, match="independent_unit_ha"):
        monte_carlo_zone_totals(AREAS, NORMAL, n_draws=10, independent_unit_ha=0)


@pytest.mark.parametrize("n", [2, 3, 7, 1000, 2001])
def test_interval95_equals_numpy_percentile(n):
    # The partial-sort percentiles must be np.percentile's (linear interpolation), whatever n.
    from sinks.uncertainty import interval95
    v = np.random.default_rng(n).normal(size=(6, n))
    lo, hi = interval95(v)
    np.testing.assert_allclose(np.stack([lo, hi]), np.percentile(v, [2.5, 97.5], axis=1), rtol=1e-12)

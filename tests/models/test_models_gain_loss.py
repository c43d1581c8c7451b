"""Gain-loss equations (sinks.models.gain_loss, issue 4) against hand computations and a
published IPCC worked example: biomass gain, SOC and its change, the transition rate tables, the
SOC ramp of a past conversion and the conversion history codes."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import GAIN
from sinks.models.gain_loss import (annual_soc_change, biomass_gain, history_code, next_history,
                                    soc_ramp_rate, soc_stock, transition_rates)


def test_biomass_gain_eq_2_9_2_10():
    assert biomass_gain(8, 0.224, 0.47) == pytest.approx(4.60224)


def test_soc_eq_2_25_ipcc_worked_example():
    # IPCC 2019 Refinement Vol.4 Ch.4 worked example (Ultisol, tropical moist, cropland):
    # SOC = 47 x 0.48 x 1 x 0.92 = 20.7552 t C/ha (SOC_ref LAC 47, F_LU long-term cultivated
    # 0.48, F_MG full tillage 1, F_I low 0.92; quoted in shared/reference/parameters.md).
    assert soc_stock(47, 0.48, 1.0, 0.92) == pytest.approx(20.7552)
    # Its change over the default D = 20 yr from the forest reference 47: (20.7552 - 47) / 20.
    assert annual_soc_change(47, 20.7552, years=5) == pytest.approx(-1.31224)
    # A period longer than D spreads the change over the period instead.
    assert annual_soc_change(47, 20.7552, years=40) == pytest.approx(-26.2448 / 40)


def test_transition_rates_hand_computed():
    # Classes: 0 forest (biomass 40, SOC 55), 1 cropland (5, 37.95), 2 water (0, no soil).
    rates = transition_rates(np.array([True, False, False]), np.array([40.0, 5.0, 0.0]),
                             np.array([55.0, 37.95, 0.0]), np.array([True, True, False]),
                             gain=GAIN, wood_removals=1.0, years=10)
    net, rem, emi = rates["net"], rates["removals"], rates["emissions"]
    assert net[0, 0] == pytest.approx(GAIN - 1.0)                     # growth - harvest
    assert rem[0, 0] == pytest.approx(GAIN) and emi[0, 0] == pytest.approx(1.0)
    # forest -> cropland: biomass (5 - 40) / 10 yr and soil (37.95 - 55) / 20 yr
    assert net[0, 1] == pytest.approx(-3.5 - 0.8525)
    # cropland -> forest: new stand grows from 0; cropland biomass lost; soil recovers
    assert net[1, 0] == pytest.approx(GAIN - 0.5 + 0.8525)
    assert net[1, 2] == pytest.approx(-0.5)                           # no soil under water
    assert net[1, 1] == 0 and net[2, 2] == 0                          # Tier 1: no change
    np.testing.assert_allclose(net, rem - emi)


def test_soc_ramp_rate_carries_a_conversion_for_d_years():
    # Converted in 2019 at 0.8525 t C/ha/yr for 20 yr (to 2039):
    assert soc_ramp_rate(37.95, 55, 2019, 2025, 2030) == pytest.approx(0.8525)       # 5 of 5 yr
    assert soc_ramp_rate(37.95, 55, 2019, 2035, 2045) == pytest.approx(0.8525 * 4 / 10)  # 2035-2039
    assert soc_ramp_rate(37.95, 55, 2000, 2020, 2025) == 0                            # > 20 yr back
    # At the period start it is Eq. 2.25's (SOC_after - SOC_before) / max(D, years):
    assert soc_ramp_rate(37.95, 55, 2000, 2000, 2040) == pytest.approx(17.05 / 40)


def test_next_history_records_keeps_and_expires():
    k = 4  # classes 1..3
    old = history_code(0, 1, 2, k)  # converted 1 -> 2 at epoch 0
    hist = np.array([0, old, old, old])
    c0 = np.array([1, 2, 2, 0])
    c1 = np.array([3, 2, 1, 2])
    keep = np.ones(3 * k * k, dtype=bool)
    out = next_history(hist, c0, c1, 1, keep, k)
    # new conversion recorded at epoch 1; record kept; replaced by a new one; no data -> 0
    assert out.tolist() == [history_code(1, 1, 3, k), old, history_code(1, 2, 1, k), 0]
    keep[old] = False  # its D years ran out
    assert next_history(hist, c0, c1, 1, keep, k)[1] == 0


def test_net_parts_add_up_by_hand():
    # Classes: none, forest, cropland. Forest remaining forest: growth 4.6 (remaining) and
    # removals -1 (harvest) -> 3.6. Cropland -> forest over 10 yr: a new stand grows 4.6 and the
    # crop's 10 t C/ha is lost over 10 yr (conversion 4.6 - 1.0 = 3.6), soil (55 - 40) / 20 = 0.75.
    r = transition_rates(np.array([False, True, False]), np.array([0.0, 40.0, 10.0]),
                         np.array([0.0, 55.0, 40.0]), np.array([False, True, True]),
                         4.6, 1.0, 10.0, 20.0)
    assert (r["net_remaining"][1, 1], r["net_harvest"][1, 1]) == pytest.approx((4.6, -1.0))
    assert r["net"][1, 1] == pytest.approx(3.6)
    assert (r["net_conversion"][2, 1], r["net_soil"][2, 1]) == pytest.approx((3.6, 0.75))
    assert r["net"][2, 1] == pytest.approx(4.35)
    parts = r["net_remaining"] + r["net_harvest"] + r["net_conversion"] + r["net_soil"]
    np.testing.assert_allclose(parts, r["net"], atol=1e-12)

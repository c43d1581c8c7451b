"""Farmland (issue 4 item 7): perennial woody crops accumulate biomass over their cycle
(IPCC 2006 Vol.4 Ch.5 Table 5.1), identified by a CSV legend class cropland_perennial (the
case: conftest.perennial_case)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import PX_HA, build_tiny, perennial_case, perennial_w_net, run_tiny_stages
from sinks.errors import ConfigError
from sinks.models.gain_loss import perennial_gain, transition_rates

CO2 = 44 / 12
RAMP_P = (55 * 0.72 - 55 * 0.69) / 20  # upland 37.95 -> perennial 39.6 t C/ha over 20 yr = 0.0825


def test_perennial_gain_over_the_cycle():
    assert perennial_gain(2.1, 30, 2000, 2000, 2006) == pytest.approx(2.1)          # growing
    assert perennial_gain(2.1, 30, 2000, 2006, 2031) == pytest.approx(2.1 * 24 / 25)  # to 2030
    assert perennial_gain(2.1, 30, 2000, 2030, 2035) == 0                            # mature
    # A new perennial stand starts at 0 (Eq. 2.16) and grows: cropland (biomass 5) -> perennial
    # over 6 yr: -5/6 + 2.1 per yr; perennial remaining perennial: 0 in the pair table.
    r = transition_rates(np.array([False, False]), np.array([5.0, 31.5]), np.array([37.95, 39.6]),
                         np.array([True, True]), gain=4.6, wood_removals=0, years=6,
                         new_crop_gain=np.array([0.0, 2.1]))
    assert r["net"][0, 1] == pytest.approx(-5 / 6 + 2.1 + RAMP_P)
    assert r["net"][1, 1] == 0


def test_perennial_crop_grows_across_three_epochs(tmp_path, chdir):
    # W zone: 1 px cropland -> perennial in 2000-2006, perennial remaining in 2006-2011.
    # Period 1: 2.1 - 5/6 (annual crop biomass lost) + RAMP_P; period 2: 2.1 + RAMP_P (history).
    root = chdir(build_tiny(tmp_path))
    _, _, df = run_tiny_stages(root, perennial_case(root, [2000, 2006, 2011]))
    assert perennial_w_net(df, 2000) == pytest.approx((2.1 - 5 / 6 + RAMP_P) * PX_HA * CO2, rel=1e-6)
    assert perennial_w_net(df, 2006) == pytest.approx((2.1 + RAMP_P) * PX_HA * CO2, rel=1e-6)


def test_perennial_cycle_longer_than_d(tmp_path, chdir):
    # 2006-2031 (25 yr) after planting in 2000: growth to 2030 (24 yr), soil to 2020 (14 yr).
    root = chdir(build_tiny(tmp_path))
    _, _, df = run_tiny_stages(root, perennial_case(root, [2000, 2006, 2031]))
    assert perennial_w_net(df, 2006) == pytest.approx((2.1 * 24 + RAMP_P * 14) / 25 * PX_HA * CO2, rel=1e-6)


def test_perennial_parameters_must_be_confirmed(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    with pytest.raises(ConfigError, match=r"parameters\.perennial_(agb_rate|cycle) = .*UNCONFIRMED"):
        run_tiny_stages(root, perennial_case(root, [2000, 2006, 2011], confirm=False))

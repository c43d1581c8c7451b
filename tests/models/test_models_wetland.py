"""Wetlands, the lake and CH4 (sinks.models.wetland, issue 4 item 6): CH4 as CO2 equivalents and
the lake rule by hand, and the lake rule on numpy and on dask."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import assert_backends_agree
from sinks.models.wetland import ch4_co2e, is_lake


def test_ch4_co2e_and_lake_rule_hand_computed():
    assert ch4_co2e(235, 0.5, 27.0) == pytest.approx(-3.1725)
    assert ch4_co2e(80.3, 1.0, 28) == pytest.approx(-2.2484)  # 80.3 x 28 / 1000
    wet = np.array([True, True, True, False])
    f = np.array([0.8, 0.5, np.nan, 0.9])
    assert is_lake(wet, f, 0.75).tolist() == [True, False, False, False]


def test_lake_rule_is_lazy_and_equal_on_dask_and_numpy():
    wet = np.array([[True, True], [True, False]])
    f = np.array([[0.9, np.nan], [0.5, 0.95]])
    # 1-px chunks: the dask result stays lazy and equals the numpy-backed one ...
    eager, _ = assert_backends_agree(lambda w, x: is_lake(w, x, 0.75), wet, f, chunks=1)
    # ... which equals the rule on plain arrays.
    np.testing.assert_array_equal(eager.values, is_lake(wet, f, 0.75))

"""Sink potential growth curve (sinks.models.potential): Chapman-Richards by hand."""

from __future__ import annotations

import pytest


def test_chapman_richards_potential_hand_computed():
    from sinks.models.potential import annual_removal, chapman_richards
    # B(10) = 160 (1 - e^-0.8)^2.5 = 160 x 0.550671^2.5 = 160 x 0.225025 = 36.0040 t d.m./ha
    assert chapman_richards(10, 160, 0.08, 2.5) == pytest.approx(36.00398, rel=1e-6)
    # B(11) = 160 x 0.585217^2.5 = 41.9192; increment 5.91517 t d.m./ha/yr
    # x (1 + 0.224) x 0.47 x 44/12 = 12.4772 t CO2/ha/yr
    assert annual_removal(10, 160, 0.08, 2.5, 0.224, 0.47) == pytest.approx(12.47722, rel=1e-5)
    assert chapman_richards(500, 160, 0.08, 2.5) == pytest.approx(160)  # saturation

"""Gain-loss zone rows (sinks.methods.gain_loss.rows) on the tiny case: Approach 1 alone."""

from __future__ import annotations

import pytest

from conftest import GAIN, PX_HA, build_tiny, run_tiny_stages


def test_gain_loss_rows_approach1_first_order(tmp_path, chdir):
    # Approach 1 alone: first-order propagation (IPCC 2006 Vol.1 Eq. 3.1 for the product
    # G_W (1 + R) CF): relative sds 3.6/8 = 0.45, 0.1008/1.224 = 0.082353, 0.012755/0.47 =
    # 0.027139 -> sqrt(0.2025 + 0.0067820 + 0.00073652) = 0.458279 of zone W's 4 x G growth term
    # (its other term, the shrub biomass lost, uses the fixed densities).
    root = chdir(build_tiny(tmp_path))
    _, _, df = run_tiny_stages(root, lambda c: (
        c["carbon"].update(method=["stock_difference", "gain_loss"]),
        c.update(uncertainty={"approaches": ["approach1"]})))
    row = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.zone_name == "W")
             & (df.quantity == "net_sink")].iloc[0]
    assert row.sd == pytest.approx(0.458279 * 4 * GAIN * PX_HA * 44 / 12, rel=1e-4)
    assert row.ci_high - row.value == pytest.approx(1.96 * row.sd)
    assert row.uncertainty_approach.startswith("IPCC Approach 1")

"""Gain-loss maps (sinks.methods.gain_loss.maps) on the tiny case: the net map, its per-pixel
uncertainty maps, and their reconciliation with the zone rows and the method comparison."""

from __future__ import annotations

import pandas as pd
import pytest
import rasterio

from conftest import GAIN, PX_HA, build_tiny, check_cog, run_tiny_stages
from sinks.methods.gain_loss.maps import compute_gain_loss, map_gain_loss_uncertainty
from sinks.run import Run


def test_gain_loss_tables_maps_and_reconciliation_on_tiny_case(tmp_path, chdir):
    # W zone, 2000 -> 2020 (20 yr): 3 px forest -> forest, 1 px shrub -> forest, 1 px shrub
    # remaining, 1 px settlement remaining. Gain on the 4 forest px; the shrub -> forest px
    # loses its shrub biomass (InVEST table: 2 + 5 + 0 = 7 Mg C/ha) over 20 yr; soils: shrub and
    # forest both LAC reference x 1, no change. Net = (4 x 4.60224 - 7/20) px-ha x 44/12 per yr.

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, lambda c: c["carbon"].update(method=["stock_difference", "gain_loss"]))
    compute_gain_loss(Run(cfg, paths), 2000, 2020)
    gl = df[(df.method == "gain_loss") & (df.ecosystem == "all")].set_index(["zone_name", "quantity"])["value"]
    expected = (4 * GAIN - 7 / 20) * PX_HA * 44 / 12
    assert gl[("W", "net_sink")] == pytest.approx(expected, rel=1e-6)
    assert gl[("W", "gross_removals")] - gl[("W", "gross_emissions")] == pytest.approx(expected, rel=1e-6)
    # Monte Carlo of the registry parameters: G = G_W (1 + R) CF with relative sds 3.6/8 (G_W,
    # +/-90 % as 2 SD), 0.1008/1.224 (1 + R) and 0.01276/0.47 (CF): sqrt(0.2025 + 0.0068 +
    # 0.0007) = 0.458 of the 4 x G growth term (the truncation of G_W at 0 is negligible here).
    row = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.zone_name == "W")
             & (df.quantity == "net_sink")].iloc[0]
    assert row.sd == pytest.approx(0.458 * 4 * GAIN * PX_HA * 44 / 12, rel=0.1)
    assert row.uncertainty_approach.startswith("IPCC Approach 2")
    out = tmp_path / "data/processed/my_county/outputs"
    with rasterio.open(out / "gain_loss_net_2000_2020.tif") as src:
        net = src.read(1)
    assert net[0, 0] == pytest.approx(GAIN * 44 / 12, rel=1e-6)          # forest remaining forest
    # Per-pixel uncertainty maps from the same registry draws: a forest-remaining-forest pixel's
    # sd is 0.458 of its rate (as the row above); a settlement pixel that stays has rate 0, sd 0.
    written = map_gain_loss_uncertainty(Run(cfg, paths), 2000, 2020)
    with rasterio.open(out / "gain_loss_net_2000_2020_sd.tif") as src:
        sd = src.read(1)
    assert sd[0, 0] == pytest.approx(0.458 * GAIN * 44 / 12, rel=0.1)
    assert sd[2, 0] == 0
    with rasterio.open(out / "gain_loss_net_2000_2020_p2_5.tif") as lo, \
            rasterio.open(out / "gain_loss_net_2000_2020_p97_5.tif") as hi:
        assert lo.read(1)[0, 0] < net[0, 0] < hi.read(1)[0, 0]
    check_cog(written[0], "gain_loss_net_sd")
    comp = pd.read_csv(out / "method_comparison.csv").set_index("zone_name")
    w = comp.loc["W"]
    assert w["difference"] == pytest.approx(w["gain_loss"] - w["land_use_change"])
    assert w["gain_loss"] == pytest.approx(expected, rel=1e-6)
    # Where the methods part: gain-loss grows the 3 px of forest remaining forest (the
    # look-up cannot: its remaining part is 0), and on the shrub -> forest px grows a new stand
    # and loses the shrub's 7 Mg C/ha over 20 yr; no soil change (both LAC x 1).
    to_co2 = PX_HA * 44 / 12
    assert w["gain_loss_net_sink_remaining"] == pytest.approx(3 * GAIN * to_co2, rel=1e-6)
    assert w["gain_loss_net_sink_conversion"] == pytest.approx((GAIN - 7 / 20) * to_co2, rel=1e-6)
    assert w["gain_loss_net_sink_soil"] == 0 and w["gain_loss_net_sink_harvest"] == 0  # no removals set
    assert w["land_use_change_net_sink_remaining"] == 0
    assert w["difference_net_sink_remaining"] == pytest.approx(3 * GAIN * to_co2, rel=1e-6)
    for m in ("gain_loss", "land_use_change"):
        assert sum(w[f"{m}_net_sink_{p}"] for p in ("remaining", "harvest", "conversion", "soil")) == pytest.approx(w[m])

"""Sink potential (sinks.methods.potential) on the tiny case: the zone rows of the three
scenarios with their Monte Carlo interval, and the potential maps."""

from __future__ import annotations

import pytest
import rasterio

from conftest import PX_HA, build_tiny, check_cog, run_tiny_stages
from sinks.methods.potential.maps import map_potential
from sinks.run import Run


def test_potential_rows_on_tiny_case(tmp_path, chdir):
    # Last epoch 2020: zone W has 4 forest px and 1 shrub px. Target 2030, age 15 at 2020:
    # business as usual = 4 px x annual_removal(25); afforestation adds 1 shrub px x
    # annual_removal(9) (planted in 2020, its 10th year of growth in 2030).
    from sinks.models.potential import annual_removal

    def edit(c):
        c["potential"] = {"enabled": True, "target_years": [2030], "current_age": 15}
        c["parameters"] = {"cr_bmax_plantation": {"value": 160, "sd": 16}, "cr_k_plantation": 0.08,
                           "cr_p_plantation": 2.5}

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, edit)
    pot = df[(df.quantity == "sink_potential") & (df.zone_name == "W") & (df.ecosystem == "all")]
    pot = pot.set_index("method")["value"]
    bau = 4 * PX_HA * annual_removal(25, 160, 0.08, 2.5, 0.224, 0.47)
    assert pot["potential_business_as_usual"] == pytest.approx(bau, rel=1e-9)
    assert pot["potential_protection"] == pytest.approx(bau, rel=1e-9)  # no removals set
    assert pot["potential_afforestation"] == pytest.approx(
        bau + PX_HA * annual_removal(9, 160, 0.08, 2.5, 0.224, 0.47), rel=1e-9)
    # Monte Carlo interval: the rate is B_max x f(k, p, age) x (1 + R) x CF x 44/12, a product of
    # independent factors with relative sds 16/160 (B_max, given), 0.1008/1.224 (1 + R: +/-90 %
    # as 2 SD of 0.224) and 0.012755/0.47 (CF: 95 % range 0.44-0.49 / 3.92), so its relative sd is
    # sqrt(1.01 x 1.006782 x 1.000737 - 1) = 0.1326 (Monte Carlo sampling error ~2 % at 2000 draws).
    row = df[(df.method == "potential_business_as_usual") & (df.zone_name == "W")
             & (df.ecosystem == "all")].iloc[0]
    assert row.sd == pytest.approx(0.1326 * bau, rel=0.05)
    assert row.ci_low < bau < row.ci_high
    assert row.uncertainty_approach.startswith("IPCC Approach 2")
    # Maps: a forest pixel holds the per-hectare rate, a shrub pixel the planted rate.
    maps = map_potential(Run(cfg, paths))
    assert len(maps) == 3  # three scenarios x one target year
    out = tmp_path / "data/processed/my_county/outputs"
    with rasterio.open(out / "sink_potential_afforestation_2030.tif") as src:
        m = src.read(1)
    assert m[0, 0] == pytest.approx(annual_removal(25, 160, 0.08, 2.5, 0.224, 0.47), rel=1e-6)
    assert m[2, 1] == pytest.approx(annual_removal(9, 160, 0.08, 2.5, 0.224, 0.47), rel=1e-6)
    check_cog(maps[0], "sink_potential")

"""Farmland (issue 4 item 7): perennial woody crops accumulate biomass over their cycle
(IPCC 2006 Vol.4 Ch.5 Table 5.1), identified by a CSV legend class cropland_perennial."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import build_tiny, make_raster, run_tiny_stages
from sinks.errors import ConfigError
from sinks.models.gain_loss import perennial_gain, transition_rates
from test_workflow import PX_HA

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


LC = {2000: [[1, 2, 2, 2], [1, 3, 2, 5], [8, 3, 1, 5]],
      2006: [[4, 2, 2, 2], [1, 3, 2, 5], [8, 3, 1, 5]]}


def _perennial(root, epochs, confirm=True):
    for year, lc in zip(epochs, [LC[2000], LC[2006], LC[2006]]):
        make_raster(root / f"lc_{year}.tif", np.array(lc, dtype="uint8"), nodata=0)
    pd.DataFrame({"code": [1, 2, 3, 4, 5, 8],
                  "ecosystem": ["cropland_upland", "forest", "shrub", "cropland_perennial",
                                "water", "settlement"]}).to_csv(root / "legend.csv", index=False)
    (root / "carbon_pools.csv").write_text((root / "carbon_pools.csv").read_text() + "4,31.5,0,39.6,0\n")

    def edit(c):
        c["landcover"].update(legend="legend.csv", epochs={y: f"lc_{y}.tif" for y in epochs})
        c["carbon"]["method"] = ["stock_difference", "gain_loss"]
        if confirm:
            c["parameters"] = {"perennial_agb_rate": {"value": 2.1, "source": "test"},
                               "perennial_cycle": {"value": 30, "source": "test"}}
    return edit


def _w_net(df, year_start):
    return df[(df.method == "gain_loss") & (df.ecosystem == "cropland_perennial")
              & (df.quantity == "net_sink") & (df.zone_name == "W")
              & (df.year_start == year_start)]["value"].iloc[0]


def test_perennial_crop_grows_across_three_epochs(tmp_path, chdir):
    # W zone: 1 px cropland -> perennial in 2000-2006, perennial remaining in 2006-2011.
    # Period 1: 2.1 - 5/6 (annual crop biomass lost) + RAMP_P; period 2: 2.1 + RAMP_P (history).
    root = chdir(build_tiny(tmp_path))
    _, _, df = run_tiny_stages(root, _perennial(root, [2000, 2006, 2011]))
    assert _w_net(df, 2000) == pytest.approx((2.1 - 5 / 6 + RAMP_P) * PX_HA * CO2, rel=1e-6)
    assert _w_net(df, 2006) == pytest.approx((2.1 + RAMP_P) * PX_HA * CO2, rel=1e-6)


def test_perennial_cycle_longer_than_d(tmp_path, chdir):
    # 2006-2031 (25 yr) after planting in 2000: growth to 2030 (24 yr), soil to 2020 (14 yr).
    root = chdir(build_tiny(tmp_path))
    _, _, df = run_tiny_stages(root, _perennial(root, [2000, 2006, 2031]))
    assert _w_net(df, 2006) == pytest.approx((2.1 * 24 + RAMP_P * 14) / 25 * PX_HA * CO2, rel=1e-6)


def test_perennial_parameters_must_be_confirmed(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    with pytest.raises(ConfigError, match=r"parameters\.perennial_(agb_rate|cycle) = .*UNCONFIRMED"):
        run_tiny_stages(root, _perennial(root, [2000, 2006, 2011], confirm=False))

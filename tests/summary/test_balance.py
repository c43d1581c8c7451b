"""One carbon balance: the land-use-change component books soils over D and no soil for open
water, and every balance method's net sink is the change of its own stock path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import LC_2000, PX_HA, build_tiny, make_raster, run_tiny_stages
from sinks.summary.tables import BALANCE_METHODS

TO_CO2 = 44 / 12


def _luc_case(root):
    """The tiny case over 10 years (half of D = 20), with the water px of zone E (row 1,
    col 3) turned into wetland, and lucode 9 (wetland: 3 + 4 Mg C/ha, SOC 100) in the table."""
    lc = np.array(LC_2000)
    lc[0, 2] = 2  # cropland -> forest
    lc[1, 2] = 8  # cropland -> settlement
    lc[1, 3] = 9  # water -> wetland
    make_raster(root / "lc_2010.tif", lc, nodata=0)
    (root / "carbon_pools.csv").write_text((root / "carbon_pools.csv").read_text() + "9,3,4,100,0\n")

    def edit(cfg):
        cfg["landcover"]["epochs"] = {2000: "lc_2000.tif", 2010: "lc_2010.tif"}
        cfg["carbon"]["method"] = ["stock_difference", "gain_loss"]
    return run_tiny_stages(root, edit)


def test_land_use_change_books_soil_over_d_and_none_for_open_water(tmp_path, chdir):
    # Zone E, 2000 -> 2010 (Δt 10 < D 20), t C/ha/yr (InVEST table: biomass = above + below
    # + dead, soil apart):
    #   cropland -> forest      biomass (39 - 5)/10 = 3.4,  soil (55 - 40)/20 = 0.75
    #   cropland -> settlement  biomass (0 - 5)/10 = -0.5,  soil (20 - 40)/20 = -1.0
    #   water -> wetland        biomass (7 - 0)/10 = 0.7,   soil 0 (open water: not reported;
    #                           the old immediate look-up booked (100 - 0)/10 = +10)
    root = chdir(build_tiny(tmp_path))
    _, _, df = _luc_case(root)
    e = df[(df.method == "land_use_change") & (df.zone_name == "E") & (df.ecosystem == "all")]
    e = e.set_index("quantity")["value"]
    assert e["net_sink_conversion"] == pytest.approx((3.4 - 0.5 + 0.7) * PX_HA * TO_CO2, rel=1e-6)
    assert e["net_sink_soil"] == pytest.approx((0.75 - 1.0) * PX_HA * TO_CO2, rel=1e-6)
    assert e["net_sink"] == pytest.approx(3.35 * PX_HA * TO_CO2, rel=1e-6)
    wet = df[(df.method == "land_use_change") & (df.zone_name == "E") & (df.ecosystem == "wetland")
             & (df.quantity == "net_sink_soil")]
    assert wet.value.iloc[0] == 0.0


def test_every_method_is_the_change_of_its_own_stock_path(tmp_path, chdir):
    # Per zone and pool group: path(t1) - path(t0) = net sink part x Δt x 12/44; the path
    # starts at the first epoch's look-up stock, and the parts add up to the net sink.
    root = chdir(build_tiny(tmp_path))
    _, paths, df = _luc_case(root)
    allx = df[df.ecosystem == "all"]
    start = allx[(allx.method == "stock_difference") & (allx.year_start == 2000)].set_index(["zone_name", "quantity"])["value"]
    for m in BALANCE_METHODS:
        path = allx[(allx.method == m) & allx.quantity.str.startswith("stock_path")]
        path = path.set_index(["zone_name", "quantity", "year_start"])["value"]
        sink = allx[(allx.method == m) & (allx.year_start == 2000)].set_index(["zone_name", "quantity"])["value"]
        for z in ("W", "E"):
            assert path[(z, "stock_path", 2000)] == pytest.approx(start[(z, "carbon_stock")], rel=1e-12)
            parts = sum(sink[(z, f"net_sink_{p}")] for p in ("remaining", "harvest", "conversion", "soil"))
            assert parts == pytest.approx(sink[(z, "net_sink")], rel=1e-9, abs=1e-9)
            for pool, part in (("stock_path_soc", sink[(z, "net_sink_soil")]),
                               ("stock_path_biomass", sink[(z, "net_sink")] - sink[(z, "net_sink_soil")]),
                               ("stock_path", sink[(z, "net_sink")])):
                change = path[(z, pool, 2010)] - path[(z, pool, 2000)]
                assert change == pytest.approx(part * 10 / TO_CO2, rel=1e-9, abs=1e-9)
    # Gain-loss grows forest remaining forest, so its path rises above the look-up one; the
    # time series carries both paths with the sink whose change each is.
    series = pd.read_csv(paths.output("time_series"))
    w = series[(series.zone_name == "W") & (series.ecosystem == "all") & (series.year == 2010)].set_index("method")
    assert w.loc["gain_loss", "carbon_stock"] > w.loc["land_use_change", "carbon_stock"]
    for m in BALANCE_METHODS:
        assert w.loc[m, "cumulative_change"] == pytest.approx(w.loc[m, "net_sink"] * 10 / TO_CO2, rel=1e-9)

"""The inventory check (sinks.inventory, issue 13 item 4): the cited table, the run's figures in
the reference units (hand-computed), the nearest period, and the warning outside the range."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sinks.inventory import UNITS, compare_with_inventory, load_inventory, run_figures


def _row(quantity, value, year_start, year_end, method="stock_difference", ecosystem="forest",
         level="province"):
    return {"zone_level": level, "zone_id": "360000", "zone_name": "Jiangxi",
            "ecosystem": ecosystem, "quantity": quantity, "year_start": year_start,
            "year_end": year_end, "value": value, "unit": "-", "method": method,
            "basis": "observed", "sd": 0.0, "ci_low": value, "ci_high": value}


def _rows():
    return pd.DataFrame([
        _row("area", 1.0e7, 2020, 2020), _row("area", 2.0e7, 2020, 2020, ecosystem="all"),
        _row("carbon_stock_agb", 8.0e7, 2020, 2020), _row("carbon_stock_bgb", 2.0e7, 2020, 2020),
        _row("area", 9.0e6, 2000, 2000), _row("area", 1.8e7, 2000, 2000, ecosystem="all"),
        _row("carbon_stock_agb", 4.0e7, 2000, 2000), _row("carbon_stock_bgb", 1.0e7, 2000, 2000),
        _row("net_sink", 3.667e7, 2000, 2020),
        _row("net_sink", 7.334e7, 2000, 2020, method="gain_loss"),
        _row("area", 5.0e6, 2020, 2020, level="county"),          # not the province: ignored
        _row("area", 3.0e6, 2020, 2020, ecosystem="cropland"),    # not forest: ignored
    ])


def _reference(**over):
    base = {"id": "ref_sink", "quantity": "forest_net_sink", "value": 10.0, "low": 8.0,
            "high": 12.0, "unit": "Tg C yr-1", "year_start": 2000, "year_end": 2020,
            "definition": "test", "status": "C3", "source": "Test et al. 2099"}
    return pd.DataFrame([{**base, **over}])


def test_run_figures_are_in_the_reference_units():
    f = run_figures(_rows())
    key = ("stock_difference", "observed", 2020, 2020)
    assert f["forest_area"][key] == pytest.approx(10.0)                # 1.0e7 ha = 10 Mha
    assert f["forest_cover"][key] == pytest.approx(50.0)               # 1.0e7 / 2.0e7 ha
    assert f["forest_biomass_carbon"][key] == pytest.approx(100.0)     # (8 + 2) e7 Mg C = 100 Tg C
    assert f["forest_carbon_density"][key] == pytest.approx(10.0)      # 1.0e8 Mg C / 1.0e7 ha
    sink = f["forest_net_sink"][("stock_difference", "observed", 2000, 2020)]
    assert sink == pytest.approx(3.667e7 / 1e6 * 12 / 44)              # 10.0009 Tg C yr-1
    assert sink == pytest.approx(10.0, abs=1e-3)


def test_one_row_per_method_at_the_nearest_period():
    ref = _reference(id="ref_c", quantity="forest_biomass_carbon", value=80.0, low=50.0,
                     high=120.0, unit="Tg C", year_start=2013, year_end=2013)
    out = compare_with_inventory(_rows(), ref)
    assert len(out) == 1                                # stock_difference only has stocks
    r = out.iloc[0]
    assert (r.run_year_start, r.run_year_end) == (2020, 2020)   # |2020 - 2013| < |2000 - 2013|
    assert r.run_value == pytest.approx(100.0) and r.ratio == pytest.approx(1.25)
    assert bool(r.within_range) and r.verdict.startswith("within")
    sinks = compare_with_inventory(_rows(), _reference()).set_index("method")
    assert sinks.loc["gain_loss", "run_value"] == pytest.approx(20.0, abs=2e-3)
    assert list(sinks["within_range"]) == [False, True]   # gain_loss 20.0 > 12, stock_diff. 10.0


def test_warning_names_the_figure_and_reference_only_when_outside(caplog):
    with caplog.at_level(logging.WARNING, logger="sinks.inventory"):
        inside = compare_with_inventory(_rows()[lambda d: d.method != "gain_loss"],
                                        _reference())
    assert bool(inside.within_range.iloc[0]) and not caplog.records
    with caplog.at_level(logging.WARNING, logger="sinks.inventory"):
        out = compare_with_inventory(_rows(), _reference(low=12.0, high=25.0))
    sd = out.set_index("method").loc["stock_difference"]
    assert not sd.within_range and sd.verdict == "below the published range 12-25 Tg C yr-1"
    assert len(caplog.records) == 1                      # gain_loss (20.0) is inside
    msg = caplog.records[0].getMessage()
    assert "ref_sink" in msg and "Test et al. 2099" in msg and "stock_difference" in msg


def test_unconfirmed_or_rangeless_references_are_never_check_bounds(caplog):
    with caplog.at_level(logging.WARNING, logger="sinks.inventory"):
        unconfirmed = compare_with_inventory(_rows(), _reference(status="UNCONFIRMED", high=9.0))
        rangeless = compare_with_inventory(_rows(), _reference(low=float("nan"), high=float("nan")))
    assert not caplog.records
    assert unconfirmed.within_range.isna().all() and rangeless.within_range.isna().all()
    assert set(unconfirmed.verdict) == {"not checked: the reference is UNCONFIRMED"}
    # gain_loss 20.0, stock_difference 10.0 Tg C yr-1 against 10.0
    assert rangeless.ratio.tolist() == pytest.approx([2.0, 1.0], abs=1e-3)


def test_the_package_table_is_cited_and_consistent():
    ref = load_inventory()
    assert ref["id"].is_unique and set(ref["quantity"]) <= set(UNITS)
    checked = ref[ref.status != "UNCONFIRMED"]
    assert checked["source"].str.len().gt(20).all() and checked["url"].str.startswith("http").all()
    assert ref[ref.status == "UNCONFIRMED"][["low", "high"]].isna().all().all()
    with_both = checked.dropna(subset=["value", "low", "high"])
    assert ((with_both.low <= with_both.value) & (with_both.value <= with_both.high)).all()
    nfi6 = ref.set_index("id").loc["nfi6_forest_area"]
    assert nfi6.value == pytest.approx(931.39e4 / 1e6)        # 931.39 x 10^4 ha in the yearbook
    sink = ref.set_index("id").loc["zhang2020_forest_net_sink"]
    assert sink.value == pytest.approx((276.1 - 159.1) / (2013 - 1988), abs=0.005)
    out = compare_with_inventory(_rows(), ref)
    assert set(out.figure) == set(ref.id)                # every figure meets a run figure
    assert out.groupby("figure").size().max() == 2       # the sink: two methods

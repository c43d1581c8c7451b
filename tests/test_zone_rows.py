"""The one row builder (sinks.zone_rows): units from the quantity registry, 'all' rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sinks.errors import EmptyDataError
from sinks.zone_rows import QUANTITIES, class_rows, frame, row

TABLES = {"county": pd.DataFrame({"index": [1, 2], "zone_id": ["a", "b"], "zone_name": ["A", "B"]})}
NAMES = ["none", "forest", "cropland"]


def test_class_rows_by_hand():
    # zone A: forest 10, cropland 0; zone B: forest 2, cropland 3 (index 0 = outside every zone)
    area = np.array([[0, 0, 0], [0, 10.0, 0.0], [0, 2.0, 3.0]])
    stock = area * np.array([0, 100.0, 40.0])
    coef = area[:, :, None] * np.array([0, 1.0, 1.0])[None, :, None]
    rows, coefs = class_rows({"county": {"area": area, "carbon_stock": stock}},
                             {"county": {"carbon_stock": coef}}, TABLES, NAMES, 2000, 2000,
                             "stock_difference", "observed", {"county": area > 0})
    df = frame(rows).set_index(["zone_name", "ecosystem", "quantity"])
    assert df.loc[("B", "all", "carbon_stock"), "value"] == 2 * 100 + 3 * 40
    assert df.loc[("A", "all", "area"), "value"] == 10
    assert ("A", "cropland", "area") not in df.index  # no cropland in A: no row
    assert df.loc[("B", "cropland", "carbon_stock"), "unit"] == "Mg C"
    assert df.loc[("A", "forest", "area"), "unit"] == "ha"
    all_b = [c for r, c in zip(rows, coefs) if r["zone_name"] == "B" and r["ecosystem"] == "all"
             and r["quantity"] == "carbon_stock"][0]
    assert all_b.tolist() == [5.0]
    assert all(c is None for r, c in zip(rows, coefs) if r["quantity"] == "area")


def test_a_quantity_without_a_unit_is_refused():
    zone = TABLES["county"].iloc[0]
    with pytest.raises(KeyError):
        row("county", zone, "all", "harvested_wood", 2000, 2020, 1.0, "hwp", "observed")
    assert QUANTITIES["net_sink"].column_unit == "MgCO2_per_yr"


def test_non_finite_totals_are_refused():
    zone = TABLES["county"].iloc[0]
    with pytest.raises(EmptyDataError, match="not finite"):
        frame([row("county", zone, "all", "area", 2000, 2000, np.inf, "m", "observed")])

"""The Excel workbook (sinks.summary.workbook): every cell of a zone sheet is its row of
zonal_summary.csv, column sums equal the CSV's, units in the headers, notes and badges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _check_sheet(xlsx, csv: pd.DataFrame, level: str) -> int:
    """Every value and interval cell of ``level``'s sheet equals its CSV row; column sums equal
    the CSV rows' sums. Returns the number of columns checked."""
    sheet = pd.read_excel(xlsx, sheet_name=level, dtype={"zone id": str})
    notes = pd.read_excel(xlsx, sheet_name="notes")
    notes = notes[notes.sheet == level]
    assert len(notes) > 0
    checked = 0
    for n in notes.itertuples():
        rows = csv[(csv.zone_level == level) & (csv.ecosystem == "all") & (csv.quantity == n.quantity)
                   & (csv.method == n.method) & (csv.year_start == n.year_start)
                   & (csv.year_end == n.year_end)].set_index("zone_id")
        assert f"({n.unit})" in n.column
        cols = [("value", n.column)]
        for stat, word in (("ci_low", "95 % low"), ("ci_high", "95 % high")):
            h = n.column.replace(f" ({n.unit})", f", {word} ({n.unit})")
            if h in sheet:
                cols.append((stat, h))
        for stat, h in cols:
            got = sheet.set_index("zone id")[h]
            want = rows[stat].reindex(got.index)
            np.testing.assert_allclose(got.to_numpy(float), want.to_numpy(float), rtol=1e-9)  # the CSV holds 10 significant digits
            assert got.sum() == pytest.approx(rows[stat].sum(), rel=1e-9)
            checked += 1
    return checked


def test_workbook_cells_and_sums_equal_the_csv(tmp_path, chdir):
    from conftest import build_tiny, run_tiny_stages

    root = chdir(build_tiny(tmp_path))
    _, paths, _ = run_tiny_stages(root)
    csv = pd.read_csv(paths.output("zonal_summary"), dtype={"zone_id": str})
    xlsx = paths.output("zonal_summary_xlsx")
    names = pd.ExcelFile(xlsx).sheet_names
    assert names == ["township", "all rows", "notes", "units", "parameters"]
    assert _check_sheet(xlsx, csv, "township") >= 4
    sheet = pd.read_excel(xlsx, sheet_name="township")
    assert "carbon stock 2000, stock difference (Mg C)" in sheet.columns
    assert any(c.startswith("net sink 2000\u20132020") for c in sheet.columns)
    assert len(pd.read_excel(xlsx, sheet_name="all rows")) == len(csv)


def test_workbook_header_badges_and_format(tmp_path):
    from openpyxl import load_workbook

    from sinks.summary.workbook import write_workbook

    rows = []
    for zid, v in (("a", 1.5e6), ("b", 2.5e6)):
        rows += [{"zone_level": "county", "zone_id": zid, "zone_name": zid.upper(), "ecosystem": "all",
                  "quantity": "net_sink", "year_start": 2019, "year_end": 2025, "value": v,
                  "unit": "Mg CO2 yr-1", "method": "gain_loss", "basis": "scenario; synthetic plots",
                  "ci_low": v - 1, "ci_high": v + 1, "uncertainty_approach": "Monte Carlo"},
                 {"zone_level": "county", "zone_id": zid, "zone_name": zid.upper(), "ecosystem": "forest",
                  "quantity": "net_sink", "year_start": 2019, "year_end": 2025, "value": v / 2,
                  "unit": "Mg CO2 yr-1", "method": "gain_loss", "basis": "observed",
                  "ci_low": np.nan, "ci_high": np.nan, "uncertainty_approach": "none"}]
    reg = pd.DataFrame({"value": [0.47, 1.0], "unit": ["1", "1"], "sd": [0.01, 0.1],
                        "uncertainty_type": ["range", "range"], "distribution": ["normal", "normal"],
                        "status": ["C1", "UNCONFIRMED"], "source": ["IPCC 2006", "?"]},
                       index=pd.Index(["cf", "p2"], name="id"))
    path = tmp_path / "z.xlsx"
    write_workbook(pd.DataFrame(rows), path, reg)
    sheet = pd.read_excel(path, sheet_name="county")
    h = "net sink 2019\u20132025, gain-loss (Mg CO2 yr-1)"
    assert list(sheet.columns) == ["zone id", "zone name", h,
                                   "net sink 2019\u20132025, gain-loss, 95 % low (Mg CO2 yr-1)",
                                   "net sink 2019\u20132025, gain-loss, 95 % high (Mg CO2 yr-1)"]
    assert sheet[h].sum() == 4e6  # the forest rows are not in the all-ecosystem sheet
    notes = pd.read_excel(path, sheet_name="notes")
    assert notes.badges.iloc[0] == "SCENARIO; SYNTHETIC"
    params = pd.read_excel(path, sheet_name="parameters")
    assert list(params.id) == ["cf", "p2"] and list(params.status) == ["C1", "UNCONFIRMED"]
    assert "Eq. 2.7" in notes.citation.iloc[0]
    ws = load_workbook(path)["county"]
    assert ws.freeze_panes == "A2"
    assert ws["C2"].number_format == "#,##0"


def test_badges_from_basis_and_approach():
    from sinks.summary.workbook import badges

    assert badges("observed", "Monte Carlo") == ""
    assert badges("scenario; synthetic inundation", "") == "SCENARIO; SYNTHETIC"
    assert badges("observed", "assumed independent; UNCONFIRMED factor") == "UNCONFIRMED; ASSUMPTION"

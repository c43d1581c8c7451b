"""The zone table as an Excel workbook for an office (``zonal_summary.xlsx``): one sheet per
zone level (zones x main quantities for all ecosystems, each with its 95 % interval, units in
the header), an ``all rows`` sheet (the CSV as it is), a ``notes`` sheet (each column's source,
method, citation and badges) and a ``units`` sheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from sinks.io.outputs import (CH4_CITATION, GAIN_LOSS_CITATION, LUC_CITATION, POTENTIAL_CITATION,
                              RS_SINK_CITATION, STOCK_CITATION)
from sinks.parameters import registry_table

# the quantities of the zone sheets (all ecosystems); the rest (pool stocks, sink parts, stock
# paths, per-ecosystem rows) are in the "all rows" sheet
MAIN = ("area", "carbon_stock", "net_sink", "net_sink_with_ch4", "gross_removals",
        "gross_emissions", "sink_potential")
LABELS = {"area": "area", "carbon_stock": "carbon stock", "net_sink": "net sink",
          "net_sink_with_ch4": "net sink incl. wetland CH4", "gross_removals": "gross removals",
          "gross_emissions": "gross emissions", "sink_potential": "sink potential"}
METHOD_LABELS = {"stock_difference": "stock difference", "land_use_change": "land-use change",
                 "gain_loss": "gain-loss", "biomass_map": "biomass map",
                 "potential_business_as_usual": "potential, business as usual",
                 "potential_afforestation": "potential, afforestation",
                 "potential_protection": "potential, protection"}
CITATIONS = {"stock_difference": STOCK_CITATION, "land_use_change": LUC_CITATION,
             "gain_loss": GAIN_LOSS_CITATION, "biomass_map": RS_SINK_CITATION,
             "potential": POTENTIAL_CITATION}
UNITS = {"ha": "hectare (10 000 m2)", "Mg C": "megagram (tonne) of carbon; 1 Tg = 1e6 Mg",
         "Mg CO2 yr-1": "tonne CO2 per year over the period; + = sink (removal), - = source; "
                        "CO2 = C x 44/12",
         "Mg CO2e yr-1": "tonne CO2-equivalent per year (CH4 x GWP100, IPCC AR5)"}
NUMBER = "#,##0"
KEYS = ["quantity", "method", "year_start", "year_end"]


def _years(y0: int, y1: int) -> str:
    return str(y0) if y0 == y1 else f"{y0}\u2013{y1}"


def header(quantity: str, method: str, y0: int, y1: int, unit: str, stat: str = "") -> str:
    """The column title, e.g. 'net sink 2019–2025, gain-loss, 95 % low (Mg CO2 yr-1)'."""
    return (f"{LABELS.get(quantity, quantity)} {_years(y0, y1)}, "
            f"{METHOD_LABELS.get(method, method)}{', ' + stat if stat else ''} ({unit})")


def badges(*texts: str) -> str:
    """The badges a column carries, from its rows' ``basis`` and uncertainty approach:
    SCENARIO (a projected land cover), SYNTHETIC (generated inputs), UNCONFIRMED, ASSUMPTION."""
    b = " ".join(str(t).lower() for t in texts)
    words = {"SCENARIO": "scenario", "SYNTHETIC": "synthetic", "UNCONFIRMED": "unconfirmed",
             "ASSUMPTION": "assum"}
    return "; ".join(w for w, key in words.items() if key in b)


def zone_sheet(df: pd.DataFrame, level: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Zones (rows) x main quantities, each value followed by its 95 % low and high; and one
    notes row per value column (quantity, method, years, unit, basis, approach)."""
    sub = df[(df.zone_level == level) & (df.ecosystem == "all") & df.quantity.isin(MAIN)]
    order = {q: i for i, q in enumerate(MAIN)}
    cols = (sub[KEYS + ["unit", "basis", "uncertainty_approach"]].drop_duplicates(KEYS)
            .assign(o=lambda d: d.quantity.map(order)).sort_values(["o", "year_start", "year_end", "method"])
            .drop(columns="o"))
    zones = sub[["zone_id", "zone_name"]].drop_duplicates("zone_id")
    wide = zones.set_index("zone_id")
    notes = []
    for c in cols.itertuples(index=False):
        h = header(c.quantity, c.method, c.year_start, c.year_end, c.unit)
        g = sub[(sub.quantity == c.quantity) & (sub.method == c.method) & (sub.year_start == c.year_start)
                & (sub.year_end == c.year_end)].set_index("zone_id")
        wide[h] = g["value"]
        for stat, name in (("ci_low", "95 % low"), ("ci_high", "95 % high")):
            if stat in g and g[stat].notna().any():
                wide[header(c.quantity, c.method, c.year_start, c.year_end, c.unit, name)] = g[stat]
        notes.append({"sheet": level, "column": h, **c._asdict()})
    wide = wide.reset_index().rename(columns={"zone_id": "zone id", "zone_name": "zone name"})
    return wide, pd.DataFrame(notes)


def write_workbook(df: pd.DataFrame, path: Path, registry: pd.DataFrame | None = None) -> None:
    """Write ``zonal_summary.xlsx`` from the zone table ``df`` (``zonal_summary.csv``'s rows):
    a sheet per zone level, ``all rows``, ``notes`` and ``units``; ``registry`` (the run's
    ``status`` and ``source`` columns, :mod:`sinks.parameters`) adds a ``parameters`` sheet."""
    sheets, notes = {}, []
    for level in dict.fromkeys(df.zone_level):
        sheets[level], n = zone_sheet(df, level)
        notes.append(n)
    note = pd.concat(notes, ignore_index=True) if notes else pd.DataFrame(columns=["sheet", "column", *KEYS])
    if len(note):
        note["citation"] = [CITATIONS.get(m.split("_")[0] if m.startswith("potential") else m, "")
                            + (f"; {CH4_CITATION}" if q == "net_sink_with_ch4" else "")
                            for m, q in zip(note.method, note.quantity)]
        note["badges"] = [badges(b, a) for b, a in zip(note.basis, note.uncertainty_approach)]
        note["interval"] = "95 % interval in the two columns after the value, where computed"
    units = pd.DataFrame([{"unit": u, "meaning": m} for u, m in UNITS.items()]
                         + [{"unit": "95 % low / high", "meaning": "bounds of the 95 % interval "
                             "(Approach 1 or Monte Carlo, see notes: uncertainty_approach)"},
                            {"unit": "badges", "meaning": "SCENARIO: a projected land cover; SYNTHETIC: "
                             "generated demo inputs; UNCONFIRMED / ASSUMPTION: an unconfirmed value or "
                             "an assumption named in the row's basis; each parameter's status and "
                             "source: sheet parameters (UNCONFIRMED entries are never used unless "
                             "the config overrides them, status user)"}])
    tmp = path.with_name(f".{path.stem}.tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
        for level, wide in sheets.items():
            wide.to_excel(xw, sheet_name=level[:31], index=False)
            _format(xw.sheets[level[:31]], wide, wrap=True)
        df.to_excel(xw, sheet_name="all rows", index=False)
        _format(xw.sheets["all rows"], df, wrap=False)
        note.to_excel(xw, sheet_name="notes", index=False)
        _format(xw.sheets["notes"], note, wrap=False)
        units.to_excel(xw, sheet_name="units", index=False)
        _format(xw.sheets["units"], units, wrap=False)
        if registry is not None:
            reg = registry_table(registry)
            reg.to_excel(xw, sheet_name="parameters", index=False)
            _format(xw.sheets["parameters"], reg, wrap=False)
    tmp.replace(path)


def _format(ws, frame: pd.DataFrame, wrap: bool) -> None:
    """Frozen header row, widths to the content, thousands separators on value columns."""
    ws.freeze_panes = "A2"
    for j, name in enumerate(frame.columns, start=1):
        letter = get_column_letter(j)
        cell = ws.cell(row=1, column=j)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=wrap, vertical="top")
        numeric = pd.api.types.is_float_dtype(frame[name])
        sample = max((len(str(v)) for v in frame[name].head(200)), default=8)
        width = 18 if wrap and numeric else min(60, max(8, sample + 2, 10 if wrap else len(str(name)) + 2))
        ws.column_dimensions[letter].width = width
        if numeric and str(name) not in ("mc_converged",):
            fmt = "0.0" if "pct" in str(name) else NUMBER
            for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                row[0].number_format = fmt
    if wrap:
        ws.row_dimensions[1].height = 75

"""Published inventory figures for Jiangxi, and the run's own figures checked against them.

``sinks/data/inventory_jiangxi.csv`` holds each figure with its years, definition, pools, method,
source and status. :func:`compare_with_inventory` computes the run's figure for each reference
definition from the province rows of the zone table, one row per (figure, method), and logs a
warning naming the figure and its source when the run falls outside the published range.
"""

from __future__ import annotations

import logging
from importlib import resources

import numpy as np
import pandas as pd

from sinks.constants import C_TO_CO2

log = logging.getLogger(__name__)

PROVINCE, FOREST, ALL = "province", "forest", "all"
STATUSES = ("C1", "C2", "C3", "UNCONFIRMED")
UNITS = {"forest_area": "Mha", "forest_land_area": "Mha", "forest_cover": "%",
         "forest_biomass_carbon": "Tg C", "forest_carbon_density": "Mg C ha-1",
         "forest_net_sink": "Tg C yr-1"}
KEYS = ["method", "basis", "year_start", "year_end"]
NOT_COMPARED = {"forest_land_area": "not compared: the run has no forest-land class (forest land also holds "
                "shrubland, sparse and unstocked land, which the land cover's shrub class does not separate)"}
COLUMNS = ["figure", "quantity", "method", "basis", "run_year_start", "run_year_end",
           "run_value", "reference_value", "reference_low", "reference_high", "unit", "ratio",
           "within_range", "verdict", "reference_year_start", "reference_year_end",
           "definition", "status", "source"]


def inventory_path(name: str = "jiangxi"):
    return resources.files("sinks").joinpath(f"data/inventory_{name}.csv")


def load_inventory(name: str = "jiangxi") -> pd.DataFrame:
    """The reference table; ValueError for an unknown quantity, a unit that is not the
    quantity's, an unknown status or a check range with low > high."""
    with inventory_path(name).open(encoding="utf-8") as fh:
        ref = pd.read_csv(fh, comment="#", dtype={"id": str})
    for r in ref.itertuples():
        if UNITS.get(r.quantity) != r.unit:
            raise ValueError(f"inventory {r.id}: quantity {r.quantity!r} in {r.unit!r}; "
                             f"expected one of {UNITS}")
        if r.status not in STATUSES:
            raise ValueError(f"inventory {r.id}: status {r.status!r} is not one of {STATUSES}")
        if r.low > r.high:
            raise ValueError(f"inventory {r.id}: low {r.low} > high {r.high}")
    return ref


def _province(rows: pd.DataFrame, quantity: str, ecosystem: str = FOREST) -> pd.Series:
    sel = rows[(rows["zone_level"] == PROVINCE) & (rows["ecosystem"] == ecosystem)
               & (rows["quantity"] == quantity)]
    return sel.set_index(KEYS)["value"].astype("float64")


def run_figures(rows: pd.DataFrame) -> dict[str, pd.Series]:
    """The run's figure for each reference quantity, in the reference unit, indexed by
    (method, basis, year_start, year_end); biomass carbon is AGB + BGB of the same row key.
    Areas and stocks come from observed epochs only (a scenario's land cover is not compared
    with an inventory); the sink from every method but the land-use-change component."""
    observed = rows[rows["basis"].astype(str).str.startswith("observed")]
    area = _province(observed, "area")
    biomass = _province(observed, "carbon_stock_agb") + _province(observed, "carbon_stock_bgb")
    figures = {
        "forest_area": area / 1e6,                                     # ha -> Mha
        "forest_cover": 100.0 * area / _province(observed, "area", ALL),   # % of the province
        "forest_biomass_carbon": biomass / 1e6,                        # Mg C -> Tg C
        "forest_carbon_density": biomass / area,                       # Mg C ha-1
        # Mg CO2/yr -> Tg C/yr; the look-up land-use-change component is not a sink estimate
        "forest_net_sink": _province(rows[rows["method"] != "land_use_change"], "net_sink") / 1e6 / C_TO_CO2,
    }
    return {q: s.dropna() for q, s in figures.items()}


def _nearest(candidates: pd.Series, year_start, year_end):
    """The candidate (key, value) whose period midpoint is nearest the reference's."""
    idx = candidates.index
    mid = (idx.get_level_values("year_start") + idx.get_level_values("year_end")) / 2
    i = int(np.argmin(np.abs(np.asarray(mid, float) - (year_start + year_end) / 2)))
    return idx[i], float(candidates.iloc[i])


def _check(ref, method: str, value: float) -> tuple[bool | None, str]:
    """(within_range, verdict); warns when the value falls outside the range."""
    if ref.status == "UNCONFIRMED":
        return None, "not checked: the reference is UNCONFIRMED"
    if pd.isna(ref.low) or pd.isna(ref.high):
        return None, "not checked: no published range"
    rng = f"{ref.low:g}-{ref.high:g} {ref.unit}"
    if ref.low <= value <= ref.high:
        return True, f"within the published range {rng}"
    side = "below" if value < ref.low else "above"
    log.warning("inventory check: %s (%s, %d-%d): the run's %s value %.4g %s is %s the "
                "published range %s (%s)", ref.id, ref.quantity, ref.year_start, ref.year_end,
                method, value, ref.unit, side, rng, ref.source)
    return False, f"{side} the published range {rng}"


def compare_with_inventory(rows: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """One row per (reference figure, run method): the run's province forest figure of the
    period nearest the reference's, the reference value and range, ratio (run / reference),
    ``within_range`` (NA where the reference is UNCONFIRMED or has no range) and a verdict."""
    figures = run_figures(rows)
    out = []
    for ref in reference.itertuples():
        if ref.quantity not in figures:  # no run figure of that definition
            out.append([ref.id, ref.quantity, "", "", np.nan, np.nan, np.nan, ref.value, ref.low, ref.high,
                        ref.unit, np.nan, None, NOT_COMPARED[ref.quantity], ref.year_start, ref.year_end,
                        ref.definition, ref.status, ref.source])
            continue
        for method, candidates in figures[ref.quantity].groupby(level="method"):
            (_, basis, y0, y1), value = _nearest(candidates, ref.year_start, ref.year_end)
            within, verdict = _check(ref, method, value)
            out.append([ref.id, ref.quantity, method, basis, y0, y1, value, ref.value, ref.low,
                        ref.high, ref.unit, value / ref.value, within, verdict, ref.year_start,
                        ref.year_end, ref.definition, ref.status, ref.source])
    table = pd.DataFrame(out, columns=COLUMNS)
    table["within_range"] = table["within_range"].astype("boolean")
    return table

"""Zone-table rows: the quantities they report, the one row builder, and the accounts every
method's rows are computed from.

Totals are computed from the aligned land cover and the class look-ups in float64 (not by
summing the float32 maps): the area of every (zone, class, class) cell is summed pixel by pixel
from the pixel area (STYLE §4.6) and multiplied by per-class values; zone totals of each level
add up to the region total because each pixel belongs to at most one zone of a level.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from sinks.classes import CompactClasses
from sinks.constants import POOLS
from sinks.errors import EmptyDataError
from sinks.grid import pixel_area_ha
from sinks.landcover import apply_lut
from sinks.plan import zone_levels
from sinks.propagation import ClassParameters
from sinks.run import Run
from sinks.zones import zonal_totals

log = logging.getLogger(__name__)

COLUMNS = ["zone_level", "zone_id", "zone_name", "ecosystem", "quantity", "year_start",
           "year_end", "value", "unit", "method", "basis"]  # then the uncertainty columns


@dataclass(frozen=True)
class Quantity:
    """A zone-table quantity: its unit, its unit in GeoPackage column names, its sign."""

    unit: str
    column_unit: str
    sign: str


_STOCK = Quantity("Mg C", "MgC", ">= 0")
_FLUX = Quantity("Mg CO2 yr-1", "MgCO2_per_yr", "+ = sink (removal), - = source")
QUANTITIES: dict[str, Quantity] = {
    "area": Quantity("ha", "ha", ">= 0"),
    "carbon_stock": _STOCK,
    **{f"carbon_stock_{p}": _STOCK for p in POOLS},
    # a method's stock path: the first epoch's stock + its changes (total, AGB + BGB + DOM, SOC)
    "stock_path": _STOCK, "stock_path_biomass": _STOCK, "stock_path_soc": _STOCK,
    "net_sink": _FLUX,
    # parts of a method's net sink (they add up to it): growth of land remaining in its class,
    # wood removals, biomass and dead organic matter of conversions, mineral soil
    "net_sink_remaining": _FLUX,
    "net_sink_harvest": _FLUX,
    "net_sink_conversion": _FLUX,
    "net_sink_soil": _FLUX,
    "gross_removals": Quantity("Mg CO2 yr-1", "MgCO2_per_yr", "removals, >= 0"),
    "gross_emissions": Quantity("Mg CO2 yr-1", "MgCO2_per_yr", "emissions, >= 0"),
    "sink_potential": _FLUX,
    "ch4_emissions_co2e": Quantity("Mg CO2e yr-1", "MgCO2e_per_yr", "- = source"),
    "net_sink_with_ch4": Quantity("Mg CO2e yr-1", "MgCO2e_per_yr", "+ = sink, - = source"),
}


def row(level: str, zone, ecosystem: str, quantity: str, year_start: int, year_end: int,
        value: float, method: str, basis: str, **uncertainty) -> dict:
    """One zone-table row; the unit comes from :data:`QUANTITIES` (KeyError for an unknown
    quantity, so a new quantity cannot slip in without a unit)."""
    return {"zone_level": level, "zone_id": zone["zone_id"], "zone_name": zone["zone_name"],
            "ecosystem": ecosystem, "quantity": quantity, "year_start": year_start,
            "year_end": year_end, "value": value, "unit": QUANTITIES[quantity].unit,
            "method": method, "basis": basis, **uncertainty}


def class_rows(result: dict, coefs: dict, tables: dict, names: list[str], year_start: int,
               year_end: int, method: str, basis: str, keep_class: dict, in_total=None
               ) -> tuple[list[dict], list]:
    """Rows of one epoch or period from per-class zone totals ``result[level][quantity]``
    ([zone, class] arrays): one row per zone and kept class, and the 'all' row; and each row's
    coefficient vector (``coefs[level][quantity]``, [zone, class, parameter]; None for rows
    that do not depend on parameters, e.g. areas). ``in_total``: bool per class, which classes
    the 'all' row sums (default all but 0)."""
    in_total = np.arange(len(names)) > 0 if in_total is None else in_total
    rows, row_coefs = [], []
    for lv, per_value in result.items():
        for _, z in tables[lv].iterrows():
            i = int(z["index"])
            for quantity, arr in per_value.items():
                coef = coefs.get(lv, {}).get(quantity)
                for c in range(1, len(names)):
                    if keep_class[lv][i, c]:
                        rows.append(row(lv, z, names[c], quantity, year_start, year_end,
                                        arr[i, c], method, basis))
                        row_coefs.append(None if coef is None else coef[i, c])
                rows.append(row(lv, z, "all", quantity, year_start, year_end,
                                arr[i, in_total].sum(), method, basis))
                row_coefs.append(None if coef is None else coef[i, in_total].sum(axis=0))
    return rows, row_coefs


def frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as a table (COLUMNS first); refuses non-finite values."""
    df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=COLUMNS)
    if not np.isfinite(df["value"].astype("float64")).all():
        raise EmptyDataError("zonal totals are not finite; check the density table and inputs")
    return df


MIN_COVERAGE = 0.005  # share of valid land-cover area inside a zone level below which it warns


@dataclass
class Accounts:
    """What every method's rows are computed from: the zones on the grid, the pixel area, the
    class encoding, the density parameters, each epoch's compact class map and each period's
    transition areas ({level: [zone, class t0, class t1] in ha}; epoch areas are their margins).
    """

    run: Run
    grid: object
    zone_idx: dict[str, xr.DataArray]
    tables: dict[str, pd.DataFrame]
    area: xr.DataArray
    cc: CompactClasses
    params: ClassParameters | None
    compact: dict[int, xr.DataArray]
    transitions: list[dict[str, np.ndarray]]

    @classmethod
    def build(cls, run: Run, check: bool = True) -> "Accounts":
        """Open the zones and land cover and sum the transition areas (one pass per period);
        ``check``: that every zone level covers some land cover (not for one tile's sums)."""
        levels = zone_levels(run.cfg)
        first = run.open_landcover(run.epochs[0].year)
        grid = first.odc.geobox
        zone_idx, tables = {}, {}
        for lv in levels:
            zone_idx[lv] = run.open_on_grid(run.paths.zones(lv), grid)
            tables[lv] = pd.read_csv(run.paths.zones_table(lv), dtype={"zone_id": str, "zone_name": str})
        cc = run.classes(first.dtype)
        compact = {ep.year: apply_lut(run.open_on_grid(run.landcover_path(ep.year), grid), cc.lut, 0)
                   for ep in run.epochs}
        acc = cls(run, grid, zone_idx, tables, pixel_area_ha(grid, run.chunks), cc,
                  run.density_parameters(cc), compact, [])
        k = cc.density["agb"].size
        for e0, e1 in acc.periods:
            log.info("zonal transition areas %d -> %d", e0.year, e1.year)
            res = acc.totals([compact[e0.year], compact[e1.year]], [k, k], {"area": acc.area})
            acc.transitions.append({lv: res[lv]["area"] for lv in levels})
        if check:
            acc.check_coverage()
        return acc

    def check_coverage(self) -> None:
        """Every zone level must cover some of the land cover: none is an error (zones of
        another area, or a GeoJSON in metres read as degrees, would give tables of zeros), under
        MIN_COVERAGE a warning naming the level (a lake level legitimately covers little)."""
        for lv, area in self.transitions[0].items():
            valid = area[:, 1:, :].sum()
            inside = area[1:, 1:, :].sum()
            share = inside / valid if valid else 0.0
            if share == 0:
                spec = next((z["path"] for z in self.cfg["zones"] if z["level"] == lv), "the grid")
                raise EmptyDataError(f"{spec}: the zones of level {lv!r} cover none of the land cover's "
                                     "valid pixels; check that they are the same area and that their "
                                     "CRS is declared correctly")
            if share < MIN_COVERAGE:
                log.warning("zones of level %r cover only %.2f %% of the land cover's valid pixels",
                            lv, 100 * share)

    @property
    def cfg(self) -> dict:
        return self.run.cfg

    @property
    def names(self) -> list[str]:
        return self.cc.names

    @property
    def epochs(self):
        return self.run.epochs

    @property
    def periods(self) -> list:
        eps = self.run.epochs
        return list(zip(eps, eps[1:]))

    @property
    def n_zones(self) -> dict[str, int]:
        return {lv: len(t) for lv, t in self.tables.items()}

    @functools.cached_property
    def onehot(self) -> np.ndarray:
        return self.cc.onehot()

    def epoch_areas(self, i: int) -> dict[str, np.ndarray]:
        """{level: [zone, class] area in ha} of epoch i (a margin of a period's transitions)."""
        if i < len(self.transitions):
            return {lv: t.sum(axis=2) for lv, t in self.transitions[i].items()}
        return {lv: t.sum(axis=1) for lv, t in self.transitions[i - 1].items()}

    def totals(self, maps: list, sizes: list[int], values: dict) -> dict:
        """Zone totals of ``values`` per combination of ``maps`` classes (sinks.zones)."""
        return zonal_totals(self.zone_idx, self.n_zones, maps, sizes, values)

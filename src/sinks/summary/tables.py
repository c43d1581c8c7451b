"""Tables of a run beside the zone table: method comparison, land-cover transitions, time
series, uncertainty attribution and the zones GeoPackage."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from sinks.io.vectors import read_zones
from sinks.plan import zone_levels
from sinks.zone_rows import QUANTITIES

log = logging.getLogger(__name__)

METHOD_PREFIX = {"stock_difference": "", "gain_loss": "gl_", "biomass_map": "rs_",
                 "stock_difference_area_adjusted": "adj_", "gain_loss_area_adjusted": "gl_adj_",
                 "potential_business_as_usual": "bau_", "potential_afforestation": "aff_",
                 "potential_protection": "prot_"}  # GeoPackage column prefixes (else "<method>_")


def attribution(rows: pd.DataFrame, shares: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Tidy variance shares (≥ 0.1 %) of the 'all ecosystems' stock and sink rows."""
    pick = rows.index[(rows.ecosystem == "all") & rows.quantity.isin(["carbon_stock", "net_sink"])]
    out = []
    for i in pick:
        r = rows.loc[i]
        for j in np.flatnonzero(shares[i] >= 0.001):
            cls, pool = names[j].split("/")
            out.append((r.zone_level, r.zone_id, r.zone_name, r.quantity, r.year_start,
                        r.year_end, cls, pool, shares[i, j]))
    df = pd.DataFrame(out, columns=["zone_level", "zone_id", "zone_name", "quantity",
                                    "year_start", "year_end", "parameter_class",
                                    "parameter_pool", "variance_share"])
    return df.sort_values(["zone_level", "zone_id", "quantity", "year_start", "variance_share"],
                          ascending=[True, True, True, True, False])


def method_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """Stock-difference and gain-loss net sinks side by side per zone and period (all
    ecosystems), with their difference: the two IPCC methods should agree where both apply; a
    large difference points at growth of forest that stays forest (seen only by gain-loss),
    harvest, or densities inconsistent with the growth rates.

    Periods with a remote-sensing sink add ``biomass_map`` (forest pixels mapped at both ends)
    beside ``gain_loss_forest`` (the gain-loss sink of land that is forest at the period's end)
    and their difference ``biomass_map_minus_gain_loss_forest``: both measure forest biomass
    change, by the maps and by the default growth rates."""
    sub = df[(df.ecosystem == "all") & (df.quantity == "net_sink")]
    keys = ["zone_level", "zone_id", "zone_name", "year_start", "year_end"]
    wide = sub.pivot_table(index=keys + ["basis"], columns="method", values="value").reset_index()
    if "biomass_map" in wide:  # its basis may add "synthetic plots": join on the zone and period
        rs = wide.dropna(subset=["biomass_map"])[keys + ["biomass_map"]]
        wide = wide.drop(columns="biomass_map").dropna(subset=["gain_loss", "stock_difference"])
        forest = df[(df.ecosystem == "forest") & (df.quantity == "net_sink") & (df.method == "gain_loss")]
        wide = (wide.merge(rs, on=keys, how="left")
                .merge(forest[keys + ["value"]].rename(columns={"value": "gain_loss_forest"}), on=keys, how="left"))
        wide["biomass_map_minus_gain_loss_forest"] = wide["biomass_map"] - wide["gain_loss_forest"]
    wide["difference"] = wide["gain_loss"] - wide["stock_difference"]
    with np.errstate(divide="ignore", invalid="ignore"):
        wide["difference_pct_of_stock_difference"] = 100 * wide["difference"] / wide["stock_difference"].abs()
    wide["unit"] = QUANTITIES["net_sink"].unit
    for r in wide[wide.zone_level == wide.zone_level.iloc[0]].itertuples():
        log.info("reconciliation %s %s %d-%d: stock difference %.4g, gain-loss %.4g Mg CO2/yr "
                 "(difference %.4g)", r.zone_level, r.zone_name, r.year_start, r.year_end,
                 r.stock_difference, r.gain_loss, r.difference)
        if "biomass_map" in wide and np.isfinite(r.biomass_map):
            log.info("remote-sensing sink %s %s %d-%d: biomass maps %.4g, gain-loss of forest "
                     "%.4g Mg CO2/yr (difference %.4g)", r.zone_level, r.zone_name, r.year_start,
                     r.year_end, r.biomass_map, r.gain_loss_forest, r.biomass_map_minus_gain_loss_forest)
    return wide


def transition_table(periods: list, transitions: list[dict], tables: dict, names: list[str],
                     onehot: np.ndarray) -> pd.DataFrame:
    """Tidy land-cover change matrix: area (ha) from each reporting class to each, per zone and
    period (the diagonal is land remaining in its class)."""
    rows = []
    for (e0, e1), per_level in zip(periods, transitions):
        basis = "scenario" if "scenario" in (e0.basis, e1.basis) else "observed"
        for lv, t in per_level.items():
            by_class = np.einsum("zab,ai,bj->zij", t, onehot, onehot)
            for _, z in tables[lv].iterrows():
                m = by_class[int(z["index"])]
                for a, b in zip(*np.nonzero(m)):
                    rows.append((lv, z["zone_id"], z["zone_name"], e0.year, e1.year, names[a],
                                 names[b], m[a, b], "ha", basis))
    return pd.DataFrame(rows, columns=["zone_level", "zone_id", "zone_name", "year_start",
                                       "year_end", "from_class", "to_class", "value", "unit",
                                       "basis"])


def write_zones_gpkg(cfg: dict, df: pd.DataFrame, path: Path, grid) -> None:
    """One layer per zone level with the 'all ecosystems' figures as columns, for GIS users;
    without zones, one layer ``region`` whose polygon is the run grid's footprint."""
    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    layers = [(z["level"], read_zones(z["path"], z["id_field"], z["name_field"]), z.get("note", ""))
              for z in cfg["zones"]]
    if not layers:
        region = gpd.GeoDataFrame({"zone_id": ["region"], "zone_name": ["whole grid"]},
                                  geometry=[grid.extent.geom], crs=grid.crs.to_wkt())
        layers = [(zone_levels(cfg)[0], region, "no zones configured: the run grid's footprint")]
    for level, gdf, note in layers:
        sub = df[(df.zone_level == level) & (df.ecosystem == "all")]
        col = [f"{METHOD_PREFIX.get(m, m + '_')}{q}_{QUANTITIES[q].column_unit}_{y0}"
               + ("" if y0 == y1 else f"_{y1}")
               for q, y0, y1, m in zip(sub.quantity, sub.year_start, sub.year_end, sub.method)]
        wide = sub.assign(column=col).pivot(index="zone_id", columns="column", values="value")
        out = gdf.merge(wide, left_on="zone_id", right_index=True, how="left")
        out["note"] = note
        out.to_file(tmp, layer=level, driver="GPKG")
    tmp.replace(path)


def time_series(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy time series per zone and ecosystem: stock at each epoch, its cumulative change since
    the first epoch, and the mean annual net sink of the period ending at each epoch (irregular
    spacing allowed: each period's sink is its own Eq. 2.5 rate).

    Stock-difference rows only (one value per zone, ecosystem and year). Columns
    ``zone_level, zone_id, zone_name, ecosystem, year, carbon_stock`` (Mg C),
    ``cumulative_change`` (Mg C since the first epoch; + = gain), ``net_sink`` (Mg CO2 yr-1 over
    the period ending at ``year``, + = sink; empty at the first epoch), ``basis``, plus the 95 %
    interval of the stock and sink where computed.
    """
    keys = ["zone_level", "zone_id", "zone_name", "ecosystem"]
    extra = [c for c in ("ci_low", "ci_high") if c in df.columns]
    df = df[df.method == "stock_difference"]
    stock = df[df.quantity == "carbon_stock"][keys + ["year_start", "value", "basis"] + extra]
    stock = stock.rename(columns={"year_start": "year", "value": "carbon_stock",
                                  **{c: f"carbon_stock_{c}" for c in extra}})
    stock = stock.sort_values(keys + ["year"])
    stock["cumulative_change"] = stock["carbon_stock"] - stock.groupby(keys)["carbon_stock"].transform("first")
    sink = df[df.quantity == "net_sink"][keys + ["year_end", "value"] + extra]
    sink = sink.rename(columns={"year_end": "year", "value": "net_sink",
                                **{c: f"net_sink_{c}" for c in extra}})
    out = stock.merge(sink, on=keys + ["year"], how="left")
    cols = keys + ["year", "carbon_stock", "cumulative_change", "net_sink", "basis"]
    return out[cols + [c for c in out.columns if c not in cols]]

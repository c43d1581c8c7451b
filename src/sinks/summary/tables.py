"""Tables of a run beside the zone table: method comparison, land-cover transitions, time
series, uncertainty attribution and the zones GeoPackage."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from sinks.constants import C_TO_CO2
from sinks.io.vectors import read_zone_entry
from sinks.plan import zone_levels
from sinks.zone_rows import QUANTITIES

log = logging.getLogger(__name__)

# GeoPackage field names <quantity>_<method>_<years>[_lo|_hi], lowercase ascii, at most
# FIELD_MAX characters; the layer "fields" gives each one's long name, unit, method and years
QUANTITY_CODES = {"area": "area", "carbon_stock": "stock", "carbon_stock_agb": "agb",
                  "carbon_stock_bgb": "bgb", "carbon_stock_dead": "dom", "carbon_stock_soc": "soc",
                  "stock_path": "path", "stock_path_biomass": "pathbio", "stock_path_soc": "pathsoc",
                  "net_sink": "sink", "net_sink_remaining": "rem", "net_sink_harvest": "harv",
                  "net_sink_conversion": "conv", "net_sink_soil": "soil", "gross_removals": "grem",
                  "gross_emissions": "gemi", "sink_potential": "pot", "ch4_emissions_co2e": "ch4",
                  "net_sink_with_ch4": "sinkch4"}
METHOD_CODES = {"stock_difference": "sd", "land_use_change": "luc", "gain_loss": "gl", "biomass_map": "rs",
                "stock_difference_area_adjusted": "sda", "land_use_change_area_adjusted": "luca",
                "gain_loss_area_adjusted": "gla", "potential_business_as_usual": "bau",
                "potential_afforestation": "aff", "potential_protection": "prot"}
STATS = {"value": ("", "value"), "ci_low": ("_lo", "95 % interval, low"),
         "ci_high": ("_hi", "95 % interval, high")}
FIELD_MAX = 20


def attribution(rows: pd.DataFrame, shares: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Tidy variance shares (≥ 0.1 %) of the 'all ecosystems' stock and sink rows; ``parameter``
    is an independent source of error: a registry id (shared by every density derived from it)
    or a density-table row ``class/pool`` of its own."""
    pick = rows.index[(rows.ecosystem == "all") & rows.quantity.isin(["carbon_stock", "net_sink"])]
    out = []
    for i in pick:
        r = rows.loc[i]
        for j in np.flatnonzero(shares[i] >= 0.001):
            out.append((r.zone_level, r.zone_id, r.zone_name, r.quantity, r.year_start,
                        r.year_end, names[j], shares[i, j]))
    df = pd.DataFrame(out, columns=["zone_level", "zone_id", "zone_name", "quantity",
                                    "year_start", "year_end", "parameter", "variance_share"])
    return df.sort_values(["zone_level", "zone_id", "quantity", "year_start", "variance_share"],
                          ascending=[True, True, True, True, False])


PARTS = ("net_sink_remaining", "net_sink_harvest", "net_sink_conversion", "net_sink_soil")  # add up to net_sink
BALANCE_METHODS = ("land_use_change", "gain_loss")  # methods whose rows cover every pixel


def method_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """Every method's net sink per zone and period (all ecosystems) with its parts, so a
    reader sees where two methods part: growth of land remaining in its class and harvest
    (seen by gain-loss only: the look-up land-use-change component has none by construction),
    biomass of conversions, soils, and with wetland CH4 the CH4 in CO2e; plus the
    differences of gain-loss from the land-use-change component, part by part.

    Periods with a remote-sensing sink add ``biomass_map`` (forest pixels mapped at both ends)
    beside ``gain_loss_forest`` (the gain-loss sink of land that is forest at the period's
    end): both measure forest biomass change, by the maps and by the default growth rates."""
    keys = ["zone_level", "zone_id", "zone_name", "year_start", "year_end"]
    sub = df[(df.ecosystem == "all") & df.quantity.isin(("net_sink", *PARTS, "ch4_emissions_co2e"))
             & df.method.isin(BALANCE_METHODS + ("biomass_map",))]
    wide = sub.pivot_table(index=keys, columns=["method", "quantity"], values="value", aggfunc="first")
    wide.columns = [f"{m}_{q}" if q != "net_sink" else m for m, q in wide.columns]
    wide = wide.reset_index()
    if {"gain_loss", "land_use_change"} <= set(wide.columns):
        wide["difference"] = wide["gain_loss"] - wide["land_use_change"]
        for q in PARTS:
            wide[f"difference_{q}"] = wide[f"gain_loss_{q}"] - wide[f"land_use_change_{q}"]
    if "biomass_map" in wide:
        forest = df[(df.ecosystem == "forest") & (df.quantity == "net_sink") & (df.method == "gain_loss")]
        wide = wide.merge(forest[keys + ["value"]].rename(columns={"value": "gain_loss_forest"}), on=keys, how="left")
        wide["biomass_map_minus_gain_loss_forest"] = wide["biomass_map"] - wide["gain_loss_forest"]
    wide["unit"] = QUANTITIES["net_sink"].unit
    first = wide[wide.zone_level == wide.zone_level.iloc[0]] if len(wide) else wide
    for r in first.to_dict("records"):
        parts = "; ".join(f"{m}: {r[m] / 1e6:.4g} = " + " + ".join(
            f"{r[f'{m}_{q}'] / 1e6:.4g} ({q.removeprefix('net_sink_')})" for q in PARTS)
            for m in BALANCE_METHODS if m in r and np.isfinite(r[m]))
        log.info("methods %s %s %d-%d, Tg CO2/yr: %s", r["zone_level"], r["zone_name"],
                 r["year_start"], r["year_end"], parts)
    return wide


def stock_paths(df: pd.DataFrame) -> pd.DataFrame:
    """Each balance method's stock path (IPCC 2006 Vol.4 Ch.2 Eq. 2.5 read backwards): the
    first epoch's stock, then every epoch's stock = the previous one + its period's net sink ×
    years × 12/44, per pool group (biomass and dead organic matter: remaining, harvest and
    conversion parts; soil: the soil part). Rows ``stock_path``, ``stock_path_biomass`` and
    ``stock_path_soc`` (Mg C, all ecosystems, every zone) under the method's name, so each
    method's sink is the change of its own stock path (tested)."""
    keys = ["zone_level", "zone_id", "zone_name"]
    allx = df[df.ecosystem == "all"]
    stock = allx[(allx.method == "stock_difference") & (allx.year_start == allx.year_start.min())]
    start = stock.pivot_table(index=keys, columns="quantity", values="value", aggfunc="first")
    if start.empty:
        return pd.DataFrame(columns=df.columns)
    biomass0 = sum(start[f"carbon_stock_{p}"] for p in ("agb", "bgb", "dead"))
    out = []
    for m in BALANCE_METHODS:
        sink = allx[(allx.method == m) & allx.quantity.isin(("net_sink", *PARTS))]
        if sink.empty:
            continue
        path = {"stock_path_biomass": biomass0.copy(), "stock_path_soc": start["carbon_stock_soc"].copy()}
        year0 = int(stock.year_start.iloc[0])
        out += _path_rows(path, year0, m, stock.basis.iloc[0])
        for (y0, y1), g in sink.groupby(["year_start", "year_end"], sort=True):
            q = g.pivot_table(index=keys, columns="quantity", values="value", aggfunc="first").reindex(start.index)
            to_c = (y1 - y0) / C_TO_CO2
            soil = q.get("net_sink_soil", 0.0)
            path["stock_path_biomass"] = path["stock_path_biomass"] + (q["net_sink"] - soil) * to_c
            path["stock_path_soc"] = path["stock_path_soc"] + soil * to_c
            out += _path_rows(path, int(y1), m, g.basis.iloc[0])
    return pd.DataFrame(out)


def _path_rows(path: dict, year: int, method: str, basis: str) -> list[dict]:
    total = path["stock_path_biomass"] + path["stock_path_soc"]
    rows = []
    for quantity, series in (("stock_path", total), *path.items()):
        for (lv, zid, zname), v in series.items():
            rows.append({"zone_level": lv, "zone_id": zid, "zone_name": zname, "ecosystem": "all",
                         "quantity": quantity, "year_start": year, "year_end": year, "value": v,
                         "unit": QUANTITIES[quantity].unit, "method": method, "basis": basis,
                         "uncertainty_approach": "none: stock path = first epoch's stock + the "
                                                 "method's changes (their rows carry the intervals)"})
    return rows


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


def field_name(quantity: str, method: str, y0: int, y1: int, stat: str = "value", digits: int = 2) -> str:
    """A zones-GeoPackage field name, e.g. ``sink_gl_1925_lo`` (net sink, gain-loss,
    2019-2025, 95 % low): quantity and method codes (else their initials), years to
    ``digits`` digits (one year for a snapshot)."""
    code = QUANTITY_CODES.get(quantity) or "".join(w[0] for w in quantity.split("_"))
    meth = METHOD_CODES.get(method) or "".join(w[0] for w in method.split("_"))
    years = f"{y0 % 10 ** digits:0{digits}d}" + ("" if y0 == y1 else f"{y1 % 10 ** digits:0{digits}d}")
    return f"{code}_{meth}_{years}{STATS[stat][0]}"


def zone_fields(sub: pd.DataFrame) -> pd.DataFrame:
    """One row per GeoPackage field of the 'all ecosystems' rows ``sub``: field, long_name,
    quantity, method, year_start, year_end, statistic, unit, sign; two-digit years unless two
    fields would share a name, then four."""
    keys = ["quantity", "method", "year_start", "year_end"]
    combos = sub.drop_duplicates(keys)
    rows = []
    for digits in (2, 4):
        rows = [{"field": field_name(r.quantity, r.method, r.year_start, r.year_end, stat, digits),
                 "long_name": f"{r.quantity} {r.year_start}" + ("" if r.year_start == r.year_end else f"-{r.year_end}")
                              + f", {r.method}, all ecosystems, {STATS[stat][1]}",
                 "quantity": r.quantity, "method": r.method, "year_start": r.year_start,
                 "year_end": r.year_end, "statistic": stat, "unit": QUANTITIES[r.quantity].unit,
                 "sign": QUANTITIES[r.quantity].sign}
                for r in combos.itertuples() for stat in STATS
                if stat == "value" or (stat in sub and sub.loc[(sub[keys] == [getattr(r, k) for k in keys]).all(axis=1), stat].notna().any())]
        if len({r["field"] for r in rows}) == len(rows):
            break
    return pd.DataFrame(rows, columns=["field", "long_name", "quantity", "method", "year_start", "year_end",
                                       "statistic", "unit", "sign"])


ID_FIELDS = [{"field": "zone_id", "long_name": "zone identifier (the boundaries' id field)", "unit": ""},
             {"field": "zone_name", "long_name": "zone name (the boundaries' name field)", "unit": ""},
             {"field": "note", "long_name": "the zone level's note from the config", "unit": ""}]


def write_zones_gpkg(cfg: dict, df: pd.DataFrame, path: Path, grid) -> None:
    """One layer per zone level with the 'all ecosystems' figures and their 95 % intervals as
    short fields (:func:`field_name`), and a non-spatial layer ``fields`` (level, field, long
    name, quantity, method, years, statistic, unit, sign) explaining each; without zones, one
    layer ``region`` whose polygon is the run grid's footprint."""
    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    layers = [(z["level"], read_zone_entry(z), z.get("note", ""))
              for z in cfg["zones"]]
    if not layers:
        region = gpd.GeoDataFrame({"zone_id": ["region"], "zone_name": ["whole grid"]},
                                  geometry=[grid.extent.geom], crs=grid.crs.to_wkt())
        layers = [(zone_levels(cfg)[0], region, "no zones configured: the run grid's footprint")]
    lookup = []
    for level, gdf, note in layers:
        sub = df[(df.zone_level == level) & (df.ecosystem == "all")]
        fields = zone_fields(sub)
        keys = ["quantity", "method", "year_start", "year_end"]
        index = sub.set_index(keys + ["zone_id"])
        cols = {}
        for f in fields.itertuples():
            vals = index.xs(tuple(getattr(f, k) for k in keys), level=keys)[f.statistic]
            cols[f.field] = gdf["zone_id"].map(vals[~vals.index.duplicated()])
        out = pd.concat([gdf, pd.DataFrame(cols, index=gdf.index)], axis=1).assign(note=note)
        out.to_file(tmp, layer=level, driver="GPKG")
        lookup.append(pd.concat([pd.DataFrame(ID_FIELDS), fields]).assign(level=level))
    table = pd.concat(lookup, ignore_index=True).astype({"year_start": "Int64", "year_end": "Int64"})
    pyogrio.write_dataframe(table[["level", *[c for c in table.columns if c != "level"]]], tmp,
                            layer="fields", driver="GPKG")
    tmp.replace(path)


def time_series(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy time series per zone, method and ecosystem: each balance method's stock path (all
    ecosystems, :func:`stock_paths` rows in ``df``) with the net sink of the period ending at
    each epoch, whose change it is; and the class look-up stock of every ecosystem (method
    ``stock_difference``: a snapshot of each epoch's land cover, no sink of its own).

    Columns ``zone_level, zone_id, zone_name, method, ecosystem, year, carbon_stock`` (Mg C),
    ``cumulative_change`` (Mg C since the first epoch; + = gain), ``net_sink`` (Mg CO2 yr-1
    over the period ending at ``year``, + = sink; empty at the first epoch and for the
    look-up snapshots), ``basis``, plus the 95 % interval where computed.
    """
    keys = ["zone_level", "zone_id", "zone_name", "method", "ecosystem"]
    extra = [c for c in ("ci_low", "ci_high") if c in df.columns]
    methods = ("stock_difference",) + BALANCE_METHODS
    stock = df[((df.quantity == "carbon_stock") & (df.method == "stock_difference"))
               | ((df.quantity == "stock_path") & df.method.isin(methods))]
    stock = stock[keys + ["year_start", "value", "basis"] + extra].rename(
        columns={"year_start": "year", "value": "carbon_stock", **{c: f"carbon_stock_{c}" for c in extra}})
    stock = stock.sort_values(keys + ["year"])
    stock["cumulative_change"] = stock["carbon_stock"] - stock.groupby(keys)["carbon_stock"].transform("first")
    sink = df[(df.quantity == "net_sink") & df.method.isin(BALANCE_METHODS)]
    sink = sink[keys + ["year_end", "value"] + extra].rename(
        columns={"year_end": "year", "value": "net_sink", **{c: f"net_sink_{c}" for c in extra}})
    out = stock.merge(sink, on=keys + ["year"], how="left")
    cols = keys + ["year", "carbon_stock", "cumulative_change", "net_sink", "basis"]
    return out[cols + [c for c in out.columns if c not in cols]]

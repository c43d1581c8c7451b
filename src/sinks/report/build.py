"""What the report shows, gathered from a finished run: its tables and maps, zone names in both
languages, the headline figures (rows of ``zonal_summary.csv`` and ``inventory_comparison.csv``,
never recomputed), the flagged inputs behind the badges, and the provenance (resolved config,
input checksums, package versions)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyogrio
import rasterio

from sinks import config as cfgmod
from sinks.inventory import inventory_path
from sinks.io.vectors import read_zone_entry
from sinks.parameters import registry_table
from sinks.plan import densities_file, zone_levels
from sinks.run import Run

FLAG_KINDS = ("SCENARIO", "SYNTHETIC", "UNCONFIRMED", "ASSUMPTION")
# words in config text that mark an input, and the badge each gives
FLAG_WORDS = {"SCENARIO": "SCENARIO", "SYNTHETIC": "SYNTHETIC", "UNCONFIRMED": "UNCONFIRMED",
              "ASSUMPTION": "ASSUMPTION", "STAND-IN": "ASSUMPTION"}
TABLES = ("zonal_summary", "method_comparison", "inventory_comparison", "time_series",
          "land_cover_transitions", "uncertainty_attribution", "forest_strata_summary")
SINK_METHODS = ("gain_loss", "land_use_change", "biomass_map")  # net_sink rows, in this order
SINK_MAPS = {"gain_loss_net": "gain_loss", "net_sink": "land_use_change", "rs_net_sink": "biomass_map"}
PACKAGES = ("sinks", "numpy", "pandas", "xarray", "rioxarray", "rasterio", "odc-geo", "geopandas",
            "shapely", "pyproj", "scipy", "snakemake", "matplotlib", "jinja2", "scikit-learn")


@dataclass(frozen=True)
class Flag:
    """An input that a badge points to: its kind, where it is (config key, parameter, table
    figure), its note, and which figures it touches (``all`` or ``level:<name>``)."""

    kind: str
    where: str
    text: str
    scope: str = "all"


@dataclass
class ReportData:
    """Everything the report shows (see the module docstring)."""

    cfg: dict
    tables: dict[str, pd.DataFrame]
    head: tuple[str, str]  # (level, zone_id) of the headline figures
    names: dict[tuple[str, str], tuple[str, str]]  # (level, zone_id) -> (zh, en)
    zones: dict[str, object]  # level -> GeoDataFrame of its polygons
    flags: list[Flag]
    maps: list[tuple[str, dict, Path]]  # (kind, fields, path) of the maps shown
    run_config: str
    inputs: list[tuple[str, int, str]]  # (path, bytes, sha256)
    packages: list[tuple[str, str]]
    config_hash: str


def basis_flags(basis) -> set[str]:
    """Badge kinds of a ``basis`` value of the tables (``scenario; synthetic inundation``, ...)."""
    text = str(basis).lower()
    return {k for k in ("SCENARIO", "SYNTHETIC") if k.lower() in text}


def map_flags(path: Path) -> set[str]:
    """Badge kinds of a map from its tags (``basis``, ``scenario``, ``synthetic``)."""
    with rasterio.open(path) as src:
        tags = src.tags()
    out = basis_flags(tags.get("basis", ""))
    if tags.get("scenario", "").lower() == "true":
        out.add("SCENARIO")
    if tags.get("synthetic", "").lower().startswith("true"):
        out.add("SYNTHETIC")
    return out


def scope_flags(flags: list[Flag], level: str | None = None) -> set[str]:
    """Kinds of the config and registry flags that touch a figure of ``level`` (or of every
    level: None)."""
    return {f.kind for f in flags if f.scope == "all" or (level and f.scope == f"level:{level}")}


def _walk(obj, key=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{key}.{k}" if key else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{key}[{i}]")
    else:
        yield key, obj


def config_flags(cfg: dict, registry: pd.DataFrame) -> list[Flag]:
    """Flags from the resolved config's text (notes, sources, file names with SCENARIO,
    SYNTHETIC, UNCONFIRMED, ASSUMPTION or STAND-IN), its scenario epochs, and the effective
    parameter registry's ASSUMPTION sources. A zone's note touches its level only."""
    flags = []
    for year, spec in cfg["landcover"]["epochs"].items():
        if isinstance(spec, dict) and "scenario" in spec:
            names = ", ".join(c["name"] for c in spec["scenario"].get("changes", []))
            flags.append(Flag("SCENARIO", f"landcover.epochs.{year}",
                              f"derived from {spec['scenario']['from']} by scenario rules ({names})", "config"))
    for key, value in _walk({k: v for k, v in cfg.items() if k not in ("parameters", "_source")}):
        if not isinstance(value, str) or key.startswith("landcover.epochs"):
            continue
        kinds = {kind for word, kind in FLAG_WORDS.items() if word in value.upper()}
        # config text names SCENARIO and SYNTHETIC inputs; the figures take those badges from
        # their rows' basis and their maps' tags, so only assumptions touch figures from here
        scope = "all"
        if key.startswith("zones["):
            scope = f"level:{cfg['zones'][int(key[6:key.index(']')])]['level']}"
        flags += [Flag(k, key, value, scope if k == "ASSUMPTION" else "config") for k in sorted(kinds)]
    table = registry_table(registry)
    for row in table.itertuples():
        if "ASSUMPTION" in str(row.source).upper():
            flags.append(Flag("ASSUMPTION", f"parameters.{row.id}", f"{row.value} {row.unit}: {row.source}"))
    return flags


def inventory_flags(inv: pd.DataFrame | None) -> list[Flag]:
    """One UNCONFIRMED flag per unconfirmed published figure of the inventory comparison."""
    if inv is None:
        return []
    rows = inv[inv["status"].astype(str).str.upper() == "UNCONFIRMED"].drop_duplicates("figure")
    return [Flag("UNCONFIRMED", f"inventory_comparison.csv: {r.figure}", str(r.source), "inventory")
            for r in rows.itertuples()]


def zone_names(cfg: dict, zones: dict, df: pd.DataFrame) -> dict:
    """(level, zone id) -> (Chinese, English) name: the English one as in the tables, the
    Chinese one from ``name_field_zh`` or a ``name_zh`` field of the zone file, else the same."""
    out = {(r.zone_level, str(r.zone_id)): (str(r.zone_name), str(r.zone_name))
           for r in df[["zone_level", "zone_id", "zone_name"]].drop_duplicates().itertuples()}
    for z in cfg["zones"]:
        zh = zones.get(f"{z['level']}_zh")
        if zh is None:
            continue
        for zid, name in zip(zh.zone_id, zh.zone_name):
            en = out.get((z["level"], zid), (name, name))[1]
            out[(z["level"], zid)] = (name, en)
    return out


def read_zone_layers(cfg: dict) -> dict:
    """Each configured zone level's polygons (and ``<level>_zh`` with Chinese names when the
    file has them)."""
    out = {}
    for z in cfg["zones"]:
        out[z["level"]] = read_zone_entry(z)
        zh = z.get("name_field_zh") or ("name_zh" if "name_zh" in _fields(z) else None)
        if zh:
            out[f"{z['level']}_zh"] = read_zone_entry({**z, "name_field": zh})
    return out


def _fields(zone: dict) -> list[str]:
    return list(pyogrio.read_info(zone["path"], layer=zone["layer"])["fields"])


def headline_zone(cfg: dict, df: pd.DataFrame) -> tuple[str, str]:
    """The zone of the headline figures: the first configured level with one zone (the
    province, the grid's clip level), else the first zone of the first level."""
    levels = zone_levels(cfg)
    clip = cfg["grid"]["clip_to"]
    for lv in ([clip] if clip else []) + levels:
        ids = df.loc[df.zone_level == lv, "zone_id"].astype(str).unique()
        if len(ids) == 1:
            return lv, ids[0]
    lv = levels[0]
    return lv, str(df.loc[df.zone_level == lv, "zone_id"].astype(str).iloc[0])


def shown_maps(cfg: dict, paths) -> list[tuple[str, dict, Path]]:
    """The maps of the report that the run made: stock of the first and last epoch, each
    method's net sink of its last period, and the sd of the last stock and sinks."""
    years = [e.year for e in cfgmod.epochs(cfg)]
    periods = cfgmod.periods(cfg)
    wanted = [("carbon_stock", {"year": years[0]}), ("carbon_stock", {"year": years[-1]})]
    for kind in SINK_MAPS:
        for y0, y1 in reversed(periods):
            if paths.output(kind, y0=y0, y1=y1).exists():
                wanted.append((kind, {"y0": y0, "y1": y1}))
                break
    wanted.append(("carbon_stock_sd", {"year": years[-1]}))
    if periods:
        wanted += [(f"{k}_sd", {"y0": periods[-1][0], "y1": periods[-1][1]}) for k in ("gain_loss_net", "net_sink")]
    return [(k, f, paths.output(k, **f)) for k, f in wanted if paths.output(k, **f).exists()]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_files(cfg: dict, run_root: Path) -> list[tuple[str, int, str]]:
    """Every existing file the config names (and the density and inventory tables), outside
    the run folder, with its size and SHA-256."""
    names = [v for k, v in _walk({k: v for k, v in cfg.items() if k != "_source"}) if isinstance(v, str)]
    names.append(str(densities_file(cfg)))
    if cfg.get("inventory"):  # a built-in inventory table by name
        names.append(str(inventory_path(cfg["inventory"])))
    seen, out = set(), []
    root = run_root.resolve()
    for name in names:
        p = Path(name)
        try:
            if not p.is_file() or root in p.resolve().parents or p.resolve() in seen:
                continue
        except OSError:  # a string that is not a usable path (too long, bad characters)
            continue
        seen.add(p.resolve())
        out.append((name, p.stat().st_size, _sha256(p)))
    return out


def package_versions() -> list[tuple[str, str]]:
    out = [("python", platform.python_version())]
    for name in PACKAGES:
        try:
            out.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def gather(run: Run) -> ReportData:
    """Read a finished run's tables, maps, zones and provenance for the report."""
    cfg, paths = run.cfg, run.paths
    tables = {k: pd.read_csv(paths.output(k), dtype={"zone_id": str})
              for k in TABLES if paths.output(k).exists()}
    df = tables["zonal_summary"]
    zones = read_zone_layers(cfg)
    flags = config_flags(cfg, run.registry) + inventory_flags(tables.get("inventory_comparison"))
    rc = paths.run_config()
    return ReportData(
        cfg=cfg, tables=tables, head=headline_zone(cfg, df), names=zone_names(cfg, zones, df),
        zones={k: v for k, v in zones.items() if not k.endswith("_zh")}, flags=flags,
        maps=shown_maps(cfg, paths), run_config=rc.read_text(encoding="utf-8") if rc.exists() else "",
        inputs=input_files(cfg, paths.root), packages=package_versions(),
        config_hash=cfgmod.config_hash(cfg))


@dataclass(frozen=True)
class Headline:
    """One headline figure: the table row it is (source table, quantity, method, zone, years)
    with its value and 95 % interval in the table's unit, and its badges."""

    source: str
    quantity: str
    method: str
    level: str
    zone_id: str
    year_start: int
    year_end: int
    value: float
    low: float | None
    high: float | None
    unit: str
    flags: frozenset
    reference: str = ""  # inventory figures: published value or range and the verdict
    figure: str = ""  # inventory figure id


def _num(x) -> float | None:
    return None if pd.isna(x) else float(x)


def headlines(data: ReportData) -> dict[str, list[Headline]]:
    """The headline figures of the headline zone: the carbon stock of every epoch (stock
    difference), each method's net sink of every period, and the run's forest sink beside the
    inventory's; each the row of its table as it is."""
    df = data.tables["zonal_summary"]
    lv, zid = data.head
    here = df[(df.zone_level == lv) & (df.zone_id == zid) & (df.ecosystem == "all")]
    scope = scope_flags(data.flags, lv)

    def item(r, source="zonal_summary.csv"):
        return Headline(source, r.quantity, r.method, lv, zid, int(r.year_start), int(r.year_end),
                        float(r.value), _num(r.ci_low), _num(r.ci_high), r.unit,
                        frozenset(basis_flags(r.basis) | scope))

    stock_method = "stock_difference" if (here.method == "stock_difference").any() else None
    stock = here[(here.quantity == "carbon_stock") & (here.method == stock_method)]
    sinks = here[here.quantity == "net_sink"]
    order = {m: i for i, m in enumerate(SINK_METHODS)}
    sinks = sinks.assign(_o=sinks.method.map(lambda m: order.get(m, len(order)))).sort_values(["_o", "year_start"])
    out = {"stock": [item(r) for r in stock.sort_values("year_start").itertuples()],
           "sink": [item(r) for r in sinks.itertuples()], "inventory": []}
    inv = data.tables.get("inventory_comparison")
    if inv is not None:
        rows = inv[(inv.quantity == "forest_net_sink") & inv.run_value.notna()
                   & inv.reference_value.notna()]
        for r in rows.itertuples():
            flags = basis_flags(r.basis) | scope
            if str(r.status).upper() == "UNCONFIRMED":
                flags.add("UNCONFIRMED")
            ref = f"{r.reference_value:g}" + (f" ({r.reference_low:g}–{r.reference_high:g})"
                                               if pd.notna(r.reference_low) and pd.notna(r.reference_high) else "")
            out["inventory"].append(Headline(
                "inventory_comparison.csv", r.quantity, r.method, lv, zid, int(r.run_year_start),
                int(r.run_year_end), float(r.run_value), None, None, r.unit, frozenset(flags),
                f"{ref} {r.unit}; {r.verdict}", r.figure))
    return out

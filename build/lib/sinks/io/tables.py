"""Read and check the tabular inputs: legends and carbon-density tables.

Two density formats are accepted:

* the sinks table (tidy): ``ecosystem, pool, value, unit, sd, distribution, source, status,
  note`` with pools agb, bgb, dead, soc in Mg C ha-1, one row per ecosystem class and pool;
* an InVEST Carbon biophysical table: ``lucode, c_above, c_below, c_soil, c_dead`` in
  Mg C ha-1, applied to the raster codes directly (InVEST 3.x carbon model).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from sinks.errors import InputDataError
from sinks.io.outputs import POOLS
from sinks.landcover import BUILTIN_LEGENDS, ECOSYSTEM_CODES

log = logging.getLogger(__name__)

INVEST_COLUMNS = {"c_above": "agb", "c_below": "bgb", "c_dead": "dead", "c_soil": "soc"}
SINKS_COLUMNS = ["ecosystem", "pool", "value", "unit", "sd", "distribution", "source", "status"]
UNIT = "Mg C ha-1"
BUILTIN_DENSITIES_NAME = "jiangxi_default"


@dataclass(frozen=True)
class Densities:
    """Carbon densities (Mg C ha-1) per class and pool.

    ``kind`` is ``"sinks"`` (index = ecosystem class name) or ``"invest"`` (index = raster
    code). ``values`` has one column per pool; ``meta`` keeps sd, source and status per row.
    """

    kind: str
    values: pd.DataFrame
    meta: pd.DataFrame
    path: str


def builtin_densities_path() -> Path:
    return Path(str(resources.files("sinks").joinpath("data/densities_jiangxi.csv")))


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise InputDataError(f"{path}: {what} not found; check the path in the config")
    try:
        return pd.read_csv(path, comment="#", skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputDataError(f"{path}: cannot be read as a CSV {what} ({exc}); save it as "
                             "UTF-8 comma-separated text with a header row") from None


def read_densities(path: str | Path) -> Densities:
    """Read and check a density table (sinks or InVEST format, detected by its columns)."""
    path = Path(path)
    df = _read_csv(path, "carbon density table")
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "lucode" in df.columns:
        return _read_invest(df, path)
    missing = [c for c in ("ecosystem", "pool", "value", "unit") if c not in df.columns]
    if missing:
        raise InputDataError(
            f"{path}: missing column(s) {missing}; a density table is either a sinks table "
            f"({', '.join(SINKS_COLUMNS)}) or an InVEST table (lucode, c_above, c_below, c_soil, c_dead)")
    df["ecosystem"] = df["ecosystem"].astype(str).str.strip()
    df["pool"] = df["pool"].astype(str).str.strip()
    unknown = sorted(set(df["ecosystem"]) - set(ECOSYSTEM_CODES))
    if unknown:
        raise InputDataError(f"{path}: unknown ecosystem class(es) {unknown}; use "
                             f"{sorted(ECOSYSTEM_CODES)}")
    bad_pool = sorted(set(df["pool"]) - set(POOLS))
    if bad_pool:
        raise InputDataError(f"{path}: unknown pool(s) {bad_pool}; use {list(POOLS)}")
    dup = df[df.duplicated(["ecosystem", "pool"], keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise InputDataError(f"{path}: duplicate row for ecosystem {first['ecosystem']!r}, pool "
                             f"{first['pool']!r}; keep one row per ecosystem and pool")
    bad_unit = sorted(set(df["unit"].astype(str).str.strip()) - {UNIT})
    if bad_unit:
        raise InputDataError(f"{path}: unit(s) {bad_unit} not supported; give densities in {UNIT!r}")
    values = _numeric(df, "value", path, lambda r: f"ecosystem {r['ecosystem']!r}, pool {r['pool']!r}")
    df["value"] = values
    wide = df.pivot(index="ecosystem", columns="pool", values="value")
    incomplete = [(e, p) for e in wide.index for p in POOLS if p not in wide.columns or pd.isna(wide.loc[e, p])]
    if incomplete:
        e, p = incomplete[0]
        raise InputDataError(f"{path}: ecosystem {e!r} has no row for pool {p!r}; give all four "
                             f"pools {list(POOLS)} (0 where a pool is absent)")
    meta = df.set_index(["ecosystem", "pool"])
    _warn_unconfirmed(meta, path)
    return Densities("sinks", wide[list(POOLS)], meta, str(path))


def _numeric(df: pd.DataFrame, col: str, path: Path, where) -> pd.Series:
    values = pd.to_numeric(df[col], errors="coerce")
    for i in df.index[values.isna() | (values < 0)]:
        raw = df.loc[i, col]
        problem = "is not a number" if pd.isna(values[i]) else "is negative"
        raise InputDataError(f"{path}: {col} {raw!r} for {where(df.loc[i])} {problem}; densities "
                             "must be numbers >= 0 in Mg C ha-1")
    return values


def _read_invest(df: pd.DataFrame, path: Path) -> Densities:
    missing = [c for c in INVEST_COLUMNS if c not in df.columns]
    if missing:
        raise InputDataError(f"{path}: InVEST table lacks column(s) {missing}; it needs lucode, "
                             "c_above, c_below, c_soil, c_dead (Mg C/ha)")
    codes = pd.to_numeric(df["lucode"], errors="coerce")
    if codes.isna().any() or (codes % 1 != 0).any():
        bad = df["lucode"][codes.isna() | (codes % 1 != 0)].iloc[0]
        raise InputDataError(f"{path}: lucode {bad!r} is not an integer; lucodes are the "
                             "raster's class codes")
    dup = sorted(set(codes[codes.duplicated()].astype(int)))
    if dup:
        raise InputDataError(f"{path}: duplicate lucode(s) {dup}; keep one row per code")
    df["lucode"] = codes.astype(int)
    for col in INVEST_COLUMNS:
        df[col] = _numeric(df, col, path, lambda r: f"lucode {r['lucode']}")
    values = df.set_index("lucode")[list(INVEST_COLUMNS)].rename(columns=INVEST_COLUMNS)
    meta = pd.DataFrame({"source": f"InVEST biophysical table {path.name}", "status": "user"},
                        index=values.index)
    return Densities("invest", values[list(POOLS)], meta, str(path))


TABLE_DISTRIBUTIONS = {"normal": "normal", "truncnormal": "truncated_normal",
                       "truncated_normal": "truncated_normal", "lognormal": "lognormal",
                       "none": "constant", "": "constant"}


def density_distributions(densities: Densities) -> dict[tuple[object, str], dict] | None:
    """Uncertainty distribution of every density, keyed (class, pool), in table order; None if
    the table gives no ``sd`` column (e.g. an InVEST table).

    ``truncnormal`` is a normal truncated at 0 (a stock cannot be negative) whose mean and sd
    after truncation are ``value`` and ``sd`` (:func:`sinks.uncertainty.matched_truncated_normal`);
    ``none`` or sd 0 is a constant.
    """
    meta = densities.meta
    if "sd" not in meta.columns:
        return None
    out = {}
    for (cls, pool), row in meta.iterrows():
        where = f"{densities.path}: ecosystem {cls!r}, pool {pool!r}"
        sd = pd.to_numeric(pd.Series([row["sd"]]), errors="coerce").iloc[0]
        if pd.isna(sd) or sd < 0:
            raise InputDataError(f"{where}: sd = {row['sd']!r} must be a number ≥ 0 (Mg C ha-1; "
                                 "0 for no uncertainty)")
        dist = str(row.get("distribution", "normal") if pd.notna(row.get("distribution")) else "").strip().lower()
        if dist not in TABLE_DISTRIBUTIONS:
            raise InputDataError(f"{where}: distribution {dist!r} unknown; use one of "
                                 f"{sorted(k for k in TABLE_DISTRIBUTIONS if k)}")
        kind = "constant" if sd == 0 else TABLE_DISTRIBUTIONS[dist]
        value = float(densities.values.loc[cls, pool])
        spec = {"dist": kind, "value": value} if kind == "constant" else {"dist": kind, "mean": value, "sd": float(sd)}
        if kind == "truncated_normal":
            spec.update(low=0.0, high=None)
        out[(cls, pool)] = spec
    return out


def density_derivations(densities: Densities) -> dict[tuple[object, str], list[str]]:
    """The ``derived_from`` factors of each row that gives them (sinks.density_model): the
    product's factor names, split on ``*``; {} for a table without the column."""
    meta = densities.meta
    if "derived_from" not in meta.columns:
        return {}
    return {key: [f.strip() for f in str(text).split("*")]
            for key, text in meta["derived_from"].items()
            if pd.notna(text) and str(text).strip()}


def _warn_unconfirmed(meta: pd.DataFrame, path: Path) -> None:
    if "status" not in meta.columns:
        return
    flagged = meta[meta["status"].astype(str).str.upper().str.contains("UNCONFIRMED")]
    if len(flagged):
        _warn_once(path.name, len(flagged), ", ".join(f"{e}/{p}" for e, p in flagged.index))


@functools.lru_cache(maxsize=None)
def _warn_once(name: str, count: int, items: str) -> None:
    """The UNCONFIRMED warning, once per table per process (tables are read by many steps)."""
    if count:
        log.warning("%s: %d density value(s) are UNCONFIRMED placeholders (%s); they are "
                    "labelled in the table's status column. Replace them with local values "
                    "before reporting.", name, count, items)


def read_legend(spec: str) -> dict[int, str]:
    """A built-in legend by name, or a CSV legend (columns code, ecosystem[, name])."""
    if spec.lower() in BUILTIN_LEGENDS:
        return dict(BUILTIN_LEGENDS[spec.lower()])
    path = Path(spec)
    if path.suffix.lower() != ".csv":
        raise InputDataError(f"landcover.legend = {spec!r}: not a built-in legend "
                             f"({', '.join(BUILTIN_LEGENDS)}) nor a .csv file")
    df = _read_csv(path, "legend")
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("code", "ecosystem") if c not in df.columns]
    if missing:
        raise InputDataError(f"{path}: legend lacks column(s) {missing}; it needs code, "
                             "ecosystem (and optionally name)")
    codes = pd.to_numeric(df["code"], errors="coerce")
    if codes.isna().any() or (codes % 1 != 0).any():
        raise InputDataError(f"{path}: code {df['code'][codes.isna()].iloc[0]!r} is not an integer")
    dup = sorted(set(codes[codes.duplicated()].astype(int)))
    if dup:
        raise InputDataError(f"{path}: duplicate code(s) {dup}; each raster code maps to one ecosystem")
    eco = df["ecosystem"].astype(str).str.strip()
    unknown = sorted(set(eco) - set(ECOSYSTEM_CODES))
    if unknown:
        raise InputDataError(f"{path}: unknown ecosystem class(es) {unknown}; use "
                             f"{sorted(ECOSYSTEM_CODES)}")
    return dict(zip(codes.astype(int), eco))


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table atomically (temporary name, then rename), floats to 10 significant digits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False, float_format="%.10g")
    tmp.replace(path)

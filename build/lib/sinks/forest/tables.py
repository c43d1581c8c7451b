"""The forest strata and their tables: forest types, origins, age classes (national inventory
rules per species group, ``data/forest_age_classes.csv``) and the area shares of strata per
zone from inventory statistics (a CSV: the built-in ``data/forest_strata_jiangxi.csv`` or a
bureau's own), checked on load."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from sinks.errors import InputDataError
from sinks.forest.models import AGE_CLASSES, NO_AGE_CLASS

FOREST_TYPES = ("chinese_fir", "masson_pine", "other_conifer", "broadleaf", "mixed", "bamboo", "economic")
ORIGINS = ("planted", "natural")
NO_AGE_TYPES = frozenset({"bamboo", "economic"})  # counted by culm degree / production stage
VOLUME_TYPES = tuple(t for t in FOREST_TYPES if t not in NO_AGE_TYPES)  # stands with a volume
# Chinese names (report, legend), as the inventory writes them
TYPE_ZH = {"chinese_fir": "杉木林", "masson_pine": "马尾松林", "other_conifer": "其他针叶林",
           "broadleaf": "阔叶林", "mixed": "针阔混交林", "bamboo": "竹林", "economic": "经济林"}
ORIGIN_ZH = {"planted": "人工", "natural": "天然"}
AGE_ZH = {"young": "幼龄林", "middle": "中龄林", "near_mature": "近熟林", "mature": "成熟林",
          "over_mature": "过熟林", NO_AGE_CLASS: "—"}
BUILTIN_SHARES = "jiangxi_default"


@dataclass(frozen=True, order=True)
class Stratum:
    """A forest stratum: type, origin and age class ("none" for bamboo and economic forest)."""

    forest_type: str
    origin: str
    age_class: str

    @property
    def id(self) -> str:
        return f"{self.forest_type}/{self.origin}/{self.age_class}"

    @property
    def name_zh(self) -> str:
        age = "" if self.age_class == NO_AGE_CLASS else AGE_ZH[self.age_class]
        return f"{ORIGIN_ZH[self.origin]}{TYPE_ZH[self.forest_type]}{age}"


def all_strata() -> list[Stratum]:
    """Every stratum, in code order (code = index + 1; 0 = not forest or no stratum)."""
    return [Stratum(t, o, a) for t in FOREST_TYPES for o in ORIGINS
            for a in ((NO_AGE_CLASS,) if t in NO_AGE_TYPES else AGE_CLASSES)]


def stratum_codes() -> dict[tuple[str, str, str], int]:
    """(type, origin, age class) -> raster code of the strata map (1-based)."""
    return {(s.forest_type, s.origin, s.age_class): i + 1 for i, s in enumerate(all_strata())}


def _data(name: str):
    return resources.files("sinks").joinpath(f"data/{name}")


@functools.lru_cache(maxsize=1)
def age_class_table() -> pd.DataFrame:
    """The national inventory's age-class bounds, indexed by (forest_type, origin): the upper
    age (yr) of young, middle-aged, near-mature and mature stands; above = over-mature."""
    with _data("forest_age_classes.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, comment="#")
    return table.set_index(["forest_type", "origin"])


@functools.lru_cache(maxsize=None)
def age_bounds(forest_type: str, origin: str) -> tuple[float, float, float, float]:
    """Upper ages (yr) of young, middle, near-mature and mature stands of a type and origin."""
    row = age_class_table().loc[(forest_type, origin)]
    return tuple(float(row[c]) for c in ("young_max", "middle_max", "near_mature_max", "mature_max"))


def shares_path(spec: str) -> Path:
    """The strata-share table of ``forest.shares``: the built-in one or a file."""
    if spec == BUILTIN_SHARES:
        return Path(str(_data("forest_strata_jiangxi.csv")))
    return Path(spec)


def load_shares(path: str | Path) -> pd.DataFrame:
    """Area shares of strata per zone: columns zone_id (a zone of ``forest.shares_level``, or
    ``*`` for every zone), forest_type, origin, age_class, share (of the zone's forest area),
    source. Checked: known types, origins and age classes (listed when not), shares >= 0, and
    each zone's shares summing to 1 within 0.5 % (they are normalised to 1 exactly)."""
    path = Path(path)
    try:
        table = pd.read_csv(path, comment="#", dtype={"zone_id": str})
    except (OSError, pd.errors.ParserError) as exc:
        raise InputDataError(f"{path}: cannot be read as a CSV ({exc})") from None
    need = ["zone_id", "forest_type", "origin", "age_class", "share"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InputDataError(f"{path}: missing column(s) {missing}; need {need}")
    for col, allowed in (("forest_type", FOREST_TYPES), ("origin", ORIGINS),
                         ("age_class", (*AGE_CLASSES, NO_AGE_CLASS))):
        bad = sorted(set(table[col].astype(str)) - set(allowed))
        if bad:
            raise InputDataError(f"{path}: {col} value(s) {bad} are not known; use one of {list(allowed)}")
    wrong = table[(table["forest_type"].isin(NO_AGE_TYPES)) != (table["age_class"] == NO_AGE_CLASS)]
    if len(wrong):
        raise InputDataError(f"{path}: row(s) {list(wrong.index[:5] + 2)}: bamboo and economic forest "
                             f"take age_class {NO_AGE_CLASS!r}, the other types one of {list(AGE_CLASSES)}")
    share = pd.to_numeric(table["share"], errors="coerce")
    if share.isna().any() or (share < 0).any():
        raise InputDataError(f"{path}: share must be a number >= 0 (row(s) "
                             f"{list(table.index[share.isna() | (share < 0)][:5] + 2)})")
    table["share"] = share
    dup = table.duplicated(["zone_id", "forest_type", "origin", "age_class"])
    if dup.any():
        raise InputDataError(f"{path}: duplicate stratum row(s) {list(table.index[dup][:5] + 2)}")
    sums = table.groupby("zone_id")["share"].sum()
    off = sums[(sums - 1.0).abs() > 0.005]
    if len(off):
        raise InputDataError(f"{path}: the shares of zone(s) {dict(off.round(4).head(5))} do not "
                             "sum to 1 (each zone's strata share its forest area)")
    table["share"] = table["share"] / table["zone_id"].map(sums)
    return table


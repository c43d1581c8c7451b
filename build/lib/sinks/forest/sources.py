"""The strata a run's sources hold: which forest types (and so which parameters) it needs."""

from __future__ import annotations

import ast
import functools

from sinks.forest.subcompartments import read_subcompartments
from sinks.forest.tables import FOREST_TYPES, Stratum, age_bounds, all_strata, load_shares, shares_path


def used_types(cfg: dict) -> frozenset[str]:
    """The forest types a run's strata sources hold (only these need parameters): the shares
    table's types, the strata raster's and the sub-compartments' (their codes, or the file),
    and that of ``forest.unstratified``."""
    return _used_types(repr(cfg["forest"]))


@functools.lru_cache(maxsize=4)
def _used_types(forest_section: str) -> frozenset[str]:
    """:func:`used_types` of a ``forest`` section given as its repr (read once per run)."""
    fc = ast.literal_eval(forest_section)
    types = {fc["unstratified"].split("/")[0]} & set(FOREST_TYPES)  # new forest grows as this one
    if fc["shares"]:
        types |= set(load_shares(shares_path(fc["shares"]))["forest_type"])
    if fc["raster"]:
        types |= {v.split("/")[0] for v in fc["raster"]["codes"].values()}
    if fc["subcompartments"]:
        sub = fc["subcompartments"]
        gdf = read_subcompartments(sub["path"], sub["fields"], sub["codes"], age_bounds,
                                   layer=sub["layer"], encoding=sub["encoding"])
        types |= set(gdf["forest_type"])
    return frozenset(types)


def active_strata(cfg: dict) -> list[Stratum]:
    """The strata of the types the run uses (sinks.forest.tables.used_types), in code order."""
    types = used_types(cfg)
    return [s for s in all_strata() if s.forest_type in types]

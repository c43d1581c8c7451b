"""Checks of the forest inputs before compute: the strata sources read and map, and every
parameter the strata need is confirmed or given in the config."""

from __future__ import annotations

from sinks.forest.rates import forest_parameter_ids
from sinks.forest.subcompartments import read_subcompartments
from sinks.forest.tables import age_bounds, load_shares, shares_path
from sinks.forest.sources import active_strata
from sinks.errors import InputDataError
from sinks.parameters import value
from sinks.run import Run
from sinks.forest.tables import all_strata
from sinks.methods.gain_loss.rates import GROWTH_STRATA


def checks(run: Run) -> list[str]:
    """Lines describing what was checked."""
    cfg = run.cfg
    fc = cfg["forest"]
    if not fc["enabled"]:
        return []
    reg = run.registry
    ids = {s.id: s for s in all_strata()}
    spare = fc["unstratified"]
    if spare not in ids and spare not in GROWTH_STRATA:
        raise InputDataError(f"{cfg['_source']}: forest.unstratified = {spare!r}: not a stratum "
                             f"(type/origin/age_class, e.g. chinese_fir/planted/young) nor one of {list(GROWTH_STRATA)}")
    extra = [ids[spare]] if spare in ids else []
    for pid in forest_parameter_ids(active_strata(cfg) + extra) + ["harvest_timber_volume", "harvest_fuelwood_volume",
                                                    "disturbance_area", "disturbance_fd"]:
        value(reg, pid)
    lines = []
    if fc["subcompartments"]:
        sc = fc["subcompartments"]
        gdf = read_subcompartments(sc["path"], sc["fields"], sc["codes"], age_bounds, layer=sc["layer"],
                                    encoding=sc["encoding"])
        lines.append(f"forest sub-compartments: {len(gdf)} polygons in {sc['path']}"
                     + (" (SYNTHETIC)" if sc.get("synthetic") else ""))
    if fc["raster"]:
        lines.append(f"forest strata raster: {fc['raster']['raster']} ({len(fc['raster']['codes'])} codes)")
    if fc["shares"]:
        table = load_shares(shares_path(fc["shares"]))
        lines.append(f"forest strata shares: {shares_path(fc['shares']).name}, {table['zone_id'].nunique()} "
                     f"zone set(s) of level {fc['shares_level']}")
    lines.append("forest strata parameters confirmed (Fang BEF, yield curves, harvest and disturbance statistics)")
    return lines

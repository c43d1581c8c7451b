"""``sinks validate``: every input check of a config, before any compute (STYLE §0.2).

The shared inputs (density table and legend, zones, grid, every observed epoch's codes, the
registry) are checked here; each method of :mod:`sinks.methods.registry` then checks its own.
"""

from __future__ import annotations

from sinks.errors import MissingClassError
from sinks.grid import describe
from sinks.inputs import check_epoch_raster, check_overlap
from sinks.io.rasters import open_raster
from sinks.io.vectors import read_zone_entry
from sinks.methods.registry import METHODS
from sinks.run import Run


def validate_inputs(run: Run) -> list[str]:
    """Every input check for a loaded config; returns lines describing what was checked."""
    cfg = run.cfg
    legend, densities = run.legend, run.densities
    lines = [f"densities: {densities.path} ({densities.kind} table, {len(densities.values)} classes)"]
    if cfg["uncertainty"]["enabled"] and run.density_distributions is not None:
        model = run.density_model  # derived_from rows checked against their factors
        lines.append(f"density errors: {len(model.factors)} rows derived from shared parameters, "
                     f"{len(model.own)} independent")
    for zone in cfg["zones"]:
        gdf = read_zone_entry(zone)
        lines.append(f"zones {zone['level']}: {len(gdf)} zones from {zone['path']}")
    grid = run.grid
    px = grid.shape.y * grid.shape.x
    lines.append(f"grid: {describe(grid)}; {px:,} px, {px * 4 / 2**30:,.2f} GiB per float map before "
                 f"compression (limit grid.max_pixels {cfg['grid']['max_pixels']:.2g})")
    for ep in run.epochs:
        if ep.path is None:
            sc = ep.scenario
            used = {c for ch in sc["changes"] for c in ch["from_codes"] + [ch["to_code"]] + ch["near_codes"]}
            if legend is not None and used - set(legend):
                raise MissingClassError(f"{cfg['_source']}: landcover.epochs.{ep.year}.scenario uses "
                                        f"codes {sorted(used - set(legend))} that are not in the legend")
            lines.append(f"epoch {ep.year}: SCENARIO derived from {sc['from']} "
                         f"({', '.join(ch['name'] for ch in sc['changes'])})")
            continue
        _, hist = check_epoch_raster(ep.path, grid, legend, densities, run.chunks,
                                  run.cfg["landcover"]["nodata"])
        lines.append(f"epoch {ep.year}: {ep.path} ({sum(hist.values())} valid px, codes {sorted(hist)})")
    for rule in cfg["landcover"]["reclassify"]:
        src = open_raster(rule["raster"], chunks=run.chunks)
        check_overlap(src.odc.geobox, grid, f"landcover.reclassify {rule['name']}: {rule['raster']}")
        lines.append(f"reclassify {rule['name']}: {rule['raster']} ({describe(src.odc.geobox)})")
    reg = run.registry
    lines.append(f"parameters: {len(reg)} in the registry, {int((reg.status == 'user').sum())} overridden")
    for method in METHODS.values():
        if method.checks is not None:
            lines += method.checks(run)
    return lines

"""The run's input tables and the checks of an input raster (codes mapped, overlap, grid).

Used by :class:`sinks.run.Run` (which loads the tables once per process), by ``sinks validate``
and by the stage that reads each input, so a bad file stops the run with one clear line before
any deliverable is written.
"""

from __future__ import annotations

import logging

from odc.geo.geobox import GeoBox

from sinks.errors import EmptyDataError, InputDataError, MissingClassError
from sinks.grid import describe, same_grid
from sinks.io.rasters import code_histogram, open_raster
from sinks.io.tables import (BUILTIN_DENSITIES_NAME, Densities, builtin_densities_path,
                             read_densities, read_legend)
from sinks.models.stock_difference import class_densities

log = logging.getLogger(__name__)


def load_tables(cfg: dict) -> tuple[dict[int, str] | None, Densities]:
    """The legend (or None) and density table of a config, checked."""
    legend = read_legend(cfg["landcover"]["legend"]) if cfg["landcover"]["legend"] else None
    densities = read_densities(resolve_densities(cfg))
    if densities.kind == "sinks" and legend is None:
        raise InputDataError(f"{densities.path}: a sinks density table is keyed by ecosystem; "
                             "set landcover.legend so raster codes can be mapped to ecosystems")
    if densities.kind == "sinks" and legend is not None:
        have = set(class_densities(densities.values, cfg["carbon"]["paddy_share"]).index)
        lacking = sorted(set(legend.values()) - have)
        if lacking:
            raise InputDataError(f"{densities.path}: no densities for ecosystem class(es) "
                                 f"{lacking} used by the legend; add rows for them")
    return legend, densities


def resolve_densities(cfg: dict) -> str:
    spec = cfg["carbon"]["densities"]
    return str(builtin_densities_path()) if spec == BUILTIN_DENSITIES_NAME else spec


def check_codes(hist: dict[int, int], legend: dict[int, str] | None, densities: Densities,
                name: str) -> None:
    """Every code present in a land-cover raster must be in the legend / InVEST table."""
    present = set(hist)
    problems = []
    if legend is not None:
        missing = sorted(present - set(legend))
        if missing:
            problems.append(f"codes {missing} are not in the legend")
    if densities.kind == "invest":
        missing = sorted(present - set(int(c) for c in densities.values.index))
        if missing:
            problems.append(f"codes {missing} have no row (lucode) in {densities.path}")
    if problems:
        counts = ", ".join(f"{c}: {hist[c]} px" for c in sorted(present - set(legend or {}))[:10])
        raise MissingClassError(f"{name}: {'; '.join(problems)}"
                                + (f" ({counts})" if counts else "")
                                + "; add them to the legend/table, or fix the raster")


def check_overlap(src: GeoBox, grid: GeoBox, name: str) -> None:
    """The raster's footprint must intersect the run grid."""
    if not src.footprint(grid.crs).intersects(grid.extent):
        raise EmptyDataError(f"{name}: does not overlap the run's region ({grid.extent.boundingbox}); "
                             "check the file is the right area and its CRS is correct")


def check_epoch_raster(path, grid: GeoBox, legend, densities, chunks: int) -> dict[int, int]:
    """Open one observed epoch, check CRS, overlap, nodata and class codes; warn on a grid change."""
    arr = open_raster(path, chunks=chunks)
    check_overlap(arr.odc.geobox, grid, str(path))
    if not same_grid(arr.odc.geobox, grid):
        log.warning("%s: grid differs from the run grid (%s vs %s); it will be resampled",
                    path, describe(arr.odc.geobox), describe(grid))
    hist = code_histogram(arr)
    check_codes(hist, legend, densities, str(path))
    return hist

"""The run's input tables and the checks of an input raster (codes mapped, overlap, grid).

Used by :class:`sinks.run.Run` (which loads the tables once per process), by ``sinks validate``
and by the stage that reads each input, so a bad file stops the run with one clear line before
any deliverable is written.
"""

from __future__ import annotations

import logging

import numpy as np
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks import config as cfgmod
from sinks.errors import EmptyDataError, GridMismatchError, InputDataError, MissingClassError
from sinks.grid import describe, reference_grid, same_grid
from sinks.io.rasters import code_histogram, open_raster, raster_geobox
from sinks.io.vectors import read_zone_entry
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


MAX_CODE = 65535  # the class look-ups index codes 0..65535 (sinks.landcover.lut_size)


def check_codes(hist: dict[int, int], legend: dict[int, str] | None, densities: Densities,
                name: str) -> None:
    """Every code present in a land-cover raster must be in the legend / InVEST table, and
    within 0..65535 (the look-up tables' range)."""
    present = set(hist)
    out_of_range = sorted(c for c in present if not 0 <= c <= MAX_CODE)
    if out_of_range:
        raise MissingClassError(f"{name}: class codes {out_of_range[:10]} are outside 0..{MAX_CODE}; "
                                "if one is a fill value declare it as nodata (landcover.nodata in the "
                                "config, or gdal_edit.py -a_nodata VALUE FILE), else recode the classes")
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


def open_epoch_raster(path, nodata_rule, chunks: int):
    """Open an observed land-cover epoch with its nodata as the config declares it.

    ``nodata_rule`` is ``landcover.nodata``: an integer declares (or overrides) the fill value,
    ``"none"`` says the raster has none, null keeps the file's own. A file that declares none
    while its whole border is one code that fill values take (0, the type's maximum, or
    negative) is refused: counted as a class, the fill would silently become land.
    """
    arr = open_raster(path, chunks=chunks)
    if nodata_rule == "none":
        return arr.rio.write_nodata(None)
    if isinstance(nodata_rule, int) and not isinstance(nodata_rule, bool):
        return arr.rio.write_nodata(nodata_rule)
    if nodata_rule is None and arr.odc.nodata is None:
        fill = _border_fill(path, arr.dtype)
        if fill is not None:
            raise InputDataError(
                f"{path}: declares no nodata and its whole border is code {fill}, which looks like a "
                f"fill value; declare it (landcover.nodata: {fill} in the config, or gdal_edit.py "
                f"-a_nodata {fill} {path}), or set landcover.nodata: none to count {fill} as a class")
    return arr


def _border_fill(path, dtype) -> int | None:
    """The code of the raster's one-pixel border if it is all one fill-like value, else None."""
    with rasterio.open(path) as src:
        h, w = src.height, src.width
        if h < 3 or w < 3:
            return None
        edges = [src.read(1, window=((r, r + 1), (0, w))).ravel() for r in (0, h - 1)]
        edges += [src.read(1, window=((0, h), (c, c + 1))).ravel() for c in (0, w - 1)]
    border = np.concatenate(edges)
    value = int(border[0])
    fill_like = value == 0 or value < 0 or value == int(np.iinfo(dtype).max)
    return value if fill_like and (border == value).all() else None


def check_epoch_raster(path, grid: GeoBox, legend, densities, chunks: int,
                       nodata_rule=None) -> tuple[xr.DataArray, dict[int, int]]:
    """Open one observed epoch, check CRS, overlap, nodata and class codes; warn on a grid
    change. Returns the opened raster (nodata as the config declares it) and its code counts."""
    arr = open_epoch_raster(path, nodata_rule, chunks)
    check_overlap(arr.odc.geobox, grid, str(path))
    if not same_grid(arr.odc.geobox, grid):
        log.warning("%s: grid differs from the run grid (%s vs %s); it will be resampled",
                    path, describe(arr.odc.geobox), describe(grid))
    hist = code_histogram(arr)
    check_codes(hist, legend, densities, str(path))
    return arr, hist


def configured_grid(cfg: dict, bounds: tuple[float, float, float, float] | None = None) -> GeoBox:
    """The grid of the config's ``grid`` section (defaults from the first epoch's raster),
    over ``bounds`` if given, else ``grid.bounds`` (else the first epoch's extent)."""
    g = cfg["grid"]
    bounds = bounds or g["bounds"]
    return reference_grid(raster_geobox(cfgmod.epochs(cfg)[0].path), g["crs"], g["resolution"],
                          tuple(bounds) if bounds else None, g["crs_name"])


def run_grid(cfg: dict) -> GeoBox:
    """The run's reference grid (config ``grid``; defaults from the first epoch's raster)."""
    g = cfg["grid"]
    bounds = None
    if g["bounds"] is None and g["clip_to"] is not None and g["crs"] is not None:
        zone = next(z for z in cfg["zones"] if z["level"] == g["clip_to"])
        bounds = tuple(read_zone_entry(zone).to_crs(g["crs"]).total_bounds)
    grid = configured_grid(cfg, bounds)
    h, w = grid.shape.yx
    if h * w > g["max_pixels"]:
        unit = grid.crs.units[0] if grid.crs.units else "CRS units"
        raise GridMismatchError(
            f"{cfg['_source']}: the run grid would be {w:,} x {h:,} = {h * w:.2g} px at resolution "
            f"{abs(grid.resolution.x):g} {unit} ({h * w * 4 / 2**30:,.0f} GiB per float map), above "
            f"grid.max_pixels {g['max_pixels']:.2g}; check that the resolution is in {unit}, or raise "
            "grid.max_pixels")
    return grid

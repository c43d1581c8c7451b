"""Scenes on the run grid: overlap check, lazy alignment, and compositing several scenes.

:func:`sinks.rs.imagery.open_scene` returns a scene on its own grid; this module brings one or
several scenes onto the run's reference grid (STYLE §4.2) before they are composited, so that a
scene that does not touch the region fails early with ``EmptyDataError`` instead of producing an
all-NaN composite.

Reflectance is continuous, so :func:`sinks.grid.align` resamples it by bilinear interpolation onto
a finer or equal grid and by averaging onto a coarser one (the choice is logged). NaN (nodata,
cloud-masked) is the only nodata of reflectance: the source band's integer nodata attribute that
``open_scene`` leaves on the float array (e.g. ``_FillValue`` 0 of a Sentinel-2 file) is removed
first, otherwise a true reflectance of 0.0 would be taken as nodata by the resampler.
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks.errors import EmptyDataError, InputDataError
from sinks.grid import DEFAULT_CHUNK, align, describe

log = logging.getLogger(__name__)

_NODATA_ATTRS = ("_FillValue", "nodata", "missing_value", "scale_factor", "add_offset", "long_name")


def overlap_fraction(scene: xr.Dataset | xr.DataArray, grid: GeoBox) -> float:
    """Fraction (0-1) of the grid's extent covered by the scene's footprint.

    Both footprints are compared in the grid's CRS (the scene footprint is densified by odc-geo
    when it is reprojected, so a curved edge is followed).
    """
    footprint = scene.odc.geobox.footprint(grid.crs)
    extent = grid.extent
    return float(footprint.intersection(extent).area / extent.area) if extent.area > 0 else 0.0


def require_overlap(scene: xr.Dataset | xr.DataArray, grid: GeoBox, source: str) -> float:
    """Raise ``EmptyDataError`` (an ``InputDataError``) if the scene does not overlap the grid.

    Returns the covered fraction of the grid (logged when below 1).
    """
    frac = overlap_fraction(scene, grid)
    if frac <= 0.0:
        raise EmptyDataError(f"{source}: scene ({describe(scene.odc.geobox)}) does not overlap the "
                             f"run grid ({describe(grid)}); check the scene's path and CRS, or the "
                             "config's grid bounds")
    if frac < 1.0:
        log.info("%s: covers %.1f %% of the run grid", source, 100 * frac)
    return frac


def scene_to_grid(scene: xr.Dataset, grid: GeoBox, source: str,
                  chunks: int = DEFAULT_CHUNK) -> xr.Dataset:
    """Every band of ``scene`` on ``grid``, lazily (odc-geo), NaN outside the scene or where masked.

    Raises ``EmptyDataError`` when the scene does not overlap the grid.
    """
    require_overlap(scene, grid, source)
    out = {}
    for name, band in scene.data_vars.items():
        band = band.astype("float32")
        band.attrs = {k: v for k, v in band.attrs.items() if k not in _NODATA_ATTRS}
        band.attrs["nodata"] = np.nan
        band.encoding = {}
        on = align(band, grid, categorical=False, name=f"{source} band {name}", chunks=chunks)
        out[name] = on.astype("float32")
    return xr.Dataset(out)


def composite_on_grid(scenes: list[xr.Dataset], grid: GeoBox, method: str = "median",
                      sources: list[str] | None = None,
                      chunks: int = DEFAULT_CHUNK) -> xr.Dataset:
    """Composite several scenes of one epoch on the run grid.

    Each scene is checked for overlap and aligned with :func:`scene_to_grid`, then combined by
    :func:`composite` (``median``: band-wise median of the valid observations;
    ``max_ndvi``: all bands from the observation with the highest NDVI). Scenes must share their
    band names. Pixels that no scene observes are NaN. The result is lazy (dask).

    Parameters
    ----------
    scenes : list of xarray.Dataset
        Named reflectance bands (unitless, 0-1), e.g. from ``open_scene``.
    grid : odc.geo.geobox.GeoBox
        The run's reference grid.
    method : {"median", "max_ndvi"}
    sources : list of str, optional
        File names for messages and logs, one per scene.
    chunks : int
        Dask chunk size (pixels) of resampled bands.
    """
    if not scenes:
        raise InputDataError("composite: no scenes given for the epoch; list at least one scene")
    sources = sources or [f"scene {i + 1}" for i in range(len(scenes))]
    names = list(scenes[0].data_vars)
    for s, src in zip(scenes[1:], sources[1:]):
        if list(s.data_vars) != names:
            raise InputDataError(f"{src}: bands {list(s.data_vars)} differ from {sources[0]}'s "
                                 f"{names}; give every scene of an epoch the same band mapping")
    if method not in ("median", "max_ndvi"):
        raise InputDataError(f"composite method {method!r} unknown; use median or max_ndvi")
    aligned = [scene_to_grid(s, grid, src, chunks) for s, src in zip(scenes, sources)]
    return composite(aligned, method)


def composite(scenes: list[xr.Dataset], method: str = "median") -> xr.Dataset:
    """Per-pixel composite of scenes already on one grid, lazily: ``median`` (band-wise median
    of the valid observations) or ``max_ndvi`` (:func:`max_ndvi_composite`)."""
    if not scenes:
        raise InputDataError("composite: no scenes given for the epoch; list at least one scene")
    if method == "median":
        names = list(scenes[0].data_vars)
        return xr.concat([s[names] for s in scenes], dim="scene").median(dim="scene", skipna=True)
    if method == "max_ndvi":
        return max_ndvi_composite(scenes)
    raise InputDataError(f"composite method {method!r} unknown; use median or max_ndvi")


def max_ndvi_composite(scenes: list[xr.Dataset]) -> xr.Dataset:
    """Every band from the observation with the highest NDVI = (N − R)/(N + R) (Holben 1986,
    Int. J. Remote Sens. 7:1417), lazily; NaN where no scene has a valid NDVI.

    Indexing with the argmax array is not possible on dask arrays ("vindex does not support
    indexing with dask objects"); the chosen scene is selected with a mask instead (exactly one
    scene per pixel is True), which stays lazy.
    """
    names = list(scenes[0].data_vars)
    if not {"N", "R"} <= set(names):
        raise InputDataError(f"composite max_ndvi needs bands N and R; the scenes have {names}")
    stack = xr.concat([s[names] for s in scenes], dim="scene")
    ndvi = ((stack["N"] - stack["R"]) / (stack["N"] + stack["R"])).fillna(-np.inf)
    best = ndvi.argmax(dim="scene")
    chosen = xr.DataArray(np.arange(len(scenes)), dims="scene") == best
    return xr.Dataset({n: stack[n].where(chosen).max(dim="scene", skipna=True) for n in names})

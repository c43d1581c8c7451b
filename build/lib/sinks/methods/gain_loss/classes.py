"""Gain-loss class maps: the compact classes with natural lake open water (wetland rule), the
strata of the strata rasters, the inundation frequency and the conversion-history codes."""

from __future__ import annotations

import numpy as np
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks.classes import CompactClasses
from sinks.errors import InputDataError, MissingClassError
from sinks.grid import align
from sinks.io.rasters import code_histogram, open_raster
from sinks.landcover import apply_lut, build_lut, lut_size
from sinks.methods.gain_loss.rates import LAKE, STRATUM_CLASSES, WET_CLASSES, gain_loss_names, strata_levels
from sinks.models.wetland import is_lake
from sinks.run import Run


def inundation(run: Run, grid: GeoBox) -> xr.DataArray:
    """The run's inundation frequency (0-1, NaN = not observed), checked to be on the grid."""
    f = run.open_on_grid(run.paths.output("inundation_frequency"), grid)
    return f.where(f != f.odc.nodata)


def gain_loss_compact(run: Run, cc: CompactClasses, year: int) -> xr.DataArray:
    """Gain-loss class index map of an epoch: the compact classes, with wetland- or
    water-class pixels flooded at least ``wetland.open_water_threshold`` of the time set to
    ``lake_open_water`` (index K) when ``wetland.enabled`` (sinks.models.wetland.is_lake)."""
    cfg, chunks = run.cfg, run.chunks
    path = run.landcover_path(year)
    compact = apply_lut(open_raster(path, chunks=chunks), cc.lut, 0)
    if not cfg["wetland"]["enabled"]:
        return compact
    names = gain_loss_names(run, cc)
    wet = apply_lut(compact, np.array([n in WET_CLASSES for n in names]), False)
    lake = is_lake(wet, inundation(run, compact.odc.geobox),
                   cfg["wetland"]["open_water_threshold"])
    return compact.where(~lake, names.index(LAKE)).astype(compact.dtype)


def strata_map(run: Run, grid: GeoBox, forest: bool = True) -> xr.DataArray | None:
    """Stratum index per pixel (uint16, :func:`strata_levels`) from the strata rasters
    (``gain_loss.strata``; classes aligned by nearest/mode, codes mapped by the config; nodata
    = the region default), or None without strata rasters. An unmapped code is an error. With
    ``forest.enabled`` the forest-growth layer is the forest strata map (``forest`` False: left
    out, e.g. to check the rasters before it exists)."""
    cfg, chunks = run.cfg, run.chunks
    st = cfg["gain_loss"]["strata"]
    if not any(st.values()) and not cfg["forest"]["enabled"]:
        return None
    levels = strata_levels(cfg)
    sizes = [len(v) for v in levels.values()]
    index = None
    for i, (kind, names) in enumerate(levels.items()):
        spec, step = st[kind], int(np.prod(sizes[i + 1:]))
        if kind == "forest_growth" and cfg["forest"]["enabled"]:  # level index = stratum code
            if not forest:
                continue
            part = run.open_on_grid(run.paths.output("forest_strata"), grid).astype("uint16") * np.uint16(step)
            index = part if index is None else index + part
            continue
        if not spec:
            continue
        src = open_raster(spec["raster"], chunks=chunks)
        missing = sorted(set(code_histogram(src)) - {int(c) for c in spec["codes"]})
        if missing:
            raise MissingClassError(f"{spec['raster']}: codes {missing} are not in "
                                    f"gain_loss.strata.{kind}.codes; map them to one of "
                                    f"{STRATUM_CLASSES[kind]} or set them to nodata")
        if src.odc.nodata is None:
            src = src.rio.write_nodata(int(np.iinfo(src.dtype).max))
        aligned = align(src, grid, categorical=True, name=f"gain_loss.strata.{kind} ({spec['raster']})",
                        chunks=chunks)
        lut = build_lut({int(c): names.index(v) * step for c, v in spec["codes"].items()},
                        lut_size(src.dtype), 0, dtype="uint16")
        part = apply_lut(aligned, lut, 0)
        index = part if index is None else index + part
    return index


def history_dtype(run: Run, k: int) -> str:
    """dtype of the conversion-history codes (epochs × K × K of them)."""
    n = len(run.epochs) * k * k
    if n > 65535:
        raise InputDataError(f"{len(run.epochs)} epochs x {k} classes squared = {n} "
                             "conversion-history codes: more than uint16 holds; use fewer codes")
    return "uint16"

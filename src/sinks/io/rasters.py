"""Open rasters lazily with checks, and write Cloud-Optimized GeoTIFFs atomically.

COG writing follows STYLE §5: a tiled GeoTIFF (fast ZSTD level 1, so a province-size temporary
costs little disk traffic) is written block by block from dask under a lock,
unit, description and tags are set, then GDAL's COG driver copies it (overviews, DEFLATE,
predictor) to a temporary name that is renamed into place, so an interrupted job never leaves a
half-valid output; a QGIS style sidecar (``.qml``) fitted to the written blocks follows. ``to_raster(driver="COG", lock=...)`` is avoided (rioxarray issue 410).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
import rasterio.shutil
import rioxarray
import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio.errors import RasterioIOError

from sinks.errors import CRSMismatchError, EmptyDataError, InputDataError, OutputError, OutputRangeError
from sinks.grid import DEFAULT_CHUNK
from sinks.io.styles import DIVERGING, SEQUENTIAL, MapSample, classes_qml, ramp_qml, write_qml

log = logging.getLogger(__name__)

# DEFLATE level of the COGs: 4 instead of GDAL's 6 is 30 % faster for 5 % larger files on a
# province-size float map (averaged overviews compress poorly); measured with
# benchmarks/bench_stock_sink.py.
DEFLATE_LEVEL = 4


def raster_geobox(path: str | Path) -> GeoBox:
    """The grid of a raster file (header only), after the basic checks of :func:`open_raster`."""
    return open_raster(path).odc.geobox


def open_raster(path: str | Path, chunks: int = DEFAULT_CHUNK, band: int = 1) -> xr.DataArray:
    """Open one band of a raster lazily (dask), checking that it exists, opens and has a CRS.

    The array keeps its stored dtype and nodata (``arr.odc.nodata``); coordinates are y, x.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: file not found; check the path in the config "
                             "(relative paths are taken from the working directory)")
    try:
        with rasterio.open(path) as src:
            crs, count = src.crs, src.count
    except RasterioIOError as exc:
        raise InputDataError(f"{path}: cannot be read as a raster ({str(exc).split(':')[-1].strip()}); "
                             "replace it with a valid GeoTIFF") from None
    if crs is None:
        raise CRSMismatchError(f"{path}: raster has no CRS; set one (e.g. gdal_edit.py -a_srs "
                               "EPSG:4326 FILE) or export it again with its projection")
    if band > count:
        raise InputDataError(f"{path}: has {count} band(s), band {band} was asked for")
    try:
        arr = rioxarray.open_rasterio(path, chunks={"band": 1, "y": chunks, "x": chunks},
                                      lock=False, masked=False)
    except Exception as exc:  # GDAL raises many types for corrupt files
        raise InputDataError(f"{path}: cannot be read as a raster ({exc}); replace it with a "
                             "valid GeoTIFF") from None
    arr = arr.sel(band=band, drop=True)
    arr.attrs["source_path"] = str(path)
    return arr


def code_histogram(arr: xr.DataArray) -> dict[int, int]:
    """Pixel count of every integer code in ``arr`` (nodata excluded), in one chunked pass.

    8- and 16-bit codes are counted with ``bincount`` over every possible code; wider integers
    (a GIS's Int32/UInt32 export) with ``unique`` per block, so memory grows with the codes
    present, not with the 2**32 codes the type could hold."""
    path = arr.attrs.get("source_path", arr.name)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputDataError(f"{path}: land-cover raster has dtype {arr.dtype}; class codes must "
                             "be integers (export the classes as Byte/UInt16)")
    nodata = arr.odc.nodata
    data = arr.data if isinstance(arr.data, da.Array) else da.from_array(arr.data)
    if arr.dtype.itemsize <= 2:
        lo = int(np.iinfo(arr.dtype).min)
        size = int(np.iinfo(arr.dtype).max) - lo + 1

        def count(block):
            return np.bincount((block.ravel().astype("int64") - lo), minlength=size)[None, None, :]

        counts = data.map_blocks(count, dtype="int64", chunks=((1,) * data.numblocks[0],
                                                              (1,) * data.numblocks[1], (size,)),
                                 new_axis=2).sum(axis=(0, 1)).compute()
        hist = {int(c) + lo: int(n) for c, n in enumerate(counts) if n}
    else:
        hist = {}
        for codes, counts in dask.compute(*[dask.delayed(np.unique)(b, return_counts=True)
                                            for b in data.to_delayed().ravel()]):
            for c, n in zip(codes.tolist(), counts.tolist()):
                hist[c] = hist.get(c, 0) + n
    if nodata is not None and not np.isnan(nodata):
        hist.pop(int(nodata), None)
    if not hist:
        raise EmptyDataError(f"{path}: every pixel is nodata ({nodata}); check the file, or its "
                             "nodata value")
    return hist


class _WindowWriter:
    """``da.store`` target writing each block into a rasterio dataset window, after checking
    it against the map's valid range and recording it in the map's style sample."""

    def __init__(self, dst, m: "MapToWrite", sample: MapSample):
        self.dst, self.m, self.sample = dst, m, sample

    def __setitem__(self, key, value):
        check_range(self.m, value)
        self.sample.add(value)
        rows, cols = key
        window = rasterio.windows.Window(cols.start, rows.start, cols.stop - cols.start,
                                         rows.stop - rows.start)
        self.dst.write(value, 1, window=window)


def _store(sources: list[da.Array], targets: list[_WindowWriter]) -> None:
    """Compute the maps' blocks and write each through its target. Local threads: ``da.store``
    under a lock. Under a dask.distributed client the blocks are computed by the workers (one
    graph for all maps, so shared inputs are computed once) and written here as they arrive,
    since a target holds an open dataset that cannot travel to a worker: same blocks, same
    bytes."""
    distributed = sys.modules.get("distributed")  # a client exists only if it was imported
    client = None
    if distributed is not None:
        try:
            client = distributed.default_client()
        except ValueError:
            client = None
    if client is None:
        da.store(sources, targets, lock=threading.Lock())
        return
    blocks, where = [], []
    for target, src in zip(targets, sources):
        blocks += src.to_delayed(optimize_graph=False).ravel().tolist()
        where += [(target, key) for key in da.core.slices_from_chunks(src.chunks)]
    futures = client.compute(blocks)
    index = {id(f): n for n, f in enumerate(futures)}
    for future, block in distributed.as_completed(futures, with_results=True):
        target, key = where[index[id(future)]]
        target[key] = block
        future.release()


def check_range(m: "MapToWrite", block: np.ndarray) -> None:
    """Raise ``OutputRangeError`` naming the map if a valid pixel of ``block`` lies outside the
    map's valid range (STYLE §7: invariants checked before a deliverable exists)."""
    if m.valid_range is None:
        return
    values = block[block != m.nodata] if m.nodata is not None else block.ravel()
    if values.size == 0:
        return
    lo, hi = m.valid_range
    vmin, vmax = values.min(), values.max()
    if not (lo <= vmin and vmax <= hi) or not np.isfinite([vmin, vmax]).all():
        raise OutputRangeError(f"{m.path.name}: values {vmin:.6g} to {vmax:.6g} {m.unit} lie "
                               f"outside the valid range {lo:g} to {hi:g} of this map kind; "
                               "nothing was written. Check the densities, rates or inputs that "
                               "feed it (sinks validate CONFIG, sinks parameters CONFIG)")


@dataclass
class MapToWrite:
    """One single-band output map: data on the run grid and how to store it."""

    data: xr.DataArray
    path: Path
    dtype: str
    nodata: float | int
    description: str
    unit: str
    tags: dict
    overview_resampling: str
    colormap: dict | None = None
    style: str | None = None  # QGIS style sidecar: "classes", "sequential", "diverging" or None
    class_labels: dict[int, str] | None = None
    valid_range: tuple[float, float] | None = None  # checked block by block before writing
    title: str = ""  # short band description with unit (outputs.map_title); "" = description
    notes_from: int = 0  # where the notes appended to the registry description begin


def band_description(m: MapToWrite) -> str:
    """What QGIS shows as "Band 1: ...": the short title and the notes appended to the registry
    description (SCENARIO, SYNTHETIC, ...); the full description is the ``long_description`` tag."""
    if not m.title:
        return m.description
    return m.title + m.description[m.notes_from:]


def write_cogs(maps: list[MapToWrite]) -> list[Path]:
    """Write several COGs atomically, computing their dask graphs together in one pass.

    Each map is first written block by block into a tiled GeoTIFF under a lock, with its band
    description, unit, tags and colour table; then GDAL's COG driver copies it (overviews,
    DEFLATE, predictor) to a temporary name that is renamed into place. NaN becomes nodata.
    """
    token = uuid.uuid4().hex[:8]
    tiled = [m.path.with_name(f".{m.path.stem}.{token}.tiled.tif") for m in maps]
    cogs = [m.path.with_name(f".{m.path.stem}.{token}.cog.tif") for m in maps]
    try:
        datasets, sources, targets, samples = [], [], [], []
        for m, tmp in zip(maps, tiled):
            m.path.parent.mkdir(parents=True, exist_ok=True)
            dst = rasterio.open(tmp, "w", **_profile(m))
            datasets.append(dst)
            dst.set_band_description(1, band_description(m))
            dst.set_band_unit(1, m.unit)
            dst.update_tags(**{k: str(v) for k, v in m.tags.items()}, long_description=m.description)
            if m.colormap:
                dst.write_colormap(1, m.colormap)
            samples.append(MapSample((dst.height, dst.width), m.nodata, m.style == "classes"))
            arr = _prepared(m)
            if isinstance(arr, da.Array):
                sources.append(arr)
                targets.append(_WindowWriter(dst, m, samples[-1]))
            else:
                arr = np.asarray(arr)
                check_range(m, arr)
                samples[-1].add(arr)
                dst.write(arr, 1)
        if sources:
            _store(sources, targets)
        for dst in datasets:
            dst.close()
        for m, tmp, cog in zip(maps, tiled, cogs):
            rasterio.shutil.copy(tmp, cog, driver="COG", COMPRESS="DEFLATE", LEVEL=DEFLATE_LEVEL, PREDICTOR="YES",
                                 BLOCKSIZE=512, BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS",
                                 OVERVIEW_RESAMPLING=m.overview_resampling.upper())
        for m, cog, sample in zip(maps, cogs, samples):
            os.replace(cog, m.path)
            _write_style(m, sample)
            log.info("wrote %s", m.path)
    except (OSError, rasterio.errors.RasterioError) as exc:
        raise OutputError(f"{maps[0].path.parent}: could not write {[m.path.name for m in maps]} "
                          f"({exc}); check free disk space and write permission") from None
    finally:
        for f in tiled + cogs:
            f.unlink(missing_ok=True)
    return [m.path for m in maps]


def _write_style(m: MapToWrite, sample: MapSample) -> None:
    """The map's QGIS sidecar: the classes present, or a ramp fitted to the written values."""
    if m.style == "classes":
        write_qml(m.path, classes_qml(m.class_labels or {}, m.colormap or {}, sample.codes))
    elif m.style in ("sequential", "diverging"):
        diverging = m.style == "diverging"
        vmin, vmax = sample.value_range(symmetric=diverging)
        write_qml(m.path, ramp_qml(vmin, vmax, DIVERGING if diverging else SEQUENTIAL, m.unit, diverging))


def _profile(m: MapToWrite) -> dict:
    grid = m.data.odc.geobox
    return {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1,
            "dtype": m.dtype, "nodata": m.nodata, "crs": grid.crs.to_wkt(),
            "transform": grid.affine, "tiled": True, "blockxsize": 512, "blockysize": 512,
            "BIGTIFF": "IF_SAFER", "compress": "zstd", "zstd_level": 1, "num_threads": "ALL_CPUS"}


def _prepared(m: MapToWrite):
    arr = m.data.data
    lib = da if isinstance(arr, da.Array) else np
    if np.issubdtype(np.dtype(m.dtype), np.floating):
        arr = lib.where(lib.isnan(arr), m.nodata, arr)
    return arr.astype(m.dtype)

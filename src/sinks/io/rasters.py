"""Open rasters lazily with checks, and write Cloud-Optimized GeoTIFFs atomically.

COG writing (STYLE §5, departing from its "tiled GeoTIFF, then GDAL's COG copy" recipe, which
compressed every map twice and left the overviews to one core): each map is written once, from
its dask blocks, by :mod:`sinks.io.cog` (tiles and overviews compressed as the blocks arrive,
on every worker thread), at a temporary name renamed into place, so an interrupted job never
leaves a half-valid output; a QGIS style sidecar (``.qml``) fitted to the written blocks
follows. ``to_raster(driver="COG", lock=...)`` is avoided (rioxarray issue 410).
"""

from __future__ import annotations

import dataclasses
import json
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
import rioxarray
import xarray as xr
from odc.geo.geobox import GeoBox
from rasterio.errors import RasterioIOError

from sinks import tiles
from sinks.errors import CRSMismatchError, EmptyDataError, InputDataError, OutputError, OutputRangeError
from sinks.grid import DEFAULT_CHUNK
from sinks.io.cog import BLOCK, CogBuilder, gdal_tags
from sinks.io.styles import DIVERGING, SEQUENTIAL, MapSample, classes_qml, ramp_qml, write_qml

log = logging.getLogger(__name__)



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
    return tiles.crop(arr)


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


def _store(sources: list[da.Array], writers: list) -> None:
    """Compute the maps' blocks and hand each to its writer. Local threads: ``da.store`` with
    no lock (the writers are thread-safe). Under a dask.distributed client the blocks are
    computed by the workers (one graph for all maps, so shared inputs are computed once) and
    written here as they arrive, since a writer holds local files that cannot travel to a
    worker: same blocks, same bytes."""
    distributed = sys.modules.get("distributed")  # a client exists only if it was imported
    client = None
    if distributed is not None:
        try:
            client = distributed.default_client()
        except ValueError:
            client = None
    if client is None:
        da.store(sources, writers, lock=False)
        return
    blocks, where = [], []
    for writer, src in zip(writers, sources):
        blocks += src.to_delayed(optimize_graph=False).ravel().tolist()
        where += [(writer, key) for key in da.core.slices_from_chunks(src.chunks)]
    futures = client.compute(blocks)
    index = {id(f): n for n, f in enumerate(futures)}
    for future, block in distributed.as_completed(futures, with_results=True):
        writer, key = where[index[id(future)]]
        writer[key] = block
        future.release()


def check_range(m: "MapToWrite", block: np.ndarray) -> None:
    """Raise ``OutputRangeError`` naming the map if a valid pixel of ``block`` lies outside the
    map's valid range (STYLE §7: invariants checked before a deliverable exists)."""
    if m.valid_range is None:
        return
    mask = block != m.nodata if m.nodata is not None else True
    if m.nodata is not None and not mask.any():
        return
    lo, hi = m.valid_range
    info = np.finfo(block.dtype) if block.dtype.kind == "f" else np.iinfo(block.dtype)
    vmin = block.min(where=mask, initial=info.max)  # NaN propagates, and is refused below
    vmax = block.max(where=mask, initial=info.min)
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
    compression: str = "deflate"  # of the COG: "deflate" or "zstd" (outputs.compression)


def band_description(m: MapToWrite) -> str:
    """What QGIS shows as "Band 1: ...": the short title and the notes appended to the registry
    description (SCENARIO, SYNTHETIC, ...); the full description is the ``long_description`` tag."""
    if not m.title:
        return m.description
    return m.title + m.description[m.notes_from:]


def write_cogs(maps: list[MapToWrite]) -> list[Path]:
    """Write several COGs atomically, computing their dask graphs together in one pass.

    Each map's blocks (:func:`map_blocks_source`: where they come from) are checked against
    the map's valid range, sampled for its style and handed to a :class:`_BlockWriter` (how a
    block is written: compressed once, with the overview tiles inside it, see
    :mod:`sinks.io.cog`) from dask's worker threads, with no lock, so both cores compress.
    Each COG is then laid out at a temporary name, renamed into place, and its ``.qml``
    sidecar follows. NaN becomes nodata; an error or interruption leaves neither the map nor
    a temporary file.
    """
    if tiles.current() is not None:
        maps = [_tile_map(m) for m in maps]
    token = uuid.uuid4().hex[:8]
    cogs = [m.path.with_name(f".{m.path.stem}.{token}.cog.tif") for m in maps]
    writers: list[_BlockWriter] = []
    try:
        sources = []
        for m in maps:
            m.path.parent.mkdir(parents=True, exist_ok=True)
            src = map_blocks_source(m)
            writers.append(_BlockWriter(m, src.chunks, m.path.with_name(f".{m.path.stem}.{token}.tiles")))
            sources.append(src)
        _store(sources, writers)
        for m, w, cog in zip(maps, writers, cogs):
            w.write(cog)
        for m, w, cog in zip(maps, writers, cogs):
            os.replace(cog, m.path)
            _write_style(m, w.sample)
            log.info("wrote %s", m.path)
    except (OSError, rasterio.errors.RasterioError) as exc:
        raise OutputError(f"{maps[0].path.parent}: could not write {[m.path.name for m in maps]} "
                          f"({exc}); check free disk space and write permission") from None
    finally:
        for w in writers:
            w.close()
        for f in cogs:
            f.unlink(missing_ok=True)
    return [m.path for m in maps]


def _tile_map(m: MapToWrite) -> MapToWrite:
    """The active tile's part of a map: written in the tile's folder, with how to write the
    whole map beside it (:func:`map_spec_path`), which the ``mosaic`` stage reads."""
    tile_map = dataclasses.replace(m, path=tiles.redirect(m.path))
    spec = {f.name: getattr(m, f.name) for f in dataclasses.fields(m) if f.name != "data"}
    spec["path"] = str(m.path)
    for key in ("colormap", "class_labels"):
        if spec[key] is not None:
            spec[key] = [[k, v] for k, v in spec[key].items()]
    spec_path = map_spec_path(tile_map.path)
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(json.dumps(spec, indent=1))
    return tile_map


def map_spec_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_map_spec(path: Path, data: xr.DataArray) -> MapToWrite:
    """The map described by the spec file ``path`` (written with a tile), with ``data``."""
    spec = json.loads(Path(path).read_text())
    for key in ("colormap", "class_labels"):
        if spec[key] is not None:
            spec[key] = {int(k): tuple(v) if isinstance(v, list) else v for k, v in spec[key]}
    if spec["valid_range"] is not None:
        spec["valid_range"] = tuple(spec["valid_range"])
    return MapToWrite(data=data, **{**spec, "path": Path(spec["path"])})


def map_blocks_source(m: MapToWrite) -> da.Array:
    """The map's values as stored (dtype, NaN -> nodata), as a dask array whose chunk edges lie
    on the 512-pixel COG tile grid (rechunked only if they do not)."""
    arr = _prepared(m)
    if not isinstance(arr, da.Array):
        return da.from_array(np.asarray(arr), chunks=DEFAULT_CHUNK)
    rechunk = {}
    for axis, chunks in enumerate(arr.chunks):
        if any(c % BLOCK for c in chunks[:-1]):
            rechunk[axis] = max(BLOCK, chunks[0] // BLOCK * BLOCK)
    return arr.rechunk(rechunk) if rechunk else arr


class _BlockWriter:
    """``da.store`` target (thread-safe) of one map: each block is checked against the map's
    valid range (before anything is renamed into place), recorded in the style sample and
    compressed into the map's COG tiles. Any loop that receives computed blocks (a
    dask.distributed stage, say) can call ``writer[rows, cols] = block`` the same way."""

    def __init__(self, m: MapToWrite, chunks, spill: Path):
        self.m = m
        shape = tuple(sum(c) for c in chunks)
        self.sample = MapSample(shape, m.nodata, m.style == "classes")
        self._lock = threading.Lock()
        self.builder = CogBuilder(shape, chunks, m.dtype, m.nodata, m.compression,
                                  m.overview_resampling.lower(), spill)

    def __setitem__(self, key, value):
        check_range(self.m, value)
        with self._lock:
            self.sample.add(value)
        rows, cols = key
        self.builder.put_block(rows.start, cols.start, value)

    def write(self, path: Path) -> None:
        """Finish the overviews and lay the COG out at ``path``."""
        m = self.m
        grid = m.data.odc.geobox
        self.builder.finish()
        self.builder.write(path, gdal_tags(
            {"crs": grid.crs.to_wkt(), "transform": grid.affine, "dtype": m.dtype, "nodata": m.nodata},
            band_description(m), m.unit,
            {**{k: str(v) for k, v in m.tags.items()}, "long_description": m.description}, m.colormap))

    def close(self) -> None:
        self.builder.close()


def _write_style(m: MapToWrite, sample: MapSample) -> None:
    """The map's QGIS sidecar: the classes present, or a ramp fitted to the written values."""
    if m.style == "classes":
        write_qml(m.path, classes_qml(m.class_labels or {}, m.colormap or {}, sample.codes))
    elif m.style in ("sequential", "diverging"):
        diverging = m.style == "diverging"
        vmin, vmax = sample.value_range(symmetric=diverging)
        write_qml(m.path, ramp_qml(vmin, vmax, DIVERGING if diverging else SEQUENTIAL, m.unit, diverging))


def _prepared(m: MapToWrite):
    arr = m.data.data
    lib = da if isinstance(arr, da.Array) else np
    if np.issubdtype(np.dtype(m.dtype), np.floating):
        arr = lib.where(lib.isnan(arr), m.nodata, arr)
    return arr.astype(m.dtype)

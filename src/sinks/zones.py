"""Zones on the grid and zonal totals.

Zones are rasterized once per level (pixel centre inside the polygon) to an index raster,
0 = outside every zone. Totals are ``np.bincount`` per block of (zone, class, ...) keys weighted
by pixel area (or density × pixel area), summed over blocks by dask's tree reduction (STYLE §4.6):
per-hectare rasters are never summed directly.

A tiled run (sinks.tiles) sums the zones of each tile in its own job: :func:`recorded_totals`
keeps every result of :func:`zonal_totals` in the order the summary asks for them, and
:func:`summed_totals` answers the same questions of the whole grid with the sums of the
tiles' results (exact: every total is a sum over pixels, and each pixel lies in one tile).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import rasterio.features
import shapely
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks.errors import InputDataError
from sinks.grid import DEFAULT_CHUNK, on_grid

Totals = dict[str, dict[str, np.ndarray]]


def rasterize_zones(zones: gpd.GeoDataFrame, grid: GeoBox, chunks: int = DEFAULT_CHUNK) -> xr.DataArray:
    """Zone index raster (uint32; zone i of ``zones`` -> i + 1, 0 outside), lazily per block."""
    gdf = zones.to_crs(grid.crs.to_wkt())
    geoms = np.asarray(gdf.geometry.values)
    tree = shapely.STRtree(geoms)
    affine = grid.affine
    h, w = grid.shape.yx

    def block(x, block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        win_affine = affine * affine.translation(c0, r0)
        x0, y0 = win_affine * (0, 0)
        x1, y1 = win_affine * (c1 - c0, r1 - r0)
        hits = tree.query(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        if not len(hits):
            return np.zeros((r1 - r0, c1 - c0), dtype="uint32")
        return rasterio.features.rasterize(
            ((geoms[i], int(i) + 1) for i in sorted(hits)), out_shape=(r1 - r0, c1 - c0),
            transform=win_affine, fill=0, dtype="uint32", all_touched=False)

    template = da.empty((h, w), chunks=(min(chunks, h), min(chunks, w)), dtype="uint32")
    return on_grid(da.map_blocks(block, template, dtype="uint32"), grid, "zone_index")


def zonal_totals(zone_indexes: dict[str, xr.DataArray], n_zones: dict[str, int],
                 classes: Sequence[xr.DataArray], n_classes: Sequence[int],
                 values: dict[str, xr.DataArray]) -> dict[str, dict[str, np.ndarray]]:
    """Sum of each value over every (zone, class, class, ...) cell, for every zone level, in one pass.

    ``classes`` are class-index maps (indexes 0..n-1 for the matching ``n_classes``), e.g. one
    map for totals by class or the maps of two epochs for a transition matrix; ``values`` are
    per-pixel quantities that are already totals for the pixel (e.g. pixel area in ha, or
    density × pixel area); NaN counts as 0.
    Returns ``{level: {value_name: array[n_zones[level] + 1, *n_classes]}}`` (zone 0 = outside).
    """
    if _sessions:
        return _sessions[-1](zone_indexes, n_zones, classes, n_classes, values)
    return _totals(zone_indexes, n_zones, classes, n_classes, values)


def _totals(zone_indexes, n_zones, classes, n_classes, values) -> Totals:
    levels = list(zone_indexes)
    names = list(values)
    cells = int(np.prod(n_classes))
    sizes = [(n_zones[lv] + 1) * cells for lv in levels]
    offsets = np.cumsum([0] + sizes)
    per_value = int(offsets[-1])
    total = per_value * len(names)
    n_cls = len(classes)
    arrays = ([zone_indexes[lv].data for lv in levels] + [c.data for c in classes]
              + [values[n].data for n in names])
    chunks = next((a.chunks for a in arrays if isinstance(a, da.Array)), arrays[0].shape)
    arrays = [a.rechunk(chunks) if isinstance(a, da.Array) else da.from_array(a, chunks=chunks)
              for a in arrays]

    def kernel(*blocks):
        zs, cls = blocks[:len(levels)], blocks[len(levels):len(levels) + n_cls]
        vs = blocks[len(levels) + n_cls:]
        key = np.zeros(zs[0].shape, dtype="int64")
        for c, n in zip(cls, n_classes):
            key = key * n + c
        key = key.ravel()
        out = np.zeros(total, dtype="float64")
        for k, v in enumerate(vs):
            v = np.where(np.isfinite(v), v, 0.0).astype("float64", copy=False).ravel()
            for j, z in enumerate(zs):
                start = k * per_value + offsets[j]
                out[start:start + sizes[j]] += np.bincount(z.astype("int64").ravel() * cells + key,
                                                           weights=v, minlength=sizes[j])
        return out[None, None, :]

    nb = arrays[0].numblocks
    parts = da.map_blocks(kernel, *arrays, dtype="float64", new_axis=2,
                          chunks=((1,) * nb[0], (1,) * nb[1], (total,)))
    flat = parts.sum(axis=(0, 1)).compute()
    result: dict[str, dict[str, np.ndarray]] = {}
    for j, lv in enumerate(levels):
        result[lv] = {}
        for k, name in enumerate(names):
            start = k * per_value + offsets[j]
            result[lv][name] = flat[start:start + sizes[j]].reshape(n_zones[lv] + 1, *n_classes)
    return result


_sessions: list = []  # the active recorder or replayer of zonal_totals calls, if any


@contextlib.contextmanager
def recorded_totals():
    """Within the block, every :func:`zonal_totals` result is also appended to the list yielded."""
    results: list[Totals] = []

    def record(*args):
        results.append(_totals(*args))
        return results[-1]

    _sessions.append(record)
    try:
        yield results
    finally:
        _sessions.pop()


@contextlib.contextmanager
def summed_totals(parts: dict[str, list[Totals]]):
    """Within the block, the i-th :func:`zonal_totals` call returns the sum of the i-th results
    recorded in every part ({tile name: results}), checked to answer the same question."""
    names = list(parts)
    lengths = {len(r) for r in parts.values()}
    if len(lengths) != 1:
        raise InputDataError(f"the zone sums of tiles {names} hold different numbers of totals; "
                             "delete the run's tiles/ folder and rerun")
    calls = iter(range(lengths.pop()))

    def replay(zone_indexes, n_zones, classes, n_classes, values):
        i = next(calls, None)
        want = {lv: {v: (n_zones[lv] + 1, *n_classes) for v in values} for lv in zone_indexes}
        for name, results in parts.items():
            shapes = None if i is None else {lv: {v: a.shape for v, a in vs.items()}
                                             for lv, vs in results[i].items()}
            if shapes != want:
                raise InputDataError(f"the zone sums of tile {name} do not match the totals the "
                                     "summary asks for; delete the run's tiles/ folder and rerun")
        return {lv: {v: sum(rs[i][lv][v] for rs in parts.values()) for v in values} for lv in zone_indexes}

    _sessions.append(replay)
    try:
        yield
    finally:
        _sessions.pop()


def save_totals(results: list[Totals], path: Path) -> None:
    """Recorded totals as one .npz file (written at a temporary name, then renamed)."""
    arrays = {f"{i}|{lv}|{v}": a for i, r in enumerate(results) for lv, vs in r.items() for v, a in vs.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def load_totals(path: Path) -> list[Totals]:
    """The totals :func:`save_totals` wrote, in their order."""
    results: list[Totals] = []
    with np.load(path) as z:
        for key in z.files:
            i, lv, v = key.split("|")
            while len(results) <= int(i):
                results.append({})
            results[int(i)].setdefault(lv, {})[v] = z[key]
    return results

"""Tiles of the run grid (``grid.tile_size``), for runs beyond one machine.

With tiles, every per-pixel map job of the workflow runs once per tile, on its own (a SLURM job
or a machine each): it reads the window of the run-grid rasters it needs and writes its maps
under ``tiles/<name>/``; a ``mosaic`` job then writes each map of the run from its tiles in one
blockwise pass (overviews and style computed on the whole map, so there are no seams), and the
zone tables add up every tile's zone sums (:mod:`sinks.zones`).

While a tile is :func:`active` in a process, :func:`crop` cuts any run-grid array to the tile
(sinks.io.rasters.open_raster calls it on every raster it opens) and :func:`redirect` sends a
run file to the tile's folder (sinks.io.rasters.write_cogs calls it): the stage functions
themselves do not know about tiles.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from odc.geo.geobox import GeoBox

from sinks.errors import InputDataError
from sinks.grid import same_grid

@dataclass(frozen=True)
class Tile:
    """One tile: its name (``r<row>c<col>``), the run grid, the tile's pixel window in it, the
    run folder whose files it reads and the tile's folder (sinks.paths.RunPaths.tile), where
    those files are written."""

    name: str
    run_grid: GeoBox
    rows: slice
    cols: slice
    run_root: Path
    folder: Path

    @property
    def grid(self) -> GeoBox:
        return self.run_grid[self.rows, self.cols]


def tiling(grid: GeoBox, size: int | None) -> list[tuple[str, slice, slice]]:
    """The tiles of ``grid`` of ``size`` pixels per side (the last row and column smaller), row
    by row, as (name, row slice, column slice); none when ``size`` is None (an untiled run)."""
    if not size:
        return []
    h, w = grid.shape.yx
    return [(f"r{i}c{j}", slice(y, min(y + size, h)), slice(x, min(x + size, w)))
            for i, y in enumerate(range(0, h, size)) for j, x in enumerate(range(0, w, size))]


def tile(grid: GeoBox, size: int, name: str, run_root: Path, folder: Path) -> Tile:
    """The tile called ``name`` of the tiling of ``grid``, writing to ``folder``."""
    for n, rows, cols in tiling(grid, size):
        if n == name:
            return Tile(n, grid, rows, cols, Path(run_root), Path(folder))
    raise InputDataError(f"no tile {name!r} in the {grid.shape.x} x {grid.shape.y} px run grid "
                         f"cut into tiles of {size} px")


_active: list[Tile] = []


@contextlib.contextmanager
def active(t: Tile | None):
    """Within the block, rasters on the run grid open as their window of ``t`` and run files
    are written to the tile's folder; ``None``: the whole grid (e.g. for a quantity of the
    whole region that a tile's maps depend on)."""
    _active.append(t)
    try:
        yield
    finally:
        _active.pop()


def current() -> Tile | None:
    return _active[-1] if _active else None  # the innermost active() block's


def crop(arr):
    """``arr`` cut to the active tile if it lies on the run grid (else unchanged)."""
    t = current()
    if t is None or not same_grid(arr.odc.geobox, t.run_grid):
        return arr
    return arr.isel(y=t.rows, x=t.cols)


def redirect(path: Path) -> Path:
    """A run file's name in the active tile's folder (other paths and no tile: unchanged)."""
    t = current()
    if t is None:
        return path
    try:
        rel = Path(path).resolve().relative_to(t.run_root.resolve())
    except ValueError:
        return path
    return t.folder / rel

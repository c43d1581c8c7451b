"""The run's reference grid, alignment of inputs onto it, and pixel area.

Every input is brought onto one grid (STYLE §4.2) in an explicit, logged step; arithmetic on two
arrays first checks that they share CRS, transform and shape. Pixel area is computed from the
grid's geometry, never assumed.
"""

from __future__ import annotations

import logging
import math

import dask.array as da
import numpy as np
import xarray as xr
from odc.geo import XY, xy_
from odc.geo.geobox import GeoBox
from odc.geo.xr import xr_coords, xr_reproject
from pyproj import CRS, Geod, Proj, Transformer

from sinks.errors import GridMismatchError

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 2048  # pixels per side; a multiple of the 512 COG block


def reference_grid(template: GeoBox, crs: str | None = None, resolution: float | None = None,
                   bounds: tuple[float, float, float, float] | None = None) -> GeoBox:
    """The run grid.

    ``crs`` and ``resolution`` given: a grid in that CRS covering ``bounds`` (in that CRS) or, if
    ``bounds`` is None, the template's footprint. Its pixel edges fall on multiples of the
    resolution, except when CRS and resolution equal the template's: then the grid keeps the
    template's pixel alignment, so an input already on that grid is not resampled.
    Otherwise the template grid (the first epoch's), cropped to ``bounds`` if given.
    """
    same_pixels = crs is None or (template.crs == crs and math.isclose(
        abs(template.resolution.x), resolution, rel_tol=1e-9))
    if same_pixels:
        if bounds is None:
            return template
        return GeoBox.from_bbox(bounds, template.crs, resolution=template.resolution,
                                anchor=_pixel_anchor(template))
    if bounds is None:
        bounds = tuple(template.footprint(crs).boundingbox)
    return GeoBox.from_bbox(bounds, crs, resolution=resolution)


def _pixel_anchor(grid: GeoBox) -> XY:
    """The grid's pixel alignment as odc-geo's fractional snap point."""
    rx, ry = abs(grid.resolution.x), abs(grid.resolution.y)
    return xy_((grid.alignment.x / rx) % 1.0, (grid.alignment.y / ry) % 1.0)


def describe(grid: GeoBox) -> str:
    """One line for logs and tags."""
    if grid.crs.epsg:
        crs = f"EPSG:{grid.crs.epsg}"
    else:
        pcrs = CRS.from_user_input(grid.crs.to_wkt())
        crs = pcrs.name if pcrs.name != "unknown" else pcrs.to_proj4()[:60]
    return (f"{crs}, {abs(grid.resolution.x):g} x {abs(grid.resolution.y):g} "
            f"{grid.crs.units[0] if grid.crs.units else ''}, {grid.width} x {grid.height} px, "
            f"bounds {tuple(round(v, 4) for v in grid.boundingbox)}")


def same_grid(a: GeoBox, b: GeoBox) -> bool:
    """Equal CRS, shape and transform (to 1e-6 of a pixel)."""
    if a.shape != b.shape or a.crs != b.crs:
        return False
    return all(math.isclose(x, y, rel_tol=0, abs_tol=1e-6 * abs(a.resolution.x))
               for x, y in zip(a.affine, b.affine))


def require_same_grid(arr: xr.DataArray, grid: GeoBox, name: str) -> None:
    """Raise ``GridMismatchError`` unless ``arr`` lies on ``grid``."""
    if not same_grid(arr.odc.geobox, grid):
        raise GridMismatchError(f"{name}: not on the run grid ({describe(arr.odc.geobox)} vs "
                                f"{describe(grid)}); delete the run's interim/ folder and rerun")


def source_pixel_size(src: GeoBox, crs) -> float:
    """Mean side length of a source pixel measured in ``crs`` units."""
    area = src.footprint(crs).area
    return math.sqrt(area / (src.width * src.height))


def class_resampling(src: GeoBox, grid: GeoBox) -> str:
    """Nearest when the target pixels are as fine or finer, mode when they are coarser."""
    return "nearest" if abs(grid.resolution.x) <= source_pixel_size(src, grid.crs) * 1.0001 else "mode"


def align(arr: xr.DataArray, grid: GeoBox, *, categorical: bool, name: str,
          chunks: int = DEFAULT_CHUNK) -> xr.DataArray:
    """Bring ``arr`` onto ``grid`` lazily (odc-geo, dask), logging what was done.

    Classes are resampled by nearest or mode, continuous data by average (coarser target)
    or bilinear (finer target). An input already on the grid is returned unchanged.
    """
    src = arr.odc.geobox
    if same_grid(src, grid):
        log.info("%s: already on the run grid (%s); no resampling", name, describe(grid))
        return arr
    if categorical:
        method = class_resampling(src, grid)
    else:
        method = "bilinear" if class_resampling(src, grid) == "nearest" else "average"
    log.warning("%s: on a different grid (%s); resampled onto the run grid (%s) by %s",
                name, describe(src), describe(grid), method)
    nodata = arr.odc.nodata
    out = xr_reproject(arr, grid, resampling=method, dst_nodata=nodata)
    if not isinstance(out.data, da.Array):
        out = out.chunk({out.dims[0]: chunks, out.dims[1]: chunks})
    return out


def _linear_unit_m(crs) -> float:
    crs = CRS.from_user_input(crs.to_wkt())
    return crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0


def _geographic_row_areas_ha(grid: GeoBox) -> np.ndarray:
    """Ellipsoidal area of one pixel in each row (geodesic polygon area, pyproj.Geod)."""
    geod = Geod(**_ellipsoid_kwargs(grid.crs))
    a = grid.affine
    dx = a.a
    areas = np.empty(grid.height)
    for r in range(grid.height):
        top = a.f + a.e * r
        bottom = top + a.e
        lons = [a.c, a.c + dx, a.c + dx, a.c]
        lats = [top, top, bottom, bottom]
        area, _ = geod.polygon_area_perimeter(lons, lats)
        areas[r] = abs(area) / 1e4
    return areas


def _ellipsoid_kwargs(crs: CRS) -> dict:
    ell = CRS.from_user_input(crs.to_wkt()).ellipsoid
    return {"a": ell.semi_major_metre, "b": ell.semi_minor_metre}


def _areal_scale_block(block_rows: np.ndarray, block_cols: np.ndarray, affine, crs_wkt: str):
    """The projection's areal scale factor at the centres of the given pixel rows and columns."""
    rows, cols = np.meshgrid(block_rows + 0.5, block_cols + 0.5, indexing="ij")
    x = affine.c + affine.a * cols
    y = affine.f + affine.e * rows
    to_geo = Transformer.from_crs(crs_wkt, CRS(crs_wkt).geodetic_crs, always_xy=True)
    lon, lat = to_geo.transform(x, y)
    return Proj(crs_wkt).get_factors(lon, lat).areal_scale


SCALE_STEP = 32  # pixels between exact areal-scale evaluations inside a block


def _interpolated_areal_scale(r0: int, r1: int, c0: int, c1: int, affine, crs_wkt: str) -> np.ndarray:
    """Areal scale of every pixel of a block, exact on a lattice every SCALE_STEP px (and on the
    block's last row and column), bilinear in between.

    The scale of a map projection is smooth: over 32 px the bilinear error is below 1e-8 relative
    (tests/test_grid.py checks it against the exact per-pixel value), while the per-pixel pyproj
    call would dominate the run time.
    """
    rows, cols = np.arange(r0, r1), np.arange(c0, c1)
    knot_r = np.unique(np.append(rows[::SCALE_STEP], rows[-1]))
    knot_c = np.unique(np.append(cols[::SCALE_STEP], cols[-1]))
    knots = _areal_scale_block(knot_r, knot_c, affine, crs_wkt)
    (ri, rj, rw), (ci, cj, cw) = _lerp(rows, knot_r), _lerp(cols, knot_c)
    along_cols = knots[:, ci] * (1 - cw) + knots[:, cj] * cw
    return along_cols[ri] * (1 - rw)[:, None] + along_cols[rj] * rw[:, None]


def _lerp(x: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left and right knot indexes and the right knot's weight for linear interpolation of x."""
    if knots.size == 1:
        zero = np.zeros(x.size, dtype=int)
        return zero, zero, np.zeros(x.size)
    i = np.clip(np.searchsorted(knots, x, side="right") - 1, 0, knots.size - 2)
    return i, i + 1, (x - knots[i]) / (knots[i + 1] - knots[i])


def is_equal_area(grid: GeoBox) -> bool:
    """True when the projection's areal scale is 1 everywhere on the grid (sampled 7 x 7)."""
    if grid.crs.geographic:
        return False
    rows = np.linspace(0, grid.height - 1, 7)
    cols = np.linspace(0, grid.width - 1, 7)
    scale = _areal_scale_block(rows, cols, grid.affine, grid.crs.to_wkt())
    return bool(np.allclose(scale, 1.0, rtol=0, atol=1e-7))


def pixel_area_ha(grid: GeoBox, chunks: int = DEFAULT_CHUNK) -> xr.DataArray:
    """True ground area of every pixel, in hectares, as a lazy dask array on ``grid``.

    * geographic CRS: geodesic area of each row's cells on the CRS ellipsoid;
    * equal-area projection: the nominal cell area |a·e| (checked, not assumed);
    * other projections: nominal cell area divided by the projection's areal scale factor at the
      pixel centre (pyproj ``get_factors``, interpolated between exact values every 32 px),
      i.e. the area on the ellipsoid.
    """
    h, w = grid.shape.yx
    chunk_spec = (min(chunks, h), min(chunks, w))
    if grid.crs.geographic:
        rows = _geographic_row_areas_ha(grid).astype("float64")
        data = da.broadcast_to(da.from_array(rows[:, None], chunks=(chunk_spec[0], 1)), (h, w))
        data = data.rechunk(chunk_spec)
    else:
        unit = _linear_unit_m(grid.crs)
        nominal = abs(grid.affine.a * grid.affine.e) * unit * unit / 1e4
        if is_equal_area(grid):
            data = da.full((h, w), nominal, dtype="float64", chunks=chunk_spec)
        else:
            affine, wkt = grid.affine, grid.crs.to_wkt()

            def block(x, block_info=None):
                (r0, r1), (c0, c1) = block_info[None]["array-location"]
                return nominal / _interpolated_areal_scale(r0, r1, c0, c1, affine, wkt)

            data = da.map_blocks(block, da.empty((h, w), chunks=chunk_spec, dtype="float64"),
                                 dtype="float64")
    return on_grid(data, grid, "pixel_area_ha")


def on_grid(data, grid: GeoBox, name: str | None = None) -> xr.DataArray:
    """Wrap a (dask or numpy) 2-D array as a DataArray with ``grid``'s coordinates (dims y, x)."""
    return xr.DataArray(data, coords=xr_coords(grid, dims=("y", "x")), dims=("y", "x"), name=name)

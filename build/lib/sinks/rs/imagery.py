"""Multi-band reflectance imagery: named bands in reflectance units, lazily, with checks.

A scene is described by its path, a band mapping (name -> 1-based band index, names in the
Awesome Spectral Indices convention: B blue, G green, R red, N nir, S1 swir 1.6 µm, S2 swir
2.2 µm), a scale and offset (reflectance = DN × scale + offset; Sentinel-2 L2A since baseline
04.00: scale 1e-4, offset -0.1; Landsat Collection-2 L2: scale 2.75e-5, offset -0.2) and
optionally a quality band whose listed values are kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from sinks.errors import InputDataError
from sinks.grid import DEFAULT_CHUNK
from sinks.io.rasters import open_raster

SENTINEL2_L2A = {"bands": {"B": 2, "G": 3, "R": 4, "N": 8, "S1": 11, "S2": 12},
                 "scale": 1e-4, "offset": -0.1}
LANDSAT_C2_L2 = {"bands": {"B": 2, "G": 3, "R": 4, "N": 5, "S1": 6, "S2": 7},
                 "scale": 2.75e-5, "offset": -0.2}
MAX_REFLECTANCE = 1.5  # above this after scaling, the scale is wrong (bright snow is ~1)


def open_scene(path: str | Path, bands: dict[str, int], scale: float, offset: float = 0.0,
               quality_band: int | None = None, keep_values: list[int] | None = None,
               chunks: int = DEFAULT_CHUNK) -> xr.Dataset:
    """Named reflectance bands of a scene (float32, NaN where nodata or masked), lazily.

    Raises InputDataError for a missing band or a wrong scale (a sample of valid pixels above
    1.5 after scaling); open_raster's checks (file, CRS) apply.
    """
    path = Path(path)
    first = open_raster(path, chunks=chunks)
    import rasterio
    with rasterio.open(path) as src:
        count = src.count
    missing = {n: b for n, b in bands.items() if not 1 <= b <= count}
    if missing:
        raise InputDataError(f"{path}: has {count} band(s); band(s) {missing} of the band mapping "
                             "are missing; fix the mapping or export the bands")
    mask = None
    if quality_band is not None:
        q = open_raster(path, band=quality_band, chunks=chunks)
        mask = q.isin(keep_values or [])
    out = {}
    for name, b in bands.items():
        dn = first if b == 1 else open_raster(path, band=b, chunks=chunks)
        nodata = dn.odc.nodata
        refl = (dn.astype("float32") * np.float32(scale) + np.float32(offset))
        valid = dn != nodata if nodata is not None else xr.ones_like(dn, dtype=bool)
        if mask is not None:
            valid = valid & mask
        out[name] = refl.where(valid)
    ds = xr.Dataset(out)
    _check_scale(path, bands, scale, offset)
    return ds


def _check_scale(path: Path, bands: dict[str, int], scale: float, offset: float) -> None:
    """Reflectance of a decimated read (at most 256 px a side, from overviews where the file has
    them) of the first band, so a province-size scene is not read in full."""
    import rasterio
    name, band = next(iter(bands.items()))
    with rasterio.open(path) as src:
        f = max(1, max(src.width, src.height) // 256)
        dn = src.read(band, out_shape=(max(1, src.height // f), max(1, src.width // f)), masked=True)
    sample = dn.compressed().astype("float64") * scale + offset
    hi = np.percentile(sample, 99) if sample.size else np.nan
    if np.isfinite(hi) and hi > MAX_REFLECTANCE:
        raise InputDataError(f"{path}: band {name} reaches reflectance {hi:.3g} after scaling by "
                             f"{scale:g}; reflectance should be 0-1: check the scale (Sentinel-2 "
                             "and Landsat DNs need 1e-4 or 2.75e-5)")


def inundation_frequency(water_masks: list[xr.DataArray]) -> xr.DataArray:
    """Fraction of valid observations flagged as water per pixel (0-1; NaN where never observed),
    from a series of water masks (1 water, 0 land, NaN no observation), e.g. MNDWI > 0 masks of
    the Poyang Lake through the seasons."""
    if not water_masks:
        raise InputDataError("inundation_frequency: no water masks given")
    stack = xr.concat(water_masks, dim="time")
    return (stack.sum(dim="time", skipna=True) / stack.notnull().sum(dim="time")).rename("inundation_frequency")

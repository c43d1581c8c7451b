"""Land-cover legends, ecosystem classes and class look-up tables.

Every look-up is a dense numpy LUT indexed by the raster code and applied per block
(STYLE §4.3). Legends map a product's codes to the ecosystem classes below.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

# Ecosystem classes (uint8 codes of ecosystem_<year>.tif; 0 = nodata). "cropland" is cropland
# not split into paddy and upland: its densities are the paddy_share-weighted mean of the two.
# "cropland_perennial" (orchards, tea, oil-tea) has no built-in legend code: map it in a CSV legend.
ECOSYSTEMS: dict[int, str] = {
    1: "forest", 2: "shrub", 3: "grassland", 4: "wetland", 5: "water",
    6: "cropland_paddy", 7: "cropland_upland", 8: "cropland", 9: "settlement", 10: "other",
    11: "cropland_perennial",
}
ECOSYSTEM_CODES = {name: code for code, name in ECOSYSTEMS.items()}
ECOSYSTEM_COLOURS: dict[int, tuple[int, int, int, int]] = {
    1: (34, 120, 51, 255), 2: (140, 170, 60, 255), 3: (200, 220, 110, 255),
    4: (80, 170, 170, 255), 5: (50, 100, 200, 255), 6: (245, 215, 110, 255),
    7: (230, 170, 80, 255), 8: (240, 195, 95, 255), 9: (200, 50, 50, 255),
    10: (170, 170, 170, 255), 11: (190, 140, 60, 255),
}

# MODIS MCD12C1 Majority_Land_Cover_Type_1 (IGBP). Jiangxi caveat (shared/data README): much of
# the province's forest is labelled 8 woody savanna (30-60 % tree cover, counted as forest here)
# or 9 savanna (10-30 % tree cover, counted as shrub here: below China's 20 % canopy threshold
# for part of its range). IGBP classes 1-5 + 8 give 49.5 % forest; the official cover is about
# 63 %. Use a CSV legend to count 9 as forest instead.
IGBP = {0: "water", 1: "forest", 2: "forest", 3: "forest", 4: "forest", 5: "forest",
        6: "shrub", 7: "shrub", 8: "forest", 9: "shrub", 10: "grassland", 11: "wetland",
        12: "cropland", 13: "settlement", 14: "cropland", 15: "other", 16: "other"}
# CLCD, China's 30 m annual land cover (Yang & Huang 2021, ESSD 13:3907).
CLCD = {1: "cropland", 2: "forest", 3: "shrub", 4: "grassland", 5: "water", 6: "other",
        7: "other", 8: "settlement", 9: "wetland"}
# ESA WorldCover 10 m (2020/2021). Mangroves (95) count as wetland.
WORLDCOVER = {10: "forest", 20: "shrub", 30: "grassland", 40: "cropland", 50: "settlement",
              60: "other", 70: "other", 80: "water", 90: "wetland", 95: "wetland", 100: "other"}
BUILTIN_LEGENDS = {"igbp": IGBP, "clcd": CLCD, "worldcover": WORLDCOVER}


def lut_size(dtype) -> int:
    """LUT length able to index every non-negative code of an integer dtype up to uint16."""
    info = np.iinfo(dtype)
    return int(min(info.max, 65535)) + 1


def build_lut(mapping: dict[int, float], size: int, fill: float, dtype="float64") -> np.ndarray:
    """Dense LUT: ``lut[code] = mapping[code]``, ``fill`` elsewhere."""
    lut = np.full(size, fill, dtype=dtype)
    for code, value in mapping.items():
        if 0 <= code < size:
            lut[code] = value
    return lut


def _lut_block(block: np.ndarray, lut: np.ndarray, fill) -> np.ndarray:
    if block.dtype.kind == "u" and np.iinfo(block.dtype).max < lut.size:
        return lut[block]  # every code indexes the LUT: one gather, no mask
    out = np.full(block.shape, fill, dtype=lut.dtype)
    codes = block.astype("int64", copy=False)
    valid = (codes >= 0) & (codes < lut.size)
    out[valid] = lut[codes[valid]]
    return out


def apply_lut(codes: xr.DataArray, lut: np.ndarray, fill) -> xr.DataArray:
    """``lut[codes]`` block by block; codes outside the LUT give ``fill``.

    The LUT is embedded once in the graph (as a small constant), not per pixel.
    """
    data = codes.data
    if isinstance(data, da.Array):
        out = data.map_blocks(_lut_block, lut, fill, dtype=lut.dtype)
    else:
        out = _lut_block(np.asarray(data), lut, fill)
    return codes.copy(data=out)


def ecosystem_lut(legend: dict[int, str], size: int) -> np.ndarray:
    """LUT from raster code to ecosystem class code (0 = nodata / unmapped)."""
    return build_lut({c: ECOSYSTEM_CODES[e] for c, e in legend.items()}, size, 0, dtype="uint8")

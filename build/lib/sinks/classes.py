"""The class encoding of a run: raster code -> density of each pool, reporting class, and the
compact index 1..K-1 of the codes that have densities (0 = no data or no density).

Pure functions of the legend and density table (loaded once by :class:`sinks.run.Run`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from sinks.constants import POOLS
from sinks.io.tables import Densities
from sinks.landcover import ECOSYSTEM_CODES, ECOSYSTEMS, apply_lut, build_lut, lut_size
from sinks.models.stock_difference import class_densities, pool_luts


def carbon_luts(legend: dict[int, str] | None, dens: Densities, paddy_share: float | None, dtype,
                float_dtype="float32") -> dict[str, np.ndarray]:
    """Per-pool LUTs from raster code to density (Mg C ha-1)."""
    size = lut_size(dtype)
    if dens.kind == "invest":
        values = dens.values
        code_to_class = {int(c): int(c) for c in values.index}
    else:
        values = class_densities(dens.values, paddy_share)
        code_to_class = dict(legend)
    return {p: lut.astype(float_dtype) for p, lut in pool_luts(values, code_to_class, size).items()}


def reporting_classes(legend: dict[int, str] | None, dens: Densities, dtype) -> tuple[np.ndarray, list[str]]:
    """LUT raster code -> reporting class index, and the class names (index 0 = no data).

    Ecosystem classes when a legend is set; otherwise (InVEST table alone) the raster codes.
    """
    size = int(np.iinfo(dtype).max) + 1 if np.iinfo(dtype).max < 65536 else 65536
    if legend is not None:
        names = ["none"] + [ECOSYSTEMS[c] for c in sorted(ECOSYSTEMS)]
        lut = build_lut({c: ECOSYSTEM_CODES[e] for c, e in legend.items()}, size, 0, dtype="int64")
        return lut, names
    codes = sorted(int(c) for c in dens.values.index)
    lut = build_lut({c: i + 1 for i, c in enumerate(codes)}, size, 0, dtype="int64")
    return lut, ["none"] + [f"lucode_{c}" for c in codes]


@dataclass(frozen=True)
class CompactClasses:
    """Every raster code that has densities, indexed 1..K-1 (0 = no data or no density)."""

    lut: np.ndarray  # raster code -> compact index
    codes: np.ndarray  # raster code of each compact index 1..K-1
    density: dict[str, np.ndarray]  # pool -> density of each compact index (Mg C ha-1; 0 at 0)
    report_class: np.ndarray  # reporting class index of each compact index
    names: list[str]  # reporting class names (index 0 = "none")
    table_keys: list  # density-table key of each compact index (None at 0)

    def onehot(self) -> np.ndarray:
        """(K, reporting classes): 1 where a compact class reports to a class (row 0 empty)."""
        k = self.density[POOLS[0]].size
        out = np.zeros((k, len(self.names)))
        out[np.arange(k), self.report_class] = 1.0
        out[0] = 0.0  # no data or no density: not reported
        return out

    def total_density(self) -> np.ndarray:
        """Total density of each compact class, Mg C ha-1 (sum of the pools)."""
        return sum(self.density[p] for p in POOLS)


def compact_classes(legend: dict[int, str] | None, dens: Densities, paddy_share: float | None,
                    dtype) -> CompactClasses:
    """The compact class index of a run's land-cover codes, with densities and reporting classes."""
    luts = carbon_luts(legend, dens, paddy_share, dtype, float_dtype="float64")
    report_lut, names = reporting_classes(legend, dens, dtype)
    total = sum(luts[p] for p in POOLS)
    codes = np.flatnonzero(np.isfinite(total))
    compact = np.zeros(total.size, dtype="uint8" if codes.size < 255 else "uint16")
    compact[codes] = np.arange(1, codes.size + 1)
    density = {p: np.concatenate([[0.0], luts[p][codes]]) for p in POOLS}
    report_class = np.concatenate([[0], report_lut[codes]])
    keys = [None] + [int(c) if dens.kind == "invest" else legend[int(c)] for c in codes]
    return CompactClasses(compact, codes, density, report_class, names, keys)


def class_lookup(compact: xr.DataArray, per_class: np.ndarray) -> xr.DataArray:
    """``per_class[c]`` per pixel of a compact class map (NaN where the class is 0 = no data)."""
    lut = per_class.astype("float32")
    lut[0] = np.nan
    return apply_lut(compact, lut, np.nan)


def pair_lookup(c0: xr.DataArray, c1: xr.DataArray, table: np.ndarray,
                 strata: xr.DataArray | None = None) -> xr.DataArray:
    """``table[c0, c1]`` per pixel, or ``table[stratum, c0, c1]`` for a (S, K, K) table (NaN
    where either class is 0 = no data; a (S, K, K) table without strata uses stratum 0)."""
    lut = table.astype("float32").reshape((-1,) + table.shape[-2:])
    lut[:, 0, :] = np.nan
    lut[:, :, 0] = np.nan
    k = lut.shape[-1]
    key = c0.astype("int32") * k + c1.astype("int32")
    if strata is not None:
        key = key + strata.astype("int32") * (k * k)
    return apply_lut(key, lut.ravel(), np.nan)

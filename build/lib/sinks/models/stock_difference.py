"""IPCC stock-difference method: carbon stocks per pool from class densities, and the net sink.

Stocks: C = Σ_pools density(class) (Mg C ha-1), by look-up per pixel; a pool total over an area
is Σ density × pixel area (InVEST Carbon computes the same: stock = Σ pools × pixel area).

Net change (IPCC 2006 Vol.4 Ch.2 Eq. 2.5): ΔC = (C_t2 − C_t1) / (t2 − t1), converted to CO2 by
44/12. Sign convention: **positive = net removal from the atmosphere (sink)**, negative = source.

With class look-up densities, land that stays in its class never changes: the difference of two
look-up stocks is the **land-use-change component** of the stock change (conversions only, no
growth of land remaining in its class), never the sink (:func:`land_use_change_rates`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from sinks.constants import C_TO_CO2, POOLS
from sinks.landcover import apply_lut, build_lut

log = logging.getLogger(__name__)

DEFAULT_PADDY_SHARE = 0.5


def class_densities(values: pd.DataFrame, paddy_share: float | None) -> pd.DataFrame:
    """Sinks-table densities per ecosystem, adding the unsplit ``cropland`` class if absent.

    Unsplit cropland = paddy_share × cropland_paddy + (1 − paddy_share) × cropland_upland
    (area-weighted mean of the two, per pool).
    """
    out = values.copy()
    if "cropland" not in out.index and {"cropland_paddy", "cropland_upland"} <= set(out.index):
        share = DEFAULT_PADDY_SHARE if paddy_share is None else paddy_share
        if paddy_share is None:
            log.warning("carbon.paddy_share is not set: unsplit cropland uses %.0f %% paddy / "
                        "%.0f %% upland densities; set it from local statistics",
                        100 * share, 100 * (1 - share))
        out.loc["cropland"] = (share * out.loc["cropland_paddy"]
                               + (1 - share) * out.loc["cropland_upland"])
    return out


def pool_luts(values: pd.DataFrame, code_to_class: dict[int, object], size: int) -> dict[str, np.ndarray]:
    """One float32 LUT per pool from raster code to density (Mg C ha-1); NaN for unmapped codes.

    ``code_to_class`` maps each raster code to an index of ``values`` (an ecosystem name for a
    sinks table, the code itself for an InVEST table).
    """
    luts = {}
    for pool in POOLS:
        mapping = {code: values.loc[cls, pool] for code, cls in code_to_class.items()
                   if cls in values.index}
        luts[pool] = build_lut(mapping, size, np.nan, dtype="float32")
    return luts


def stocks(codes: xr.DataArray, luts: dict[str, np.ndarray]) -> xr.Dataset:
    """Carbon stock density per pool (Mg C ha-1) for a land-cover code map; NaN where no data."""
    return xr.Dataset({pool: apply_lut(codes, lut, np.nan) for pool, lut in luts.items()})


def total_stock(pools: xr.Dataset) -> xr.DataArray:
    """Sum of the pools (Mg C ha-1), NaN where any pool is NaN."""
    total = None
    for pool in POOLS:
        total = pools[pool] if total is None else total + pools[pool]
    return total.rename("carbon_stock")


def land_use_change_rates(biomass, soc, soil_reported, years: float, d: float
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Land-use-change component per class pair (class at t0, class at t1), t C ha-1 yr-1:
    ``(conversion, soil)``, each (K, K, ...) from per-class (K, ...) stocks (so weights over
    parameters work the same way).

    * Biomass and dead organic matter (``biomass``): the look-up difference over the period,
      (B_t1 − B_t0) / Δt (Eq. 2.5 with class densities; as Eq. 2.16 for a conversion).
    * Mineral soil (``soc``): booked over D years as IPCC 2006 Vol.4 Ch.2 Eq. 2.25 does, the
      period's share (SOC_t1 − SOC_t0) / max(D, Δt) (the rest of the change falls after the
      period, as in the gain-loss method), and only between classes whose soil is reported
      (``soil_reported``: not open water or bare land, whose 0 means "not reported": lake
      sediment exposed as wetland or marsh flooded into lake neither creates nor loses soil
      carbon; 2006/2019 Vol.4 Ch.7 scope, as the gain-loss method's rule).
    """
    biomass, soc = np.asarray(biomass, dtype="float64"), np.asarray(soc, dtype="float64")
    both = np.logical_and.outer(soil_reported, soil_reported)
    both = both.reshape(both.shape + (1,) * (soc.ndim - 1))
    conversion = (biomass[None, :] - biomass[:, None]) / years
    soil = np.where(both, (soc[None, :] - soc[:, None]) / max(d, years), 0.0)
    return conversion, soil


def net_sink(stock_start: xr.DataArray, stock_end: xr.DataArray, year_start: int,
             year_end: int) -> xr.DataArray:
    """Annual net CO2 sink between two epochs (Mg CO2 ha-1 yr-1), IPCC 2006 Vol.4 Ch.2 Eq. 2.5.

    ``(C_end − C_start) / (year_end − year_start) × 44/12`` with stocks in Mg C ha-1;
    positive = net removal from the atmosphere (sink), negative = net emission (source).
    """
    if year_end <= year_start:
        raise ValueError(f"year_end {year_end} must be after year_start {year_start}")
    return ((stock_end - stock_start) * (C_TO_CO2 / (year_end - year_start))).rename("net_sink")

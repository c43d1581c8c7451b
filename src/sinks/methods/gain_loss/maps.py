"""Gain-loss maps: inundation frequency, the conversion history of each epoch, the net sink,
gross removals and emissions (and CH4) of each period, and the net sink's uncertainty.
One function per rule (IPCC 2006 Vol.4 Ch.2 Eq. 2.7-2.16, 2.25; 2013 Wetlands Supplement)."""

from __future__ import annotations

import functools
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

from sinks.classes import CompactClasses, pair_lookup
from sinks.constants import UNCERTAINTY_STATS
from sinks.errors import InputDataError
from sinks.grid import align, require_same_grid
from sinks.io.rasters import MapToWrite, open_raster, write_cogs
from sinks.landcover import apply_lut
from sinks.methods.gain_loss.classes import gain_loss_compact, history_dtype, inundation, strata_map
from sinks.methods.gain_loss.rates import (LAKE, ch4_rate, forest_indicators, gain_loss_names,
                                           gain_loss_rate_draws, history_keep, n_soil_strata,
                                           rate_layout, stratified_rates)
from sinks.models.gain_loss import next_history
from sinks.propagation import registry_seed
from sinks.uncertainty import interval95
from sinks.rs.imagery import inundation_frequency
from sinks.run import Run


def map_inundation(run: Run) -> Path:
    """Write ``inundation_frequency.tif`` on the run grid (fraction of time flooded, 0-1):
    the given frequency raster (``wetland.inundation``) or the fraction of the water masks
    (``wetland.water_masks``; 1 water, 0 land, nodata = not observed) flagged as water
    (sinks.rs.imagery.inundation_frequency). Inputs are aligned as continuous data (average)."""
    cfg, paths, chunks = run.cfg, run.paths, run.chunks
    wet = cfg["wetland"]
    grid = run.grid
    sources = [wet["inundation"]] if wet["inundation"] else list(wet["water_masks"])
    layers = []
    for path in sources:
        src = open_raster(path, chunks=chunks)
        src = src.astype("float32").where(src != src.odc.nodata) if src.odc.nodata is not None else src.astype("float32")
        layers.append(align(src.rio.write_nodata(np.nan), grid, categorical=False,
                            name=f"wetland inundation input {path}", chunks=chunks))
    freq = layers[0] if wet["inundation"] else inundation_frequency(layers)
    lo, hi = (float(v) for v in dask_min_max(freq))
    if not (0.0 <= lo and hi <= 1.0):
        raise InputDataError(f"{sources[0]}: inundation frequency spans {lo:.3g}-{hi:.3g}; it must "
                             "be a fraction 0-1 (water masks: 1 water, 0 land)")
    mask = run.clip_mask(grid)
    if mask is not None:
        freq = freq.where(mask)
    basis = "synthetic" if wet["synthetic"] else "observed"
    m = run.map("inundation_frequency", freq, basis=basis,
                model="fraction of observations flooded" if not wet["inundation"] else "given raster",
                inputs=sources)
    if wet["synthetic"]:
        m.description += " (SYNTHETIC)"
    write_cogs([m])
    return paths.output("inundation_frequency")


def dask_min_max(arr: xr.DataArray) -> tuple[float, float]:
    """Minimum and maximum of an array ignoring NaN (a reduction: small result); (0, 0) if empty."""
    lo, hi = dask.compute(arr.min(skipna=True), arr.max(skipna=True))
    lo, hi = float(lo), float(hi)
    return (0.0, 0.0) if np.isnan(lo) else (lo, hi)


def track_conversions(run: Run, year: int) -> Path:
    """Write ``interim/conversion_history_<year>.tif``: per pixel, the last land-use conversion
    whose soil is still moving at ``year`` (Eq. 2.25: D = 20 yr after it), as a code of
    (epoch of the conversion, class before, class after); 0 = none. Computed epoch after epoch
    from the previous epoch's history, so land converted to X stays "land converted" for D
    years and then is "X remaining X"."""
    paths, chunks = run.paths, run.chunks
    eps = run.epochs
    years = [e.year for e in eps]
    i = years.index(year)
    first = open_raster(run.landcover_path(years[0]), chunks=chunks)
    cc = run.classes(first.dtype)
    k = len(gain_loss_names(run, cc))
    dtype = history_dtype(run, k)
    if i == 0:
        hist = xr.zeros_like(first, dtype=dtype)
    else:
        prev = run.open_on_grid(paths.conversion_history(years[i - 1]), first.odc.geobox)
        c0, c1 = (gain_loss_compact(run, cc, y) for y in years[i - 1:i + 1])
        keep = history_keep(run, gain_loss_names(run, cc), year)
        kernel = functools.partial(next_history, epoch_index=i - 1, keep=keep, k=k)
        hist = xr.apply_ufunc(kernel, prev, c0, c1, dask="parallelized", output_dtypes=[np.dtype(dtype)])
    out = paths.conversion_history(year)
    m = MapToWrite(hist, out, dtype, None,
                   f"Land-use conversion history at {year} (epoch, class before, class after)",
                   "code", run.tags(model="conversion tracking, IPCC Eq. 2.25 (D years)",
                                    inputs=[run.landcover_path(y) for y in years[:i + 1]],
                                    basis=eps[i].basis, kind="conversion_history",
                                    citation="IPCC 2006 Vol.4 Ch.2 Eq. 2.25 (D = 20 yr transition)",
                                    epochs=",".join(map(str, years)), classes=str(k)), "nearest",
                   compression=run.cfg["outputs"]["compression"])
    write_cogs([m])
    return out


def compute_gain_loss(run: Run, y0: int, y1: int) -> list[Path]:
    """Write the gain-loss net sink, gross removals and gross emissions maps of a period
    (Mg CO2 ha-1 yr-1, net: positive = sink), and with ``wetland.ch4`` the CH4 map
    (Mg CO2e ha-1 yr-1, negative = source). A pixel's rates depend on its class pair and its
    conversion history; pixels of natural lake open water at y1 are nodata (not managed land)."""
    cfg, paths, chunks = run.cfg, run.paths, run.chunks
    src = [run.landcover_path(y) for y in (y0, y1)]
    first = open_raster(src[0], chunks=chunks)
    cc = run.classes(first.dtype)
    compact = [gain_loss_compact(run, cc, y) for y in (y0, y1)]
    require_same_grid(compact[1], compact[0].odc.geobox, str(src[1]))
    hist = run.open_on_grid(paths.conversion_history(y0), compact[0].odc.geobox)
    rates = stratified_rates(run, cc, y0, y1)
    names = gain_loss_names(run, cc)
    strata = strata_map(run, compact[0].odc.geobox)
    managed = apply_lut(compact[1], np.array([n != LAKE for n in names]), False)
    basis = run.period_basis(y0, y1)
    n_hist = rates["history_net"].shape[1]
    hist_key = hist.astype("int32") if strata is None else strata.astype("int32") * n_hist + hist
    layers = {kind: (pair_lookup(compact[0], compact[1], rates[key], strata)
                     + apply_lut(hist_key, rates[f"history_{key}"].ravel().astype("float32"), np.nan)).where(managed)
              for kind, key in (("gain_loss_net", "net"), ("gross_removals", "removals"),
                                ("gross_emissions", "emissions"))}
    if cfg["wetland"]["enabled"] and cfg["wetland"]["ch4"]:
        layers["ch4_emissions_co2e"] = ch4_map(run, cc, compact[1])
    maps = []
    for kind, layer in layers.items():
        m = run.map(kind, layer, basis=basis,
                    model=f"gain_loss (forest growth {'by forest stratum, else ' if cfg['forest']['enabled'] else ''}"
                          f"{cfg['gain_loss']['forest_growth']}, "
                       f"climate zone {cfg['gain_loss']['climate_zone']}"
                       + "".join(f", {k} raster" for k, v in cfg["gain_loss"]["strata"].items() if v) + ")",
                    inputs=src + [run.densities_path, "sinks parameter registry",
                               paths.conversion_history(y0)], y0=y0, y1=y1)
        maps.append(m)
    return write_cogs(maps)


def ch4_map(run: Run, cc: CompactClasses, compact1: xr.DataArray) -> xr.DataArray:
    """CH4 per pixel as CO2e (Mg CO2e ha-1 yr-1, negative = source): wetland on mineral soil
    at the period's end emits EF × its flooded fraction; other managed land 0; lake open water
    and no data NaN."""
    names = gain_loss_names(run, cc)
    per_class = np.array([np.nan if n in (None, LAKE) else (1.0 if n == "wetland" else 0.0) for n in names])
    f = inundation(run, compact1.odc.geobox).fillna(0.0)
    return (apply_lut(compact1, per_class.astype("float32"), np.nan) * f * np.float32(ch4_rate(run))).astype("float32")


def map_gain_loss_uncertainty(run: Run, y0: int, y1: int) -> list[Path]:
    """Per-pixel sd, 2.5 and 97.5 percentile maps of a period's gain-loss net sink
    (``gain_loss_net_<y0>_<y1>_{sd,p2_5,p97_5}.tif``), IPCC 2006 Vol.1 §3.2.3.2. A pixel's
    rate is its (stratum, class pair) rate plus its conversion-history rate, as in
    :func:`compute_gain_loss`; the statistics are computed from the Monte Carlo draws of
    the registry parameters (the same draws as the table rows) once for every such combination
    present in the map, and looked up per pixel."""
    cfg, paths, chunks = run.cfg, run.paths, run.chunks
    if "monte_carlo" not in cfg["uncertainty"]["approaches"]:
        raise InputDataError("gain-loss uncertainty maps need uncertainty.approaches to include "
                             "monte_carlo (the rates are products of parameters)")
    src = [run.landcover_path(y) for y in (y0, y1)]
    cc = run.classes(open_raster(src[0], chunks=chunks).dtype)
    compact = [gain_loss_compact(run, cc, y) for y in (y0, y1)]
    grid = compact[0].odc.geobox
    require_same_grid(compact[1], grid, str(src[1]))
    hist = run.open_on_grid(paths.conversion_history(y0), grid)
    names = gain_loss_names(run, cc)
    k, n_soil = len(names), n_soil_strata(cfg)
    n_hist = len(run.epochs) * k * k
    strata = strata_map(run, grid)
    stratum = xr.zeros_like(compact[0], dtype="int64") if strata is None else strata.astype("int64")
    pair = (stratum * k + compact[0].astype("int64")) * k + compact[1].astype("int64")
    history = (stratum % n_soil) * n_hist + hist.astype("int64")
    managed = apply_lut(compact[1], np.array([n not in (None, LAKE) for n in names]), False)
    combo = (pair * (n_soil * n_hist) + history).where(managed & (compact[0] > 0), -1).astype("int64")
    present = np.unique(da.unique(combo.data).compute())
    present = present[present >= 0]
    draws = gain_loss_rate_draws(run, cc, y0, y1)["net"]
    lay = rate_layout(cfg, k, n_hist)
    pair_i, hist_i = present // (n_soil * n_hist), present % (n_soil * n_hist)
    level, a, b = pair_i // (k * k) // n_soil, pair_i // k % k, pair_i % k
    soil_pair = (pair_i // (k * k) % n_soil) * k * k + a * k + b
    g, r = forest_indicators(names)["net"]  # where a forest level's gain and removals enter
    series = (draws[:, soil_pair] + g[a, b] * draws[:, lay["gain"] + level]
              + r[a, b] * draws[:, lay["removals"] + level] + draws[:, lay["history"] + hist_i]).T
    lo, hi = interval95(series)
    stats = {"sd": series.std(axis=1, ddof=1), "p2_5": lo, "p97_5": hi}
    basis = run.period_basis(y0, y1)
    unc = cfg["uncertainty"]
    maps = []
    for stat in UNCERTAINTY_STATS:
        kind = f"gain_loss_net_{stat}"
        layer = xr.apply_ufunc(functools.partial(_combo_lookup, keys=present, values=stats[stat]),
                               combo, dask="parallelized", output_dtypes=[np.float32])
        m = run.map(kind, layer, basis=basis,
                    model=f"uncertainty of gain_loss_net by IPCC Approach 2 (Monte Carlo of the "
                       f"registry parameters, seed {registry_seed(cfg)}, {unc['n_draws']} draws)",
                    inputs=src + ["sinks parameter registry", paths.conversion_history(y0)], y0=y0, y1=y1)
        maps.append(m)
    return write_cogs(maps)


def _combo_lookup(block: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[i]`` where ``block == keys[i]`` (keys sorted), NaN for keys not listed (-1)."""
    out = np.full(block.shape, np.nan, dtype="float32")
    if keys.size:
        i = np.clip(np.searchsorted(keys, block), 0, keys.size - 1)
        hit = keys[i] == block
        out[hit] = values[i[hit]]
    return out

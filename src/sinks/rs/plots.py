"""Forest inventory plots: reading with checks, and a seeded SYNTHETIC plot simulator.

No real forest plots over Jiangxi are available offline; :func:`simulate_plots` draws plots
over real forest pixels with above-ground biomass from a stated relation to real NDVI plus
noise, labelled synthetic in a column and in ``attrs``. It is a test and demo device, not a
biomass model of Jiangxi.
"""

from __future__ import annotations

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from sinks.errors import InputDataError

MAX_AGB = 1000.0  # Mg ha-1; above any forest on Earth (tallest stands reach ~ 900 t d.m./ha)
# Stated relation of the simulator (an assumption for synthetic data, not a published model):
# chosen so that the 10th-90th percentile of Jiangxi forest NDVI max (0.78-0.86) spans about
# 58-146 Mg/ha, the range of the IPCC 2019 Table 4.8 plantation AGB for Chinese fir and Masson pine.
SIM_INTERCEPT, SIM_SLOPE, SIM_NOISE_SD = -800.0, 1100.0, 15.0  # Mg ha-1, Mg ha-1 per NDVI unit, Mg ha-1


def simulate_plots(forest: xr.DataArray, ndvi: xr.DataArray, n: int, seed: int, year: int,
                   intercept: float = SIM_INTERCEPT, slope: float = SIM_SLOPE,
                   noise_sd: float = SIM_NOISE_SD) -> gpd.GeoDataFrame:
    """SYNTHETIC plots at ``n`` random forest pixel centres (``forest`` True), with
    AGB = intercept + slope × NDVI + N(0, noise_sd), clipped at 0 (Mg ha-1), seeded.

    The plots are ``n`` of the valid pixels, numbered in row-major order, drawn without
    replacement. Lazy (dask) inputs are read a chunk at a time: one pass counts the valid pixels
    of each row in each chunk, a second finds the drawn ones in the chunks that hold them, so
    memory follows the chunk, not the grid, and the plots are those the whole arrays would give."""
    rng = np.random.default_rng(seed)
    mask = da.asarray(forest.data).astype(bool) & da.isfinite(da.asarray(ndvi.data))
    values = da.asarray(ndvi.data).rechunk(mask.chunks)
    counts = _row_counts(mask)  # valid pixels of each row (axis 0) in each chunk column (axis 1)
    row_start = np.concatenate([[0], np.cumsum(counts.sum(axis=1))])
    total = int(row_start[-1])
    if total < n:
        raise InputDataError(f"only {total} forest pixels with NDVI; cannot place {n} plots")
    pick = rng.choice(total, size=n, replace=False)
    r = np.searchsorted(row_start, pick, side="right") - 1
    k = pick - row_start[r]  # the drawn pixel is the k-th valid one of row r
    before = np.cumsum(counts[r], axis=1)  # valid pixels of row r up to each chunk column's end
    j = (before <= k[:, None]).sum(axis=1)
    k_in = k - np.where(j > 0, before[np.arange(n), np.maximum(j - 1, 0)], 0)
    row_off = np.concatenate([[0], np.cumsum(mask.chunks[0])])
    col_off = np.concatenate([[0], np.cumsum(mask.chunks[1])])
    i = np.searchsorted(row_off, r, side="right") - 1
    jobs, which = [], []
    for bi, bj in sorted(set(zip(i.tolist(), j.tolist()))):
        here = np.flatnonzero((i == bi) & (j == bj))
        jobs.append(dask.delayed(_find)(mask.blocks[bi, bj], values.blocks[bi, bj],
                                        r[here] - row_off[bi], k_in[here]))
        which.append((here, bj))
    c, v = np.empty(n, np.int64), np.empty(n, float)
    for (here, bj), (cols, vals) in zip(which, dask.compute(*jobs)):
        c[here], v[here] = cols + col_off[bj], vals
    agb = np.clip(intercept + slope * v + rng.normal(0, noise_sd, n), 0, None)
    gdf = gpd.GeoDataFrame({"id": [f"SIM{i:05d}" for i in range(n)], "year": year, "agb": agb,
                            "synthetic": True},
                           geometry=gpd.points_from_xy(forest.x.values[c], forest.y.values[r]),
                           crs=forest.odc.crs.to_wkt())
    gdf.attrs["synthetic"] = (f"SYNTHETIC plots (sinks.rs.plots.simulate_plots, seed {seed}): "
                              f"AGB = {intercept} + {slope} x NDVI + N(0, {noise_sd}) Mg/ha")
    return gdf


def _row_counts(mask: da.Array) -> np.ndarray:
    """Valid pixels per row (axis 0) and chunk column (axis 1) of a chunked boolean mask."""
    per_chunk = mask.map_blocks(lambda b: b.sum(axis=1, keepdims=True), dtype=np.int64,
                                chunks=(mask.chunks[0], (1,) * len(mask.chunks[1])))
    return np.asarray(per_chunk.compute())


def _find(mask: np.ndarray, values: np.ndarray, rows: np.ndarray, ks: np.ndarray):
    """Column and value of the ks-th valid pixel of each of ``rows`` in one chunk."""
    cols = np.array([np.flatnonzero(mask[row])[k] for row, k in zip(rows, ks)], dtype=np.int64)
    return cols, values[rows, cols].astype(float)


def check_plots(plots: gpd.GeoDataFrame, source: str, bounds: tuple[float, float, float, float],
                crs, epoch_year: int, max_year_gap: int = 3) -> gpd.GeoDataFrame:
    """Checks a plot table before it trains anything; InputDataError naming the problem rows.

    ``bounds`` (in ``crs``): the region; plots outside it are rejected. Required columns: id,
    year, agb (Mg ha-1; plots measured as stand volume must be converted first).
    """
    missing = [c for c in ("id", "year", "agb") if c not in plots.columns]
    if missing:
        raise InputDataError(f"{source}: missing column(s) {missing}; a plot table needs id, "
                             "year and agb (Mg/ha) with point geometry and a CRS")
    if plots.crs is None:
        raise InputDataError(f"{source}: plots have no CRS; give coordinates with their CRS")
    dup = sorted(set(plots["id"][plots["id"].duplicated()].astype(str)))
    if dup:
        raise InputDataError(f"{source}: duplicate plot id(s) {dup[:5]}; ids must be unique")
    agb = pd.to_numeric(plots["agb"], errors="coerce")
    bad = plots["id"][agb.isna() | (agb < 0) | (agb > MAX_AGB)].astype(str).tolist()
    if bad:
        raise InputDataError(f"{source}: impossible agb for plot(s) {bad[:5]} (must be a number "
                             f"0-{MAX_AGB:g} Mg/ha); fix or drop them")
    pts = plots.to_crs(crs)
    x0, y0, x1, y1 = bounds
    outside = pts["id"][~((pts.geometry.x >= x0) & (pts.geometry.x <= x1) & (pts.geometry.y >= y0)
                          & (pts.geometry.y <= y1))].astype(str).tolist()
    if outside:
        raise InputDataError(f"{source}: {len(outside)} plot(s) outside the region, e.g. "
                             f"{outside[:5]}; check their coordinates and CRS")
    gap = (pd.to_numeric(plots["year"], errors="coerce") - epoch_year).abs()
    far = plots["id"][gap.isna() | (gap > max_year_gap)].astype(str).tolist()
    if far:
        raise InputDataError(f"{source}: plot(s) {far[:5]} surveyed more than {max_year_gap} "
                             f"years from the imagery epoch {epoch_year}; use plots near the epoch")
    return pts


# Stated trend of the SYNTHETIC later-epoch feature (an assumption for the demo, not an observed
# greening rate): NDVI + 0.002 per year + N(0, 0.005) per pixel, capped at 0.95.
SIM_NDVI_TREND, SIM_NDVI_NOISE_SD, SIM_NDVI_CAP = 0.002, 0.005, 0.95


def synthetic_feature_epoch(base: np.ndarray, years: int, seed: int, trend: float = SIM_NDVI_TREND,
                            noise_sd: float = SIM_NDVI_NOISE_SD, cap: float = SIM_NDVI_CAP) -> np.ndarray:
    """A SYNTHETIC later epoch of an NDVI raster: base + trend × years + N(0, noise_sd), capped
    at ``cap``, seeded; NaN stays NaN. Lets the demo show a remote-sensing sink where only one
    real NDVI epoch exists offline; it is labelled SYNTHETIC wherever it is used."""
    rng = np.random.default_rng(seed)
    out = base + trend * years + rng.normal(0.0, noise_sd, base.shape)
    return np.where(np.isfinite(base), np.minimum(out, cap), np.nan).astype("float32")

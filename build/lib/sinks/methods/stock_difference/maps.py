"""Class look-up maps: carbon stock per pool of each epoch, the land-use-change component of
each period's stock change (IPCC 2006 Vol.4 Ch.2 Eq. 2.5 on look-up stocks, soils over D by
Eq. 2.25) and their per-pixel uncertainty. One function per rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sinks.classes import carbon_luts, class_lookup, pair_lookup
from sinks.constants import NON_BIOMASS_POOLS, POOLS, UNCERTAINTY_STATS
from sinks.errors import InputDataError
from sinks.grid import require_same_grid
from sinks.io.rasters import open_raster, write_cogs
from sinks.landcover import apply_lut
from sinks.methods.biomass_map.stocks import (MAP_MODEL, biomass_carbon_factors,
                                              biomass_map, label_synthetic, map_stocks)
from sinks.methods.stock_difference.rows import luc_pair_rates, pool_weights
from sinks.models.stock_difference import stocks, total_stock
from sinks.plan import uses_biomass_map
from sinks.propagation import class_statistics
from sinks.rs.biomass_model import pixel_sd
from sinks.run import Run


def epoch_stocks(run: Run, year: int) -> tuple[xr.Dataset, Path]:
    """Lazy per-pool carbon stock density (Mg C ha-1) of an epoch, and the land cover it is
    looked up from."""
    src_path = run.landcover_path(year)
    codes = open_raster(src_path, chunks=run.chunks)
    return stocks(codes, carbon_luts(run.legend, run.densities, run.cfg["carbon"]["paddy_share"], codes.dtype)), src_path


def compute_stock(run: Run, year: int) -> list[Path]:
    """Write the total and per-pool carbon stock maps of one epoch (Mg C ha-1), in one pass;
    with biomass.use_in_stock the AGB and BGB of the biomass map's pixels come from the map."""
    cfg, paths = run.cfg, run.paths
    ep = run.epoch(year)
    pools, src_path = epoch_stocks(run, year)
    inputs = [src_path, run.densities_path]
    model = "stock look-up by class (IPCC Tier 1 densities)"
    note = ""
    if uses_biomass_map(cfg, year):
        factors = biomass_carbon_factors(run)
        pools = map_stocks(pools, biomass_map(run, year, pools["agb"].odc.geobox), factors)
        model += MAP_MODEL.format(year=year, factors=factors)
        inputs.append(paths.output("agb", year=year))
        note = " (AGB and BGB from the biomass map)"
    layers = {"carbon_stock": total_stock(pools)}
    if cfg["outputs"]["pool_maps"]:
        layers.update({f"carbon_{p}": pools[p] for p in POOLS})
    maps = []
    for kind, layer in layers.items():
        m = run.map(kind, layer, basis=ep.basis, model=model, inputs=inputs, year=year)
        if note and kind not in {f"carbon_{p}" for p in NON_BIOMASS_POOLS}:  # the map enters it
            m.description += note
            label_synthetic(cfg, m, [year])
        maps.append(m)
    return write_cogs(maps)


def compute_sink(run: Run, y0: int, y1: int) -> Path:
    """Write ``net_sink_<y0>_<y1>.tif`` (Mg CO2 ha-1 yr-1, + = removal): the land-use-change
    component of the stock change, from the class pair of each pixel (look-up biomass
    difference, soils over D years; :func:`luc_pair_rates`). Both ends are class-default
    stocks even when a stock map uses the biomass map; the biomass-map change is
    ``rs_net_sink`` (sinks.methods.biomass_map.maps.compute_rs_sink).
    """
    src = [run.landcover_path(y) for y in (y0, y1)]
    codes = [open_raster(p, chunks=run.chunks) for p in src]
    require_same_grid(codes[1], codes[0].odc.geobox, str(src[1]))
    cc = run.classes(codes[0].dtype)
    compact = [apply_lut(c, cc.lut, 0) for c in codes]
    rates = luc_pair_rates(run, cc, y1 - y0).astype("float32")
    sink = pair_lookup(compact[0], compact[1], rates).where((compact[0] > 0) & (compact[1] > 0))
    out = run.paths.output("net_sink", y0=y0, y1=y1)
    write_cogs([run.map("net_sink", sink, basis=run.period_basis(y0, y1),
                        model="land-use-change component (class look-up; soils over D years)",
                        inputs=src + [run.densities_path], y0=y0, y1=y1)])
    return out


def map_stock_uncertainty(run: Run, year: int) -> list[Path]:
    """Per-pixel sd, 2.5 and 97.5 percentile maps of an epoch's carbon stock."""
    return _uncertainty_maps(run, year=year)


def map_sink_uncertainty(run: Run, y0: int, y1: int) -> list[Path]:
    """Per-pixel sd, 2.5 and 97.5 percentile maps of a period's net sink."""
    return _uncertainty_maps(run, period=(y0, y1))


def _uncertainty_maps(run: Run, year: int | None = None,
                      period: tuple[int, int] | None = None) -> list[Path]:
    """Per-pixel sd, 2.5 and 97.5 percentile maps of an epoch's carbon stock or a period's net
    sink. A pixel's distribution depends only on its class (pair), so the statistics are
    computed once per class (pair) from the run's draws and looked up per pixel."""
    cfg, chunks = run.cfg, run.chunks
    years = [year] if period is None else list(period)
    src = [run.landcover_path(y) for y in years]
    codes = [open_raster(p, chunks=chunks) for p in src]
    cc = run.classes(codes[0].dtype)
    params = run.density_parameters(cc)
    if params is None:
        raise InputDataError(f"{run.densities_path}: uncertainty maps need a density table "
                             "with sd columns, and uncertainty.enabled: true")
    w = params.total_weights()
    centre = sum(cc.density[p] for p in POOLS)
    compact = [apply_lut(c, cc.lut, 0) for c in codes]
    if period is None:
        base, fields = "carbon_stock", {"year": year}
        basis = run.epoch(year).basis
        stats, n_draws = class_statistics(w, centre, params, cfg["uncertainty"])
        layers = {k: class_lookup(compact[0], v) for k, v in stats.items()}
        if uses_biomass_map(cfg, year):
            layers = _with_map_error(run, year, compact[0], cc, params, layers)
    else:
        y0, y1 = period
        base, fields = "net_sink", {"y0": y0, "y1": y1}
        basis = run.period_basis(y0, y1)
        k = w.shape[0]
        coeffs = luc_pair_rates(run, cc, y1 - y0, pool_weights(params)).reshape(k * k, -1)
        pair_centre = luc_pair_rates(run, cc, y1 - y0).ravel()
        stats, n_draws = class_statistics(coeffs, pair_centre, params, cfg["uncertainty"])
        layers = {s: pair_lookup(compact[0], compact[1], v.reshape(k, k)) for s, v in stats.items()}
    approach = ("Monte Carlo" if "monte_carlo" in cfg["uncertainty"]["approaches"] else "Approach 1")
    maps = []
    for stat in UNCERTAINTY_STATS:
        kind = f"{base}_{stat}"
        m = run.map(kind, layers[stat], basis=basis,
                    model=f"uncertainty of {base} by IPCC {approach}, density parameters"
                       + (f" (seed {cfg['uncertainty']['seed']}, {n_draws} draws)" if n_draws else "")
                       + (" + the AGB map's pixel error where the map is used"
                          if period is None and uses_biomass_map(cfg, year) else ""),
                    inputs=src + [run.densities_path], **fields)
        maps.append(m)
    return write_cogs(maps)


def _with_map_error(run, year, compact, cc, params, layers):
    """Stock uncertainty layers where the AGB map is used: the class-default dead-organic-matter
    and soil densities' sd (Approach 1 or the Monte Carlo sd, as configured), the pixel's AGB
    error as carbon, CF (1 + R) σ, and the carbon factors' errors sd_CF (1 + R) AGB and
    CF sd_R AGB (R by the pixel's AGB class), combined as independent (IPCC 2006 Vol.1 Ch.3
    Eq. 3.1): sd = √(sd_other² + (CF (1 + R) σ)² + (sd_CF (1 + R) AGB)² + (CF sd_R AGB)²);
    σ = conformal half-width / z(1 − α/2) (sinks.rs.biomass_model.pixel_sd). The 2.5 and 97.5
    percentiles there are value ∓ 1.96 sd (normal approximation)."""
    cfg, paths = run.cfg, run.paths
    f = biomass_carbon_factors(run)
    side = pd.read_json(paths.biomass_model(cfg["biomass"]["year"]).with_suffix(".json"), typ="series")
    other = params.weights[:, [POOLS.index(p) for p in NON_BIOMASS_POOLS], :].sum(axis=1)
    centre = sum(cc.density[p] for p in NON_BIOMASS_POOLS)
    sd_other = class_lookup(compact, class_statistics(other, centre, params, cfg["uncertainty"])[0]["sd"])
    pools, _ = epoch_stocks(run, year)
    agb = biomass_map(run, year, compact.odc.geobox)
    value = total_stock(map_stocks(pools, agb, f))
    one_r = 1 + f.ratio(agb)
    sd = np.sqrt(sd_other ** 2 + (f.cf * one_r * pixel_sd(side["q"], side["alpha"])) ** 2
                 + (f.sd_cf * one_r * agb) ** 2 + (f.cf * f.ratio_sd(agb) * agb) ** 2)
    ok = agb.notnull()
    return {"sd": sd.where(ok, layers["sd"]).astype("float32"),
            "p2_5": (value - 1.96 * sd).where(ok, layers["p2_5"]).astype("float32"),
            "p97_5": (value + 1.96 * sd).where(ok, layers["p97_5"]).astype("float32")}

"""Biomass-map zone rows: stocks from the biomass maps of each mapped epoch and the
remote-sensing sink of each period mapped at both ends, with their uncertainty (pixel errors,
the model's coefficient error by refits on resampled plots, CF and R, and the class-default
densities elsewhere)."""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from sinks import config as cfgmod
from sinks import tiles
from sinks.constants import C_TO_CO2, NON_BIOMASS_POOLS, POOLS
from sinks.errors import InputDataError
from sinks.methods.biomass_map.stocks import (biomass_basis, biomass_carbon_factors,
                                              biomass_inputs, biomass_map)
from sinks.propagation import map_rows_uncertainty
from sinks.rs.biomass_model import MODELS, bootstrap_refits, pixel_sd, predict_agb, training_hash
from sinks.zone_rows import COLUMNS, Accounts, row

log = logging.getLogger(__name__)


MAP_APPROACH = ("{how}: pixel conformal errors (independent) + the model's coefficient error "
                "({n} plot-bootstrap refits) + CF and R (shared){density}")


RS_APPROACH = ("normal: pixel conformal errors independent across pixels and years + the model's "
               "coefficient error ({n} plot-bootstrap refits, the same refit at both ends) + CF "
               "and R (shared)")

# quantity: (weight of the map's AGB, weight of its BGB, pixel-error variance field)
STOCK_QUANTITIES = {"carbon_stock_agb": (1, 0, "var_agb"), "carbon_stock_bgb": (0, 1, "var_bgb"),
                    "carbon_stock": (1, 1, "var_total")}
BOOT_BATCH = 10  # refits predicted in one pass over the grid (memory ~ 5 maps per refit per block)


def rows(acc: Accounts) -> tuple[pd.DataFrame, None]:
    """Zone rows (method ``biomass_map``) of every epoch with a biomass map, and the
    remote-sensing sink of every period with a map at both ends.

    Stock rows: ``carbon_stock_agb`` = Σ AGB × CF × pixel area over the pixels the model
    predicts for; with ``use_in_stock`` also ``carbon_stock_bgb`` (AGB × R(AGB) × CF, R by the
    pixel's AGB class, 2019 Vol.4 Ch.4 Table 4.4) and the total ``carbon_stock`` = map AGB + BGB
    carbon on those pixels + class-default pools elsewhere and dead organic matter and soil
    everywhere (the same numbers as the stock map × pixel area). Uncertainty, the parts
    independent: (1) each pixel's AGB error, sd σ = conformal half-width / z(1 − α/2),
    independent between pixels; (2) the model's coefficient error: the sd of the row over
    ``biomass.bootstrap`` refits of the model on resampled plots, each predicting the map again
    (:func:`_refit_totals`; Efron & Tibshirani 1993 §6.2, §9.5), shared by the pixels of a refit;
    (3) for the total, the class-default densities of the other pools and pixels (the run's
    density parameters, the same draws as the class-default rows); (4) CF and R of the mapped
    part, from their registry sds, one error each shared by every row (drawn apart from the
    gain-loss draws). Monte Carlo when configured, else Approach 1 (√ of the summed variances).

    Net-sink rows (quantity ``net_sink``): Eq. 2.5 on the map's AGB + BGB carbon,
    Σ (AGB₁ (1 + R(AGB₁)) − AGB₀ (1 + R(AGB₀))) × CF × pixel area / Δt × 44/12 over pixels
    mapped at both ends, attributed to the class at the end of the period. The same model maps
    both years, so each refit predicts both ends and the row's model error is the sd of the
    refits' differences: what the coefficient error does to both epochs alike (an offset)
    cancels, what it does to the change (a slope times the change of the features) stays.
    Pixel errors are taken as independent between the two years (an upper bound if a stand's
    residual persists); CF scales the whole change and R the change of BGB.
    """
    run, cfg, tables, names, cc, params = acc.run, acc.cfg, acc.tables, acc.names, acc.cc, acc.params
    compact, area, grid = acc.compact, acc.area, acc.grid
    bio = cfg["biomass"]
    f = biomass_carbon_factors(run)
    side = pd.read_json(run.paths.biomass_model(bio["year"]).with_suffix(".json"), typ="series")
    sigma = pixel_sd(side["q"], side["alpha"])  # Mg d.m. ha-1 per pixel
    k = cc.density["agb"].size
    onehot = acc.onehot
    maps = {y: biomass_map(run, y, grid) for y in bio["years"]}
    periods = cfgmod.biomass_periods(cfg)
    refits = _refit_totals(acc, maps, periods, side)
    total = sum(cc.density[p] for p in POOLS)
    frames = []
    for year, agb in maps.items():
        ok, r = agb.notnull(), f.ratio(agb)
        res = acc.totals([compact[year]], [k],
                         {"agb": agb * area, "bgb": agb * r * area, "r_sd": agb * f.ratio_sd(agb) * area,
                          "var_agb": ok * (sigma * area) ** 2, "var_bgb": ok * (sigma * r * area) ** 2,
                          "var_total": ok * (sigma * (1 + r) * area) ** 2,
                          "area_map": area.where(ok), "area": area})
        basis = biomass_basis(cfg, [year])
        quantities = ["carbon_stock_agb"] + (["carbon_stock_bgb", "carbon_stock"] if bio["use_in_stock"] else [])
        for quantity in quantities:
            w_agb, w_bgb, var = STOCK_QUANTITIES[quantity]
            per = {}
            for lv, t in res.items():
                default = coef = None
                if quantity == "carbon_stock":
                    rest = t["area"] - t["area_map"]  # [zone, k]: pixels on class defaults
                    default = (rest * total + t["area_map"] * sum(cc.density[p] for p in NON_BIOMASS_POOLS)) @ onehot
                    if params is not None:
                        w_other = params.weights[:, [POOLS.index(p) for p in NON_BIOMASS_POOLS], :].sum(axis=1)
                        coef = (np.einsum("zk,kc,kj->zcj", rest, onehot, params.total_weights())
                                + np.einsum("zk,kc,kj->zcj", t["area_map"], onehot, w_other))
                dm = w_agb * t["agb"] + w_bgb * t["bgb"]  # Mg d.m.
                b = refits[year][lv]
                per[lv] = {"map": f.cf * dm @ onehot, "default": default, "coef": coef,
                           "indep": f.cf ** 2 * t[var] @ onehot, "cf_err": f.sd_cf * dm @ onehot,
                           "r_err": w_bgb * f.cf * t["r_sd"] @ onehot,
                           "model": f.cf * (w_agb * b["agb"] + w_bgb * b["bgb"]) @ onehot,
                           "keep": (t["area"] if quantity == "carbon_stock" else t["area_map"]) @ onehot > 0}
            frames.append(_map_rows_table(cfg, per, tables, names, quantity, year, year, basis,
                                          params, seed_key=(year, len(frames))))
    years = bio["years"]
    for y0, y1 in cfgmod.periods(cfg):
        if (y0 in years) != (y1 in years):
            log.info("no remote-sensing sink for %d-%d: a biomass map exists for %d only (a map "
                     "stock is never differenced against a class-default stock); add %d to "
                     "biomass.years for one", y0, y1, y0 if y0 in years else y1, y1 if y0 in years else y0)
    for y0, y1 in periods:
        a0, a1 = maps[y0], maps[y1]
        r0, r1 = f.ratio(a0), f.ratio(a1)
        both = a0.notnull() & a1.notnull()
        res = acc.totals([compact[y1]], [k],
                         {"d": (a1 * (1 + r1) - a0 * (1 + r0)) * area,
                          "r_sd": (a1 * f.ratio_sd(a1) - a0 * f.ratio_sd(a0)) * area,
                          "var": both * (sigma * area) ** 2 * ((1 + r0) ** 2 + (1 + r1) ** 2),
                          "area": area.where(both)})
        g = C_TO_CO2 / (y1 - y0)  # Mg C -> Mg CO2 yr-1
        per = {lv: {"map": f.cf * g * t["d"] @ onehot, "default": None, "coef": None,
                    "indep": (f.cf * g) ** 2 * t["var"] @ onehot, "cf_err": f.sd_cf * g * t["d"] @ onehot,
                    "r_err": f.cf * g * t["r_sd"] @ onehot, "model": f.cf * g * refits[(y0, y1)][lv]["d"] @ onehot,
                    "keep": t["area"] @ onehot > 0} for lv, t in res.items()}
        basis = biomass_basis(cfg, [y0, y1])
        frames.append(_map_rows_table(cfg, per, tables, names, "net_sink", y0, y1, basis, None,
                                      seed_key=None))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)), None


def _refit_totals(acc: Accounts, maps: dict, periods: list, side: pd.Series) -> dict:
    """Zone totals (Mg d.m.) of the model refit on resampled plots
    (:func:`sinks.rs.biomass_model.bootstrap_refits`, ``biomass.bootstrap`` refits seeded by
    ``uncertainty.seed``), on the pixels each map covers: ``{year: {level: {"agb", "bgb"}}}``
    and ``{(y0, y1): {level: {"d"}}}``, arrays (refit, zone, class), with BGB = AGB × R(AGB) of
    the refit's own AGB and d = Δ(AGB (1 + R(AGB))) by the class at y1. A period's change is
    taken from the same refit at both ends (its coefficient error is not added twice).

    The refits are fit on the model's training plots (``biomass_plots_<year>.gpkg``, checked
    against the model's training hash), and the spread of a row over them is the model's
    estimation error of that total (model-based inference: McRoberts & Westfall 2016,
    Ann. For. Sci. 73:625; Saarela et al. 2016, Ann. For. Sci. 73:895). Chosen over the
    parameter covariance because the model (random forest or gradient boosting) has none."""
    run, cfg = acc.run, acc.cfg
    bio = cfg["biomass"]
    source = run.paths.output("biomass_plots", year=bio["year"])
    plots = gpd.read_file(source)
    features = pd.DataFrame(plots[list(side["features"])])
    if training_hash(features, plots["agb"]) != side["training_hash"]:
        raise InputDataError(f"{source}: not the plots the biomass model {bio['year']} was trained "
                             "on (training hash differs); run train_biomass again")
    models = bootstrap_refits(features, plots["agb"], lambda: MODELS[bio["model"]](bio["seed"]),
                              bio["bootstrap"], cfg["uncertainty"]["seed"])
    f = biomass_carbon_factors(run)
    feats = {y: biomass_inputs(run, y)[0] for y in maps}
    k = acc.cc.density["agb"].size
    sampled, stride = _refit_sample(run, next(iter(maps.values())))
    log.info("biomass model: %d refits on resampled plots for its coefficient error, each predicting "
             "%s", len(models), "every mapped pixel" if stride == 1 else
             f"every {stride}th row and column of the mapped pixels (biomass.refit_pixels)")
    lone = [(y,) for y in maps if not any(y in p for p in periods)]
    groups = [tuple(p) for p in periods] + lone  # the class maps of one pass over the grid
    first = {y: next(g for g in groups if y in g) for y in maps}  # the pass that totals a year
    parts = {key: {lv: {} for lv in acc.zone_idx} for key in [*maps, *periods]}
    scale = {key: {} for key in [*maps, *periods]}  # {level: (zone, class) factor} with a sample
    for b0 in range(0, len(models), BOOT_BATCH):
        batch = range(b0, min(b0 + BOOT_BATCH, len(models)))
        for g in groups:
            fields = {}
            if stride > 1 and b0 == 0:  # mapped and sampled areas, to scale the sample's totals
                masks = {y: maps[y].notnull() for y in g if first[y] == g}
                if len(g) == 2:
                    masks["d"] = maps[g[0]].notnull() & maps[g[1]].notnull()
                for key, ok in masks.items():
                    fields[f"w_{key}"], fields[f"ws_{key}"] = acc.area.where(ok), acc.area.where(sampled(ok))
            for b in batch:
                agb = {y: maps[y].copy(data=predict_agb(models[b], feats[y], sampled(maps[y].notnull())).data)
                       for y in g}
                for y in (y for y in g if first[y] == g):
                    fields[f"agb{b}_{y}"] = agb[y] * acc.area
                    fields[f"bgb{b}_{y}"] = agb[y] * f.ratio(agb[y]) * acc.area
                if len(g) == 2:
                    a0, a1 = agb[g[0]], agb[g[1]]
                    fields[f"d{b}"] = (a1 * (1 + f.ratio(a1)) - a0 * (1 + f.ratio(a0))) * acc.area
            res = acc.totals([acc.compact[y] for y in g], [k] * len(g), fields)
            for lv, t in res.items():
                for j, y in enumerate(g):
                    if first[y] == g:
                        for q in ("agb", "bgb"):
                            parts[y][lv].setdefault(q, []).extend(_by_class(t[f"{q}{b}_{y}"], j) for b in batch)
                        if f"w_{y}" in t:
                            scale[y][lv] = _sample_scale(_by_class(t[f"w_{y}"], j), _by_class(t[f"ws_{y}"], j))
                if len(g) == 2:
                    parts[g][lv].setdefault("d", []).extend(_by_class(t[f"d{b}"], 1) for b in batch)
                    if "w_d" in t:
                        scale[g][lv] = _sample_scale(_by_class(t["w_d"], 1), _by_class(t["ws_d"], 1))
    return {key: {lv: {q: np.stack(v) * scale[key].get(lv, 1.0) for q, v in per.items()}
                  for lv, per in levels.items()} for key, levels in parts.items()}


def _refit_sample(run, like):
    """Which pixels the refits predict: every one (stride 1) on a grid of at most
    ``biomass.refit_pixels``, else every s-th row and column of the run grid, s =
    ceil(sqrt(pixels / refit_pixels)), counted from the run grid's corner (so a tile's job picks
    the same pixels). Returns (mask function, s): ``sampled(ok)`` is ``ok`` on the sample."""
    h, w = run.full_grid.shape.yx
    stride = max(1, math.ceil(math.sqrt(h * w / run.cfg["biomass"]["refit_pixels"])))
    if stride == 1:
        return (lambda ok: ok), 1
    t = tiles.current()
    r0, c0 = (t.rows.start, t.cols.start) if t is not None else (0, 0)
    rows = xr.DataArray((np.arange(like.sizes["y"]) + r0) % stride == 0, dims="y", coords={"y": like.y})
    cols = xr.DataArray((np.arange(like.sizes["x"]) + c0) % stride == 0, dims="x", coords={"x": like.x})
    return (lambda ok: ok & rows & cols), stride  # ok (dask) first: the mask is never a full array


def _sample_scale(mapped: np.ndarray, sampled: np.ndarray) -> np.ndarray:
    """Factor from a sample's (zone, class) totals to the cell's: its mapped area over its
    sampled mapped area; 0 where no pixel of the cell was sampled (no coefficient error for
    that cell: logged with the share of the mapped area it leaves out)."""
    factor = np.divide(mapped, sampled, out=np.zeros_like(mapped), where=sampled > 0)
    missed = mapped[sampled <= 0].sum()
    if missed > 0:
        log.info("biomass refits: %.3g %% of the mapped area lies in zone/class cells with no sampled "
                 "pixel (no coefficient error there); raise biomass.refit_pixels to include them",
                 100 * missed / mapped.sum())
    return factor


def _by_class(totals: np.ndarray, j: int) -> np.ndarray:
    """[zone, class] totals by the j-th class map of [zone, class, class, ...] totals."""
    return totals.sum(axis=tuple(a for a in range(1, totals.ndim) if a != j + 1))


def _map_rows_table(cfg, per, tables, names, quantity, y0, y1, basis, params, seed_key) -> pd.DataFrame:
    """Rows of one biomass-map quantity with their intervals. Each row's value is its map part
    (+ the class-default part); its error the sum of independent pixel errors (variance
    ``indep``), the model's coefficient error (sd over the refits of ``model``, deviations
    (refit, zone, class)), the carbon factors' errors (sds ``cf_err`` and ``r_err``, one
    draw each for all rows, so a row of several classes sums them before combining) and, when
    ``coef`` is given, the density parameters (value part coef · θ)."""
    rows, parts = [], []
    for lv, t in per.items():
        for _, z in tables[lv].iterrows():
            i = int(z["index"])
            for c in [c for c in range(1, len(names)) if t["keep"][i, c]] + ["all"]:
                pick = slice(1, None) if c == "all" else c
                part = {key: (None if t[key] is None else np.asarray(t[key][i, pick]))
                        for key in ("map", "default", "coef", "indep", "cf_err", "r_err")}
                part["model"] = np.asarray(t["model"][:, i, pick])
                if c == "all":
                    part = {key: (None if v is None else v.sum(axis=1 if key == "model" else 0))
                            for key, v in part.items()}
                parts.append(part)
                rows.append(row(lv, z, "all" if c == "all" else names[c], quantity, y0, y1,
                                np.nan, "biomass_map", basis))
    df = pd.DataFrame(rows).drop(columns="value")
    if df.empty:
        return df
    mapped = np.array([p["map"] for p in parts], dtype="float64")
    default = np.array([0.0 if p["default"] is None else p["default"] for p in parts])
    indep = np.sqrt(np.array([p["indep"] for p in parts], dtype="float64"))
    model = np.array([p["model"] for p in parts], dtype="float64")  # (rows, refits)
    shared = model.std(axis=1, ddof=1)
    factor = np.hypot(np.array([p["cf_err"] for p in parts], dtype="float64"),
                      np.array([p["r_err"] for p in parts], dtype="float64"))
    value = mapped + default
    density = params is not None and parts[0]["coef"] is not None
    coef = np.array([p["coef"] for p in parts]) if density else None
    sd, lo, hi, how, mc_cols = map_rows_uncertainty(cfg, mapped, default, indep, shared, factor,
                                                    coef, params if density else None, seed_key)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(value != 0, 100 * (hi - lo) / 2 / np.abs(value), np.nan)
    n = model.shape[1]
    approach = (RS_APPROACH.format(n=n) if quantity == "net_sink" else
                MAP_APPROACH.format(how=how, n=n, density=" + class-default densities of the "
                                    "other pools and pixels" if density else ""))
    return df.assign(value=value, sd=sd, ci_low=lo, ci_high=hi, uncertainty_pct=pct,
                     uncertainty_approach=approach, **mc_cols)

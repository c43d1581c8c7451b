"""Biomass-map zone rows: stocks from the biomass maps of each mapped epoch and the
remote-sensing sink of each period mapped at both ends, with their uncertainty (pixel errors,
the model's mean error, CF and R, and the class-default densities elsewhere)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sinks import config as cfgmod
from sinks.constants import C_TO_CO2, NON_BIOMASS_POOLS, POOLS
from sinks.methods.biomass_map.stocks import (biomass_basis, biomass_carbon_factors,
                                              biomass_factor_sds, biomass_map)
from sinks.rs.biomass_model import model_mean_sd, pixel_sd
from sinks.propagation import map_rows_uncertainty
from sinks.zone_rows import COLUMNS, Accounts, row

log = logging.getLogger(__name__)


MAP_APPROACH = ("{how}: pixel conformal errors (independent) + the model's mean error "
                "RMSE/sqrt(n plots) (shared by all pixels) + CF and R (shared){density}")


RS_APPROACH = ("normal: pixel conformal errors independent across pixels and years + CF and R "
               "(shared); the model's mean error cancels (one model for both years)")


def rows(acc: Accounts) -> tuple[pd.DataFrame, None]:
    """Zone rows (method ``biomass_map``) of every epoch with a biomass map, and the
    remote-sensing sink of every period with a map at both ends.

    Stock rows: ``carbon_stock_agb`` = Σ AGB × CF × pixel area over the pixels the model
    predicts for; with ``use_in_stock`` also ``carbon_stock_bgb`` (AGB × R × CF) and the total
    ``carbon_stock`` = map AGB + BGB carbon on those pixels + class-default pools elsewhere and
    dead organic matter and soil everywhere (the same numbers as the stock map × pixel area).
    Uncertainty, the three parts independent: (1) each pixel's AGB error, sd σ = conformal
    half-width / z(1 − α/2), independent between pixels; (2) the model's mean error, CV RMSE /
    √n plots, shared by every pixel of every zone; (3) for the total, the class-default
    densities of the other pools and pixels (the run's density parameters, the same draws as
    the class-default rows); (4) the carbon factors CF (and R) of the mapped part, from their
    registry sds, one relative error shared by every row (drawn apart from the gain-loss
    draws). Monte Carlo when configured, else Approach 1 (√ of the summed variances).

    Net-sink rows (quantity ``net_sink``): Eq. 2.5 on the map's AGB + BGB carbon,
    Σ (AGB₁ − AGB₀) × CF × (1 + R) × pixel area / Δt × 44/12 over pixels mapped at both ends,
    attributed to the class at the end of the period. The same model maps both years, so its
    mean error (an offset) cancels in the difference; pixel errors are taken as independent
    between the two years (an upper bound if a stand's residual persists); CF (1 + R) scales the
    whole change, so its relative error carries over in full. An error in the model's slope
    (its response to a change of the features) is not propagated.
    """
    run, cfg, tables, names, cc, params = acc.run, acc.cfg, acc.tables, acc.names, acc.cc, acc.params
    compact, area, grid = acc.compact, acc.area, acc.grid
    bio = cfg["biomass"]
    cf, r = biomass_carbon_factors(run)
    u_factor = biomass_factor_sds(run)
    side = pd.read_json(run.paths.biomass_model(bio["year"]).with_suffix(".json"), typ="series")
    sigma = pixel_sd(side["q"], side["alpha"])  # Mg d.m. ha-1 per pixel
    shared_sd = model_mean_sd(side["cv_rmse"], side["n_plots"])  # Mg d.m. ha-1, all pixels
    k = cc.density["agb"].size
    onehot = acc.onehot
    maps = {y: biomass_map(run, y, grid) for y in bio["years"]}
    total = sum(cc.density[p] for p in POOLS)
    frames = []
    for year, agb in maps.items():
        ok = agb.notnull()
        res = acc.totals([compact[year]], [k],
                           {"agb": agb * area, "var": ok * (sigma * area) ** 2,
                            "area_map": area.where(ok), "area": area})
        basis = biomass_basis(cfg, [year])
        quantities = {"carbon_stock_agb": (cf, u_factor["cf"])}
        if bio["use_in_stock"]:
            quantities.update(carbon_stock_bgb=(cf * r, u_factor["cf_r"]),
                              carbon_stock=(cf * (1 + r), u_factor["cf_1r"]))
        for quantity, (f, u_f) in quantities.items():
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
                per[lv] = {"map": f * t["agb"] @ onehot, "default": default, "coef": coef,
                           "indep": f ** 2 * t["var"] @ onehot, "factor": u_f * f * t["agb"] @ onehot,
                           "shared": f * shared_sd * t["area_map"] @ onehot,
                           "keep": (t["area"] if quantity == "carbon_stock" else t["area_map"]) @ onehot > 0}
            frames.append(_map_rows_table(cfg, per, tables, names, quantity, year, year, basis,
                                          params, seed_key=(year, len(frames))))
    years = bio["years"]
    for y0, y1 in cfgmod.periods(cfg):
        if (y0 in years) != (y1 in years):
            log.info("no remote-sensing sink for %d-%d: a biomass map exists for %d only (a map "
                     "stock is never differenced against a class-default stock); add %d to "
                     "biomass.years for one", y0, y1, y0 if y0 in years else y1, y1 if y0 in years else y0)
    for y0, y1 in cfgmod.biomass_periods(cfg):
        both = maps[y0].notnull() & maps[y1].notnull()
        res = acc.totals([compact[y1]], [k],
                           {"d": (maps[y1] - maps[y0]) * area, "var": both * 2 * (sigma * area) ** 2,
                            "area": area.where(both)})
        f = cf * (1 + r) * C_TO_CO2 / (y1 - y0)
        per = {lv: {"map": f * t["d"] @ onehot, "default": None, "coef": None,
                    "indep": f ** 2 * t["var"] @ onehot, "factor": u_factor["cf_1r"] * f * t["d"] @ onehot,
                    "shared": np.zeros((t["d"].shape[0], len(names))),
                    "keep": t["area"] @ onehot > 0} for lv, t in res.items()}
        basis = biomass_basis(cfg, [y0, y1])
        frames.append(_map_rows_table(cfg, per, tables, names, "net_sink", y0, y1, basis, None,
                                      seed_key=None))
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)), None


def _map_rows_table(cfg, per, tables, names, quantity, y0, y1, basis, params, seed_key) -> pd.DataFrame:
    """Rows of one biomass-map quantity with their intervals. Each row's value is its map part
    (+ the class-default part); its error the sum of independent pixel errors (variance
    ``indep``), a shared model error (sd ``shared``, one draw for all rows), the shared error
    of the carbon factors (sd ``factor``, one draw for all rows) and, when ``coef`` is given,
    the density parameters (value part coef · θ)."""
    rows, parts = [], []
    for lv, t in per.items():
        for _, z in tables[lv].iterrows():
            i = int(z["index"])
            for c in [c for c in range(1, len(names)) if t["keep"][i, c]] + ["all"]:
                pick = slice(1, None) if c == "all" else c
                part = {key: (None if t[key] is None else np.asarray(t[key][i, pick]))
                        for key in ("map", "default", "coef", "indep", "shared", "factor")}
                if c == "all":
                    part = {key: (None if v is None else v.sum(axis=0)) for key, v in part.items()}
                parts.append(part)
                rows.append(row(lv, z, "all" if c == "all" else names[c], quantity, y0, y1,
                                np.nan, "biomass_map", basis))
    df = pd.DataFrame(rows).drop(columns="value")
    if df.empty:
        return df
    mapped = np.array([p["map"] for p in parts], dtype="float64")
    default = np.array([0.0 if p["default"] is None else p["default"] for p in parts])
    indep = np.sqrt(np.array([p["indep"] for p in parts], dtype="float64"))
    shared = np.array([p["shared"] for p in parts], dtype="float64")
    factor = np.array([p["factor"] for p in parts], dtype="float64")
    value = mapped + default
    density = params is not None and parts[0]["coef"] is not None
    coef = np.array([p["coef"] for p in parts]) if density else None
    sd, lo, hi, how, mc_cols = map_rows_uncertainty(cfg, mapped, default, indep, shared, factor,
                                                    coef, params if density else None, seed_key)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(value != 0, 100 * (hi - lo) / 2 / np.abs(value), np.nan)
    approach = (RS_APPROACH if quantity == "net_sink" else
                MAP_APPROACH.format(how=how, density=" + class-default densities of the other "
                                    "pools and pixels" if density else ""))
    return df.assign(value=value, sd=sd, ci_low=lo, ci_high=hi, uncertainty_pct=pct,
                     uncertainty_approach=approach, **mc_cols)

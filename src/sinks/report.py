"""Zonal tables, the zones GeoPackage and the summary figure.

Totals are computed from the aligned land cover and the density LUTs in float64 (not by summing
the float32 maps): the area of every (zone, class, class) cell is summed pixel by pixel from the
pixel area (STYLE §4.6) and multiplied by the class densities; zone totals of each level add up
to the region total because each pixel belongs to at most one zone of a level.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from sinks import config as cfgmod
from sinks.errors import EmptyDataError, InputDataError
from sinks.grid import DEFAULT_CHUNK, pixel_area_ha, require_same_grid
from sinks.io.figures import save_figure
from sinks.io.outputs import POOLS
from sinks.io.rasters import open_raster
from sinks.io.vectors import read_zones
from sinks.landcover import apply_lut
from sinks.models.stock_difference import C_TO_CO2
from sinks.propagation import table_uncertainty
from sinks.rate_tables import (LAKE, ch4_rate, gain_loss_names, gain_loss_rate_draws,
                               gain_loss_rate_vectors, n_soil_strata, potential_rates,
                               registry_seed, strata_levels, stratified_rates)
from sinks.stages import (RunPaths, compact_classes, epoch_landcover, gain_loss_compact, inundation,
                          strata_map, uncertainty_parameters, zone_levels)
from sinks.uncertainty import interval95, linear_monte_carlo, variance_shares
from sinks.zones import zonal_totals

log = logging.getLogger(__name__)

COLUMNS = ["zone_level", "zone_id", "zone_name", "ecosystem", "quantity", "year_start",
           "year_end", "value", "unit", "method", "basis"]  # then the uncertainty columns
UNITS = {"area": "ha", "carbon_stock": "Mg C", **{f"carbon_stock_{p}": "Mg C" for p in POOLS},
         "net_sink": "Mg CO2 yr-1", "gross_removals": "Mg CO2 yr-1", "gross_emissions": "Mg CO2 yr-1",
         "sink_potential": "Mg CO2 yr-1", "ch4_emissions_co2e": "Mg CO2e yr-1",
         "net_sink_with_ch4": "Mg CO2e yr-1"}


METHOD_PREFIX = {"stock_difference": "", "gain_loss": "gl_", "biomass_map": "rs_",
                 "stock_difference_area_adjusted": "adj_", "gain_loss_area_adjusted": "gl_adj_",
                 "potential_business_as_usual": "bau_", "potential_afforestation": "aff_",
                 "potential_protection": "prot_"}  # GeoPackage column prefixes (else "<method>_")
GPKG_UNITS = {"area": "ha", "ch4_emissions_co2e": "MgCO2e_per_yr", "net_sink_with_ch4": "MgCO2e_per_yr", "net_sink": "MgCO2_per_yr", "sink_potential": "MgCO2_per_yr", "gross_removals": "MgCO2_per_yr",
              "gross_emissions": "MgCO2_per_yr"}


def _zones(paths: RunPaths, levels: list[str], grid, chunks: int):
    idx, tables = {}, {}
    for lv in levels:
        z = open_raster(paths.zones(lv), chunks=chunks)
        require_same_grid(z, grid, str(paths.zones(lv)))
        idx[lv] = z
        tables[lv] = pd.read_csv(paths.zones_table(lv), dtype={"zone_id": str, "zone_name": str})
    return idx, tables


def _rows(result, coefs, tables, names, year_start, year_end, method, basis, keep_class,
          in_total=None):
    """Table rows of one epoch or period, and each row's coefficient vector over the density
    parameters (None for rows that do not depend on them, e.g. areas, or without parameters).
    ``in_total``: bool per class, which classes the 'all' row sums (default all but 0)."""
    in_total = np.arange(len(names)) > 0 if in_total is None else in_total
    rows, row_coefs = [], []
    for lv, per_value in result.items():
        for _, z in tables[lv].iterrows():
            i = int(z["index"])
            for quantity, arr in per_value.items():
                coef = coefs.get(lv, {}).get(quantity)
                for c in range(1, len(names)):
                    if keep_class[lv][i, c]:
                        rows.append((lv, z["zone_id"], z["zone_name"], names[c], quantity,
                                     year_start, year_end, arr[i, c], UNITS[quantity], method, basis))
                        row_coefs.append(None if coef is None else coef[i, c])
                rows.append((lv, z["zone_id"], z["zone_name"], "all", quantity, year_start,
                             year_end, arr[i, in_total].sum(), UNITS[quantity], method, basis))
                row_coefs.append(None if coef is None else coef[i, in_total].sum(axis=0))
    return rows, row_coefs


def summarize(cfg: dict, paths: RunPaths, chunks: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """Compute ``zonal_summary.csv`` rows for every epoch and period, with their uncertainty,
    and write the table, the land-cover transition table, the uncertainty attribution, the
    zones GeoPackage and the figures.

    Stocks are class look-ups, so the area of every (zone, class at t0, class at t1) cell is a
    sufficient statistic: one pass per period gives the transition matrix of areas; epoch areas
    are its margins, stock = Σ area × density and the net sink of Eq. 2.5 is
    Σ area × (density_t1 − density_t0) / (t1 − t0) × 44/12. The same sums over the density
    parameters give each row's coefficients for the uncertainty (sinks.propagation).
    """
    levels = zone_levels(cfg)
    epochs = cfgmod.epochs(cfg)
    first = open_raster(epoch_landcover(cfg, paths, epochs[0].year), chunks=chunks)
    grid = first.odc.geobox
    zone_idx, tables = _zones(paths, levels, grid, chunks)
    n_zones = {lv: len(tables[lv]) for lv in levels}
    area = pixel_area_ha(grid, chunks)
    cc = compact_classes(cfg, first.dtype)
    density, names = cc.density, cc.names
    params = uncertainty_parameters(cfg, cc)
    k = density[POOLS[0]].size
    onehot = np.zeros((k, len(names)))
    onehot[np.arange(k), cc.report_class] = 1.0
    onehot[0] = 0.0  # no data or no density: not reported
    compact = {}
    for ep in epochs:
        path = epoch_landcover(cfg, paths, ep.year)
        codes = open_raster(path, chunks=chunks)
        require_same_grid(codes, grid, str(path))
        compact[ep.year] = apply_lut(codes, cc.lut, 0)
    periods = list(zip(epochs, epochs[1:]))
    transitions = []  # per period: {level: area array [zone, class t0, class t1] in ha}
    for e0, e1 in periods:
        log.info("zonal transition areas %d -> %d", e0.year, e1.year)
        res = zonal_totals(zone_idx, n_zones, [compact[e0.year], compact[e1.year]], [k, k],
                           {"area": area})
        transitions.append({lv: res[lv]["area"] for lv in levels})
    rows, coefs, gain_loss_rows = [], [], []
    for i, ep in enumerate(epochs):
        if i < len(periods):
            margin = {lv: t.sum(axis=2) for lv, t in transitions[i].items()}
        else:
            margin = {lv: t.sum(axis=1) for lv, t in transitions[i - 1].items()}
        res = {lv: {"area": a @ onehot,
                    "carbon_stock": (a * sum(density[p] for p in POOLS)) @ onehot,
                    **{f"carbon_stock_{p}": (a * density[p]) @ onehot for p in POOLS}}
               for lv, a in margin.items()}
        coef = {} if params is None else {lv: _stock_coefficients(a, onehot, params)
                                          for lv, a in margin.items()}
        keep = {lv: res[lv]["area"] > 0 for lv in levels}
        r, c = _rows(res, coef, tables, names, ep.year, ep.year, "stock_difference", ep.basis, keep)
        rows, coefs = rows + r, coefs + c
        if not any(res[lv]["area"][:, 1:].sum() > 0 for lv in levels):
            raise EmptyDataError(f"{paths.landcover(ep.year)}: no valid pixel falls in any zone; "
                                 "check that the zones and the land cover cover the same area")
    gl = _gain_loss_setup(cfg, paths, cc, names, epochs, chunks) if "gain_loss" in cfg["carbon"]["method"] else None
    total_density = sum(density[p] for p in POOLS)
    valid = np.outer(onehot.any(axis=1), onehot.any(axis=1))
    for (e0, e1), per_level in zip(periods, transitions):
        factor = C_TO_CO2 / (e1.year - e0.year)
        change = (total_density[None, :] - total_density[:, None]) * factor
        basis = "scenario" if "scenario" in (e0.basis, e1.basis) else "observed"
        res = {lv: {"net_sink": (t * change * valid).sum(axis=1) @ onehot}
               for lv, t in per_level.items()}
        coef = {} if params is None else {
            lv: {"net_sink": _sink_coefficients(t * valid, onehot, params, factor)}
            for lv, t in per_level.items()}
        keep = {lv: ((t * valid).sum(axis=1) @ onehot) > 0 for lv, t in per_level.items()}
        r, c = _rows(res, coef, tables, names, e0.year, e1.year, "stock_difference", basis, keep)
        rows, coefs = rows + r, coefs + c
        if gl is not None:
            r, c = _gain_loss_period_rows(cfg, paths, cc, gl, e0, e1, per_level, zone_idx,
                                          n_zones, tables, area, basis, chunks)
            gain_loss_rows.append((len(rows), r, c, e0.year, e1.year))
            rows, coefs = rows + r, coefs + [None] * len(c)
    df = pd.DataFrame(rows, columns=COLUMNS)
    if not np.isfinite(df["value"]).all():
        raise EmptyDataError("zonal totals are not finite; check the density table and inputs")
    df = _with_uncertainty(cfg, df, coefs, params, paths)
    for start, r, c, y0, y1 in gain_loss_rows:
        _gain_loss_uncertainty(cfg, df, start, r, c, cc, y0, y1)
    aa = cfg["uncertainty"]["accuracy_assessment"]
    if aa and aa["year_end"] is None:
        df = pd.concat([df, area_adjusted_rows(cfg, paths, epochs, transitions, onehot, names,
                                               tables, cc, params)], ignore_index=True)
    elif aa:
        df = pd.concat([df, area_adjusted_period_rows(cfg, paths, periods, transitions, onehot,
                                                      names, tables, cc, params, compact, area)],
                       ignore_index=True)
    if cfg["potential"]["enabled"]:
        last = epochs[-1]
        margin = transitions[-1]
        df = pd.concat([df, potential_rows(cfg, {lv: t.sum(axis=1) for lv, t in margin.items()},
                                           onehot, names, tables, last.year)], ignore_index=True)
    if cfg["biomass"]["enabled"]:
        df = pd.concat([df, _biomass_map_rows(cfg, paths, zone_idx, n_zones, tables, names,
                                              cc, compact, area, params, grid, chunks)], ignore_index=True)
    _write_csv(df, paths.zonal_summary())
    _write_csv(transition_table(periods, transitions, tables, names, onehot), paths.transitions())
    if set(cfg["carbon"]["method"]) >= {"stock_difference", "gain_loss"}:
        _write_csv(method_comparison(df), paths.method_comparison())
    write_zones_gpkg(cfg, df, paths.zones_gpkg(), grid)
    write_summary_plot(cfg, df, paths)
    series = time_series(df)
    _write_csv(series, paths.time_series())
    write_time_series_plot(cfg, series, paths)
    return df


def _gain_loss_setup(cfg: dict, paths: RunPaths, cc, names: list[str], epochs, chunks: int) -> dict:
    """What the gain-loss rows of every period share: the gain-loss class maps of the epochs
    (with the lake / wetland rule), their reporting classes (``lake_open_water`` appended),
    the strata map (or None) and, with the wetland rule, the inundation frequency."""
    gl_names = gain_loss_names(cfg, cc)
    wetland = cfg["wetland"]["enabled"]
    report = np.concatenate([cc.report_class, [len(names)]]) if wetland else cc.report_class
    rnames = names + [LAKE] if wetland else names
    onehot = np.zeros((len(gl_names), len(rnames)))
    onehot[np.arange(len(gl_names)), report] = 1.0
    onehot[0] = 0.0
    compact = {ep.year: gain_loss_compact(cfg, paths, cc, ep.year, chunks) for ep in epochs}
    grid = compact[epochs[0].year].odc.geobox
    return {"k": len(gl_names), "names": rnames, "onehot": onehot, "compact": compact,
            "strata": strata_map(cfg, grid, chunks),
            "n_strata": int(np.prod([len(v) for v in strata_levels(cfg).values()])),
            "n_soil": n_soil_strata(cfg),
            "flooded": inundation(cfg, paths, grid, chunks).fillna(0.0) if wetland else None,
            "managed": np.array([n != LAKE for n in rnames]) & (np.arange(len(rnames)) > 0)}


def _gain_loss_period_rows(cfg, paths, cc, gl, e0, e1, transitions, zone_idx, n_zones, tables,
                           area, basis, chunks):
    """Gain-loss rows of a period: net sink, gross removals and emissions per zone and class at
    the period's end, Σ area(pair) × rate(pair) + Σ area(history) × rate(history) (the SOC of
    conversions at earlier epochs still moving, Eq. 2.25); with the wetland rule also the
    area by class, lake open water as its own class left out of the 'all' rows, and with CH4
    ``ch4_emissions_co2e`` and ``net_sink_with_ch4``. Returns rows, their coefficient vectors
    over the rates (pairs, then history codes; :func:`sinks.rate_tables.gain_loss_rate_vectors`)."""
    k, onehot, compact, strata = gl["k"], gl["onehot"], gl["compact"], gl["strata"]
    wet = cfg["wetland"]
    n_strata, n_soil = gl["n_strata"], gl["n_soil"]
    if wet["enabled"] or strata is not None:
        values = {"area": area, **({"flooded": area * gl["flooded"]} if wet["ch4"] else {})}
        maps = [compact[e0.year], compact[e1.year]] if strata is None else [strata, compact[e0.year], compact[e1.year]]
        sizes = [k, k] if strata is None else [n_strata, k, k]
        pairs = zonal_totals(zone_idx, n_zones, maps, sizes, values)
    else:  # the gain-loss classes are the compact classes: reuse the transition areas
        pairs = {lv: {"area": t} for lv, t in transitions.items()}
    hist = open_raster(paths.conversion_history(e0.year), chunks=chunks)
    require_same_grid(hist, compact[e0.year].odc.geobox, str(paths.conversion_history(e0.year)))
    n_hist = len(cfgmod.epochs(cfg)) * k * k
    if strata is None:
        history = zonal_totals(zone_idx, n_zones, [hist, compact[e1.year]], [n_hist, k], {"area": area})
    else:  # history rates depend on the (soil, climate, management) stratum only
        soil = apply_lut(strata, (np.arange(n_strata) % n_soil).astype("uint16"), 0)
        history = zonal_totals(zone_idx, n_zones, [soil, hist, compact[e1.year]], [n_soil, n_hist, k],
                               {"area": area})
    rates = stratified_rates(cfg, cc, e0.year, e1.year)
    ch4 = ch4_rate(cfg) if wet["ch4"] else 0.0  # Mg CO2e ha-1 yr-1 of land flooded all year
    ok = onehot.any(axis=1)
    res, coef, keep = {}, {}, {}
    for lv in pairs:
        # [zone, stratum, class t0, class t1] and [zone, soil-climate-management stratum,
        # history code, class t1]
        t = pairs[lv]["area"].reshape(-1, n_strata, k, k) * np.outer(ok, ok)
        h = history[lv]["area"].reshape(-1, n_soil, n_hist, k) * ok
        res[lv] = {q: np.einsum("zsab,sab->zb", t, rates[key]) @ onehot
                   + np.einsum("zshb,sh->zb", h, rates[f"history_{key}"][:n_soil]) @ onehot
                   for q, key in (("net_sink", "net"), ("gross_removals", "removals"),
                                  ("gross_emissions", "emissions"))}
        z = t.shape[0]
        full = np.concatenate([np.einsum("zsab,bc->zcsab", t, onehot).reshape(z, -1, n_strata * k * k),
                               np.einsum("zshb,bc->zcsh", h, onehot).reshape(z, -1, n_soil * n_hist)], axis=2)
        coef[lv] = {q: full for q in res[lv]}
        by_class = t.sum(axis=(1, 2)) @ onehot
        keep[lv] = by_class > 0
        if wet["enabled"]:
            res[lv]["area"] = by_class
        if wet["ch4"]:
            per_class = np.where(np.array(gl["names"]) == "wetland", ch4, 0.0)
            flooded = pairs[lv]["flooded"].reshape(-1, n_strata, k, k).sum(axis=(1, 2))
            res[lv]["ch4_emissions_co2e"] = (flooded @ onehot) * per_class
            res[lv]["net_sink_with_ch4"] = res[lv]["net_sink"] + res[lv]["ch4_emissions_co2e"]
            ch4_coef = ((flooded @ onehot) * (per_class != 0))[:, :, None]  # × the CH4 rate
            coef[lv].update(ch4_emissions_co2e=ch4_coef,
                            net_sink_with_ch4=np.concatenate([full, ch4_coef], axis=2))
    rows, row_coefs = _rows(res, coef, tables, gl["names"], e0.year, e1.year, "gain_loss", basis,
                            keep, gl["managed"])
    if wet["synthetic"]:  # rows that rest on the inundation layer say so
        rows = [r[:10] + (f"{r[10]}; synthetic inundation",)
                if r[3] == LAKE or r[4] in ("area", "ch4_emissions_co2e", "net_sink_with_ch4") else r
                for r in rows]
    return rows, row_coefs


def _stock_coefficients(a: np.ndarray, onehot: np.ndarray, params) -> dict[str, np.ndarray]:
    """Coefficients over θ of the stock rows of one epoch: [zone, reporting class, parameter]."""
    per_pool = {f"carbon_stock_{p}": np.einsum("zk,kc,kj->zcj", a, onehot, params.weights[:, i, :])
                for i, p in enumerate(POOLS)}
    return {"carbon_stock": sum(per_pool.values()), **per_pool}


def _sink_coefficients(t: np.ndarray, onehot: np.ndarray, params, factor: float) -> np.ndarray:
    """Coefficients over θ of the net-sink rows of a period (class of t1 reported):
    Σ area(a → b) × (w_b − w_a) × 44/12 / Δt."""
    w = params.total_weights()
    return factor * (np.einsum("zab,bc,bj->zcj", t, onehot, w)
                     - np.einsum("zab,bc,aj->zcj", t, onehot, w))


def _with_uncertainty(cfg: dict, df: pd.DataFrame, coefs: list, params, paths: RunPaths) -> pd.DataFrame:
    """Add the uncertainty columns; write the attribution table and chart."""
    if params is None:
        reason = ("none: uncertainty disabled" if not cfg["uncertainty"]["enabled"] else
                  "none: the density table has no sd column")
        return df.assign(sd=np.nan, ci_low=np.nan, ci_high=np.nan, uncertainty_pct=np.nan,
                         uncertainty_approach=reason)
    has = np.array([c is not None for c in coefs])
    matrix = np.array([c for c in coefs if c is not None])
    cols, convergence = table_uncertainty(df["value"].to_numpy()[has], matrix, params,
                                          cfg["uncertainty"])
    for name in cols.columns:
        df[name] = "" if name == "uncertainty_approach" else np.nan
        df.loc[has, name] = cols[name].to_numpy()
    df.loc[~has, "uncertainty_approach"] = np.where(
        df.loc[~has, "quantity"] == "area", "none: map area (no accuracy assessment)",
        "none: not propagated for this method yet")
    if convergence:
        log.info("Monte Carlo: %d draws; the 95 %% intervals moved by at most %.2f %% of their "
                 "width between %d and %d draws", convergence["n_draws"],
                 100 * convergence["max_interval_shift"], convergence["n_half"], convergence["n_draws"])
        if not convergence["converged"]:
            log.warning("Monte Carlo intervals not stable to %.0f %% of their width; increase "
                        "uncertainty.n_draws", 100 * convergence["tolerance"])
    shares = variance_shares(matrix, params.sds)
    attribution = _attribution(df[has].reset_index(drop=True), shares, params.names)
    _write_csv(attribution, paths.attribution())
    write_attribution_plot(cfg, attribution, paths)
    return df


MAP_APPROACH = ("{how}: pixel conformal errors (independent) + the model's mean error "
                "RMSE/sqrt(n plots) (shared by all pixels) + CF and R (shared){density}")
RS_APPROACH = ("normal: pixel conformal errors independent across pixels and years + CF and R "
               "(shared); the model's mean error cancels (one model for both years)")


def _biomass_map_rows(cfg, paths, zone_idx, n_zones, tables, names, cc, compact, area, params,
                      grid, chunks) -> pd.DataFrame:
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
    from sinks.rs.biomass_model import model_mean_sd, pixel_sd
    from sinks.stages import biomass_basis, biomass_carbon_factors, biomass_factor_sds, biomass_map

    bio = cfg["biomass"]
    cf, r = biomass_carbon_factors(cfg)
    u_factor = biomass_factor_sds(cfg)
    side = pd.read_json(paths.biomass_model(bio["year"]).with_suffix(".json"), typ="series")
    sigma = pixel_sd(side["q"], side["alpha"])  # Mg d.m. ha-1 per pixel
    shared_sd = model_mean_sd(side["cv_rmse"], side["n_plots"])  # Mg d.m. ha-1, all pixels
    k = cc.density["agb"].size
    onehot = np.zeros((k, len(names)))
    onehot[np.arange(k), cc.report_class] = 1.0
    onehot[0] = 0.0
    maps = {y: biomass_map(paths, y, grid, chunks) for y in bio["years"]}
    total = sum(cc.density[p] for p in POOLS)
    frames = []
    for year, agb in maps.items():
        ok = agb.notnull()
        res = zonal_totals(zone_idx, n_zones, [compact[year]], [k],
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
                    default = (rest * total + t["area_map"] * (cc.density["dead"] + cc.density["soc"])) @ onehot
                    if params is not None:
                        w_other = params.weights[:, [POOLS.index("dead"), POOLS.index("soc")], :].sum(axis=1)
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
        res = zonal_totals(zone_idx, n_zones, [compact[y1]], [k],
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
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _map_rows_table(cfg, per, tables, names, quantity, y0, y1, basis, params, seed_key) -> pd.DataFrame:
    """Rows of one biomass-map quantity with their intervals. Each row's value is its map part
    (+ the class-default part); its error the sum of independent pixel errors (variance
    ``indep``), a shared model error (sd ``shared``, one draw for all rows), the shared error
    of the carbon factors (sd ``factor``, one draw for all rows) and, when ``coef`` is given,
    the density parameters (value part coef · θ)."""
    from sinks.uncertainty import Z95, linear_approach1_sd, parameter_draws

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
                rows.append({"zone_level": lv, "zone_id": z["zone_id"], "zone_name": z["zone_name"],
                             "ecosystem": "all" if c == "all" else names[c], "quantity": quantity,
                             "year_start": y0, "year_end": y1, "unit": UNITS[quantity],
                             "method": "biomass_map", "basis": basis})
    df = pd.DataFrame(rows)
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
    unc = cfg["uncertainty"]
    if density and unc["enabled"] and "monte_carlo" in unc["approaches"]:
        theta = parameter_draws(params.specs, unc["n_draws"], unc["seed"])  # the tables' draws
        rng = np.random.default_rng(np.random.SeedSequence([unc["seed"], 6, *seed_key]))
        n = theta.shape[0]
        draws = (coef @ theta.T + mapped[:, None] + shared[:, None] * rng.standard_normal(n)[None, :]
                 + factor[:, None] * rng.standard_normal(n)[None, :]
                 + indep[:, None] * rng.standard_normal((len(value), n)))
        sd = draws.std(axis=1, ddof=1)
        lo, hi = interval95(draws)
        how = f"IPCC Approach 2 (Monte Carlo, {unc['n_draws']} draws)"
    else:
        dens_sd = linear_approach1_sd(coef, params.sds) if density else 0.0
        sd = np.sqrt(indep ** 2 + shared ** 2 + factor ** 2 + dens_sd ** 2)
        lo, hi = value - Z95 * sd, value + Z95 * sd
        how = "IPCC Approach 1" if density else "normal"
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(value != 0, 100 * (hi - lo) / 2 / np.abs(value), np.nan)
    approach = (RS_APPROACH if quantity == "net_sink" else
                MAP_APPROACH.format(how=how, density=" + class-default densities of the other "
                                    "pools and pixels" if density else ""))
    return df.assign(value=value, sd=sd, ci_low=lo, ci_high=hi, uncertainty_pct=pct,
                     uncertainty_approach=approach)


def area_adjusted_rows(cfg: dict, paths: RunPaths, epochs: list, transitions: list,
                       onehot: np.ndarray, names: list[str], tables: dict, cc, params) -> pd.DataFrame:
    """Rows of the assessed epoch with error-adjusted class areas as activity data (method
    ``stock_difference_area_adjusted``), and ``accuracy_assessment_<year>.csv``.

    Olofsson et al. (2014) give the adjusted area Â_k and its SE for each map class over the
    whole map; each zone's mapped area of class k is scaled by ρ_k = Â_k / A_k (a ratio
    allocation: region totals are exact, a zone's share of the reallocated area is assumed
    proportional to its mapped area). Uncertainty: ρ_k ~ N(ρ_k, SE_k / A_k), independent of
    the densities; Approach 1 adds the two variance terms (Eq. 3.1 for each area × density
    product, Eq. 3.2 for the sum); Monte Carlo draws both.
    """
    from sinks.accuracy import assess_class_map
    from sinks.uncertainty import Z95, linear_approach1_sd, parameter_draws

    aa = cfg["uncertainty"]["accuracy_assessment"]
    year = aa["year"]
    i = [e.year for e in epochs].index(year)
    margin = ({lv: t.sum(axis=2) for lv, t in transitions[i].items()} if i < len(transitions)
              else {lv: t.sum(axis=1) for lv, t in transitions[i - 1].items()})
    table = assess_class_map(aa["samples"], paths.landcover(year), aa["label_field"])
    table.to_csv(paths.outputs / f"accuracy_assessment_{year}.csv")
    k = onehot.shape[0]
    rho, sd_rho = np.ones(k), np.zeros(k)
    for j, code in enumerate(cc.codes, start=1):
        if int(code) in table.index and table.loc[int(code), "mapped_area"] > 0:
            row = table.loc[int(code)]
            rho[j], sd_rho[j] = row["area"] / row["mapped_area"], row["area_se"] / row["mapped_area"]
    dens = sum(cc.density[p] for p in POOLS)
    mc = params is not None and _monte_carlo(cfg)
    if mc:
        unc = cfg["uncertainty"]
        theta = parameter_draws(params.specs, unc["n_draws"], unc["seed"])
        d_draw = theta @ params.total_weights().T
        rho_draw = rho + sd_rho * np.random.default_rng(np.random.SeedSequence(unc["seed"] + 2)).standard_normal(d_draw.shape)
    rows = []
    for lv, a in margin.items():
        for _, z in tables[lv].iterrows():
            zi = int(z["index"])
            for c in [c for c in range(1, len(names)) if (a[zi] @ onehot)[c] > 0] + ["all"]:
                m = a[zi] * (onehot[:, 1:].sum(axis=1) if c == "all" else onehot[:, c])
                for quantity, d in (("area", np.ones(k)), ("carbon_stock", dens)):
                    value = float(m @ (rho * d))
                    var = float(((m * d * sd_rho) ** 2).sum())
                    if quantity == "carbon_stock" and params is not None:
                        var += float(linear_approach1_sd((m * rho) @ params.total_weights(), params.sds) ** 2)
                    sd, lo, hi, how = np.sqrt(var), value - Z95 * np.sqrt(var), value + Z95 * np.sqrt(var), "IPCC Approach 1"
                    if mc and quantity == "carbon_stock":
                        draws = (rho_draw * d_draw) @ m
                        sd, (lo, hi), how = draws.std(ddof=1), np.percentile(draws, [2.5, 97.5]), "IPCC Approach 2 (Monte Carlo)"
                    rows.append({"zone_level": lv, "zone_id": z["zone_id"], "zone_name": z["zone_name"],
                                 "ecosystem": "all" if c == "all" else names[c], "quantity": quantity,
                                 "year_start": year, "year_end": year, "value": value,
                                 "unit": UNITS[quantity], "method": "stock_difference_area_adjusted",
                                 "basis": "observed", "sd": sd, "ci_low": lo, "ci_high": hi,
                                 "uncertainty_pct": 100 * (hi - lo) / 2 / abs(value) if value else np.nan,
                                 "uncertainty_approach": f"{how}; areas from the accuracy assessment (Olofsson et al. 2014)"})
    return pd.DataFrame(rows)


def area_adjusted_period_rows(cfg: dict, paths: RunPaths, periods: list, transitions: list,
                              onehot: np.ndarray, names: list[str], tables: dict, cc, params,
                              compact: dict, area) -> pd.DataFrame:
    """Net-sink rows of an assessed period re-estimated from a reference sample of its change
    map (methods ``stock_difference_area_adjusted`` and, with gain-loss,
    ``gain_loss_area_adjusted``; ecosystem = reference class at the period's end), and
    ``accuracy_assessment_<y0>_<y1>.csv`` (error-adjusted areas of the transitions).

    The strata are the mapped class transitions a → b; each point has a reference transition.
    A pixel's sink depends only on its transition, so a zone's sink is the stratified total
    Σ_h A_zh ȳ_h of y = the per-hectare rate of the point's reference transition
    (:func:`sinks.accuracy.stratified_totals`: Olofsson et al. 2014 with a rate in place of a
    class indicator; a zone is assumed to share the region's map errors per stratum).
    Uncertainty: the sampling variance Σ_h A_zh² s_h² / n_h; Approach 1 adds the density term of
    the stock-difference rows (IPCC 2006 Vol.1 Eq. 3.2, independent sources); Monte Carlo draws
    the parameters (densities, or registry parameters for gain-loss: the same draws as the other
    rows) together with a stratified bootstrap of the sample (units resampled within strata).
    """
    from sinks.accuracy import (error_matrix, reference_codes, sample_map,
                                stratified_area_estimate, stratified_totals, stratum_means)
    from sinks.io.vectors import read_points
    from sinks.uncertainty import Z95, parameter_draws

    aa, unc = cfg["uncertainty"]["accuracy_assessment"], cfg["uncertainty"]
    y0, y1 = aa["year"], aa["year_end"]
    i = [e.year for e, _ in periods].index(y0)
    per_level, years = transitions[i], y1 - y0
    k = onehot.shape[0]
    points = read_points(aa["samples"], aa["label_field"])
    mapped, ref = [], []
    for year, field in ((y0, aa["label_field"]), (y1, aa["label_field_end"])):
        mapped.append(cc.lut[sample_map(points, paths.landcover(year)).astype("int64")])
        codes = reference_codes(points, field, aa["samples"])
        known = (codes >= 0) & (codes < cc.lut.size)
        c = np.where(known, cc.lut[np.clip(codes, 0, cc.lut.size - 1)], 0)
        if (c == 0).any():
            raise InputDataError(f"{aa['samples']}: {field} = {codes[c == 0][0]} is not a land-cover "
                                 "code with densities; give reference classes in the map's codes")
        ref.append(c)
    stratum, truth = mapped[0] * k + mapped[1], ref[0] * k + ref[1]
    label = [f"{_code(cc, a)}->{_code(cc, b)}" for a in range(k) for b in range(k)]
    whole = zonal_totals({"map": xr.ones_like(area, dtype="uint8")}, {"map": 1}, [compact[y0], compact[y1]], [k, k],
                         {"area": area})["map"]["area"][1].ravel()
    cells = sorted(set(np.flatnonzero(whole)) | set(stratum) | set(truth))
    table = stratified_area_estimate(
        error_matrix([label[c] for c in stratum], [label[c] for c in truth], [label[c] for c in cells]),
        pd.Series(whole[cells], index=[label[c] for c in cells]))
    table.insert(0, "mapped_area", whole[cells])
    table.insert(0, "to_code", [label[c].split("->")[1] for c in cells])
    table.insert(0, "from_code", [label[c].split("->")[0] for c in cells])
    _write_csv(table.reset_index(drop=True), paths.outputs / f"accuracy_assessment_{y0}_{y1}.csv")

    valid = np.outer(onehot.any(axis=1), onehot.any(axis=1)).ravel()
    member = np.concatenate([onehot, onehot.sum(axis=1, keepdims=True)], axis=1)
    member = np.tile(member, (k, 1))  # pair (a, b) -> reporting class of b, and "all"
    dens = sum(cc.density[p] for p in POOLS)
    factor = C_TO_CO2 / years
    rates = {"stock_difference": ((dens[None, :] - dens[:, None]) * factor).ravel() * valid}
    draws = {}
    mc = _monte_carlo(cfg)
    if params is not None:
        w = params.total_weights()
        w_pair = ((w[None, :, :] - w[:, None, :]) * factor).reshape(k * k, -1) * valid[:, None]
        if mc:
            d = parameter_draws(params.specs, unc["n_draws"], unc["seed"]) @ w.T
            draws["stock_difference"] = ((d[:, None, :] - d[:, :, None]) * factor).reshape(len(d), -1) * valid
    strata = cfg["gain_loss"]["strata"]
    if "gain_loss" not in cfg["carbon"]["method"]:
        pass
    elif cfg["wetland"]["enabled"] or any(strata.values()) or i > 0:
        log.info("gain-loss rows are not re-estimated from the change-map sample: there a pixel's "
                 "rate depends on more than its transition (strata, the lake rule or conversions "
                 "before %d)", y0)
    else:  # the first period, one stratum: a pixel's rate is its transition's
        rates["gain_loss"] = stratified_rates(cfg, cc, y0, y1)["net"][0].ravel() * valid
        if mc:
            draws["gain_loss"] = gain_loss_rate_draws(cfg, cc, y0, y1)["net"][:, :k * k] * valid
    if mc:  # Rao & Wu (1988) rescaled stratified bootstrap: units resampled within strata
        uniq, h = np.unique(stratum, return_inverse=True)
        order = np.argsort(h, kind="stable")
        first = np.searchsorted(h[order], h[order], side="left")
        size = np.searchsorted(h[order], h[order], side="right") - first
        rng = np.random.default_rng(np.random.SeedSequence(unc["seed"] + 3))
        picks = order[first + (rng.random((unc["n_draws"], h.size)) * size).astype("int64")]
        n_h = np.bincount(h).astype("float64")
        rescale = np.sqrt(n_h / (n_h - 1))[:, None]  # n_h >= 2 (checked above)
        means = {}
        for method, d in draws.items():
            means[method] = np.empty((len(picks), uniq.size, member.shape[1]))
            for j, pick in enumerate(picks):
                full = stratum_means(h, d[j][truth, None] * member[truth], uniq.size)
                boot = stratum_means(h[order], d[j][truth[pick], None] * member[truth[pick]], uniq.size)
                means[method][j] = full + rescale * (boot - full)
    rows = []
    for lv, t in per_level.items():
        a = t.reshape(t.shape[0], k * k)
        adj_area, _ = stratified_totals(a, stratum, member[truth], label)
        for method, rate in rates.items():
            value, se = stratified_totals(a, stratum, rate[truth, None] * member[truth], label)
            var, how = se ** 2, "sampling error of the reference sample only"
            if method == "stock_difference" and params is not None:
                coef, _ = stratified_totals(a, stratum, (w_pair[truth, None, :] * member[truth][:, :, None])
                                            .reshape(truth.size, -1), label)
                var = var + (coef.reshape(a.shape[0], member.shape[1], -1) ** 2) @ (params.sds ** 2)
                how = "IPCC Approach 1 (sampling error + densities, Eq. 3.2)"
            sd, lo, hi = np.sqrt(var), value - Z95 * np.sqrt(var), value + Z95 * np.sqrt(var)
            if method in draws:
                per_draw = np.einsum("zh,dhc->zcd", a[:, uniq], means[method])
                sd = per_draw.std(axis=2, ddof=1)
                lo, hi = (b.reshape(sd.shape) for b in interval95(per_draw.reshape(sd.size, -1)))
                how = (f"IPCC Approach 2 (Monte Carlo, {unc['n_draws']} draws of the "
                       f"{'densities' if method == 'stock_difference' else 'registry parameters'} "
                       "with a stratified bootstrap of the reference sample)")
            for _, z in tables[lv].iterrows():
                zi = int(z["index"])
                for c in [c for c in range(1, len(names)) if adj_area[zi, c] > 0] + [len(names)]:
                    v = float(value[zi, c])
                    rows.append({"zone_level": lv, "zone_id": z["zone_id"], "zone_name": z["zone_name"],
                                 "ecosystem": "all" if c == len(names) else names[c],
                                 "quantity": "net_sink", "year_start": y0, "year_end": y1, "value": v,
                                 "unit": UNITS["net_sink"], "method": f"{method}_area_adjusted",
                                 "basis": "observed", "sd": sd[zi, c], "ci_low": lo[zi, c],
                                 "ci_high": hi[zi, c],
                                 "uncertainty_pct": 100 * (hi[zi, c] - lo[zi, c]) / 2 / abs(v) if v else np.nan,
                                 "uncertainty_approach": f"{how}; activity data from the change-map "
                                                         "accuracy assessment (Olofsson et al. 2014)"})
    return pd.DataFrame(rows)


def _code(cc, compact_index: int) -> str:
    return "none" if compact_index == 0 else str(int(cc.codes[compact_index - 1]))


def potential_rows(cfg: dict, areas: dict, onehot: np.ndarray, names: list[str], tables: dict,
                   last_year: int) -> pd.DataFrame:
    """Zone rows of the sink potential (Mg CO2 yr-1, + = sink) per scenario and target year
    (sinks.models.potential), from the ecosystem areas of the last epoch.

    Uncertainty from the registry parameters (the curve's B_max, k and p where the config gives
    an sd, R and CF), see :func:`_registry_uncertainty`; the areas are held at the map's."""
    rates = {key: _class_vector(per_ha, len(names))
             for key, per_ha in potential_rates(cfg, names, last_year).items()}
    rows, coefs = [], []
    for b, ((scenario, year), rate) in enumerate(rates.items()):
        grown = np.isfinite(rate)
        for lv, a in areas.items():
            by_class = np.where(grown, a @ onehot, 0.0)
            for _, z in tables[lv].iterrows():
                i = int(z["index"])
                cells = [(names[c], np.eye(len(names))[c] * by_class[i]) for c in np.flatnonzero(by_class[i] > 0)]
                for eco, coef in cells + [("all", by_class[i])]:
                    rows.append({"zone_level": lv, "zone_id": z["zone_id"], "zone_name": z["zone_name"],
                                 "ecosystem": eco, "quantity": "sink_potential",
                                 "year_start": last_year, "year_end": year,
                                 "value": float(coef @ np.nan_to_num(rate)), "unit": "Mg CO2 yr-1",
                                 "method": f"potential_{scenario}", "basis": "scenario"})
                    block = np.zeros((len(rates), len(names)))
                    block[b] = coef
                    coefs.append(block.ravel())
    df = pd.DataFrame(rows).assign(uncertainty_approach="none: uncertainty disabled")
    _registry_uncertainty(cfg, df, {"rates": (np.arange(len(df)), np.array(coefs))}, lambda reg: {
        "rates": np.nan_to_num(np.concatenate([_class_vector(v, len(names)) for v in
                                               potential_rates(cfg, names, last_year, reg).values()],
                                              axis=-1))},
        "areas of the last epoch fixed", batched=True)
    return df


def _class_vector(per_ha: dict, n: int) -> np.ndarray:
    """Rates per reporting class index as a vector (n,), NaN for classes not grown; (draws, n)
    when the rates are arrays over a batch of draws."""
    lead = np.broadcast_shapes(*(np.shape(r) for r in per_ha.values())) if per_ha else ()
    v = np.full(lead + (n,), np.nan)
    for c, rate in per_ha.items():
        v[..., c] = rate
    return v


def _fill_monte_carlo(df: pd.DataFrame, idx, mc: dict, approach: str) -> None:
    """Write Monte Carlo sd, 95 % interval and relative uncertainty into rows ``idx`` (positions)."""
    idx = df.index[idx]
    values = df.loc[idx, "value"].to_numpy()
    half = (mc["p97_5"] - mc["p2_5"]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(values != 0, 100 * half / np.abs(values), np.nan)
    for col, v in (("sd", mc["sd"]), ("ci_low", mc["p2_5"]), ("ci_high", mc["p97_5"]),
                   ("uncertainty_pct", pct)):
        df.loc[idx, col] = v
    df.loc[idx, "uncertainty_approach"] = approach


def _monte_carlo(cfg: dict) -> bool:
    unc = cfg["uncertainty"]
    return unc["enabled"] and "monte_carlo" in unc["approaches"]


def _gain_loss_uncertainty(cfg: dict, df: pd.DataFrame, start: int, rows: list, coefs: list,
                           cc, y0: int, y1: int) -> None:
    """Uncertainty of a period's gain-loss rows (from ``start`` in ``df``): each row is its
    coefficient vector (areas of pairs and history codes, or flooded area for CH4) times the
    rates of its quantity (:func:`sinks.rate_tables.gain_loss_rate_vectors`), which depend on the
    registry parameters."""
    keys = {"net_sink": "net", "gross_removals": "removals", "gross_emissions": "emissions",
            "ch4_emissions_co2e": "ch4", "net_sink_with_ch4": "net_with_ch4"}
    groups = {}
    for quantity, key in keys.items():
        pick = [i for i, r in enumerate(rows) if r[4] == quantity]
        if pick:
            groups[key] = (start + np.array(pick, dtype="int64"), np.array([coefs[i] for i in pick]))
    _registry_uncertainty(cfg, df, groups, lambda reg: gain_loss_rate_vectors(cfg, cc, y0, y1, reg),
                          "densities fixed", batched=True)


def _registry_uncertainty(cfg: dict, df: pd.DataFrame, groups: dict, rates_of, fixed: str,
                          batched: bool = False) -> None:
    """Uncertainty columns of rows whose values are ``coefs @ rates_of(registry)[key]``: per
    key, ``groups[key] = (row positions in df, coefs)``; the rates are nonlinear in the
    registry parameters θ (products such as G_W (1 + R) CF, the growth curve). ``batched``:
    ``rates_of`` broadcasts over a leading draw axis (a batch of draws at once).

    * Approach 1 (IPCC 2006 Vol.1 Ch.3 §3.2.3.1): first-order propagation,
      sd² = Σ_j (coefs · ∂rate/∂θ_j × sd_j)² — Eq. 3.1 and 3.2 are this rule for products and
      sums — with the derivatives by central differences
      (:func:`sinks.parameters.registry_sensitivities`).
    * Approach 2 (§3.2.3.2): the rates re-evaluated for every draw of θ
      (:func:`sinks.parameters.registry_draws`, seed :func:`sinks.rate_tables.registry_seed`).
    """
    from sinks.parameters import load_registry, registry_draws, registry_sensitivities
    from sinks.uncertainty import Z95

    unc = cfg["uncertainty"]
    if not unc["enabled"] or not groups:
        return
    reg = load_registry(cfg["parameters"])
    mc = _monte_carlo(cfg)
    if mc:
        from sinks.rate_tables import DRAW_BATCH

        runs = [rates_of(d) for d in registry_draws(reg, unc["n_draws"], registry_seed(cfg),
                                                    batch=DRAW_BATCH if batched else None)]
        stack = np.concatenate if batched else np.stack
        draws = {key: stack([r[key] for r in runs]) for key in groups}
    for key, (pick, coefs) in groups.items():
        idx = df.index[pick]
        values = df.loc[idx, "value"].to_numpy()
        if "approach1" in unc["approaches"]:
            sens = registry_sensitivities(reg, lambda r: rates_of(r)[key])
            sd1 = np.sqrt(((coefs @ sens.T) ** 2).sum(axis=1))
            with np.errstate(divide="ignore", invalid="ignore"):
                u1 = np.where(values != 0, 100 * Z95 * sd1 / np.abs(values), np.nan)
            if mc:
                df.loc[idx, "approach1_uncertainty_pct"] = u1
            else:
                for col, v in (("sd", sd1), ("ci_low", values - Z95 * sd1),
                               ("ci_high", values + Z95 * sd1), ("uncertainty_pct", u1)):
                    df.loc[idx, col] = v
                df.loc[idx, "uncertainty_approach"] = (
                    f"IPCC Approach 1 (first-order propagation of the registry parameters; {fixed})")
        if mc:
            _fill_monte_carlo(df, pick, linear_monte_carlo(coefs, draws[key]),
                              f"IPCC Approach 2 (Monte Carlo, {unc['n_draws']} draws of the "
                              f"registry parameters; {fixed})")


def _attribution(rows: pd.DataFrame, shares: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Tidy variance shares (≥ 0.1 %) of the 'all ecosystems' stock and sink rows."""
    pick = rows.index[(rows.ecosystem == "all") & rows.quantity.isin(["carbon_stock", "net_sink"])]
    out = []
    for i in pick:
        r = rows.loc[i]
        for j in np.flatnonzero(shares[i] >= 0.001):
            cls, pool = names[j].split("/")
            out.append((r.zone_level, r.zone_id, r.zone_name, r.quantity, r.year_start,
                        r.year_end, cls, pool, shares[i, j]))
    df = pd.DataFrame(out, columns=["zone_level", "zone_id", "zone_name", "quantity",
                                    "year_start", "year_end", "parameter_class",
                                    "parameter_pool", "variance_share"])
    return df.sort_values(["zone_level", "zone_id", "quantity", "year_start", "variance_share"],
                          ascending=[True, True, True, True, False])


def method_comparison(df: pd.DataFrame) -> pd.DataFrame:
    """Stock-difference and gain-loss net sinks side by side per zone and period (all
    ecosystems), with their difference: the two IPCC methods should agree where both apply; a
    large difference points at growth of forest that stays forest (seen only by gain-loss),
    harvest, or densities inconsistent with the growth rates.

    Periods with a remote-sensing sink add ``biomass_map`` (forest pixels mapped at both ends)
    beside ``gain_loss_forest`` (the gain-loss sink of land that is forest at the period's end)
    and their difference ``biomass_map_minus_gain_loss_forest``: both measure forest biomass
    change, by the maps and by the default growth rates."""
    sub = df[(df.ecosystem == "all") & (df.quantity == "net_sink")]
    keys = ["zone_level", "zone_id", "zone_name", "year_start", "year_end"]
    wide = sub.pivot_table(index=keys + ["basis"], columns="method", values="value").reset_index()
    if "biomass_map" in wide:  # its basis may add "synthetic plots": join on the zone and period
        rs = wide.dropna(subset=["biomass_map"])[keys + ["biomass_map"]]
        wide = wide.drop(columns="biomass_map").dropna(subset=["gain_loss", "stock_difference"])
        forest = df[(df.ecosystem == "forest") & (df.quantity == "net_sink") & (df.method == "gain_loss")]
        wide = (wide.merge(rs, on=keys, how="left")
                .merge(forest[keys + ["value"]].rename(columns={"value": "gain_loss_forest"}), on=keys, how="left"))
        wide["biomass_map_minus_gain_loss_forest"] = wide["biomass_map"] - wide["gain_loss_forest"]
    wide["difference"] = wide["gain_loss"] - wide["stock_difference"]
    with np.errstate(divide="ignore", invalid="ignore"):
        wide["difference_pct_of_stock_difference"] = 100 * wide["difference"] / wide["stock_difference"].abs()
    wide["unit"] = "Mg CO2 yr-1"
    for r in wide[wide.zone_level == wide.zone_level.iloc[0]].itertuples():
        log.info("reconciliation %s %s %d-%d: stock difference %.4g, gain-loss %.4g Mg CO2/yr "
                 "(difference %.4g)", r.zone_level, r.zone_name, r.year_start, r.year_end,
                 r.stock_difference, r.gain_loss, r.difference)
        if "biomass_map" in wide and np.isfinite(r.biomass_map):
            log.info("remote-sensing sink %s %s %d-%d: biomass maps %.4g, gain-loss of forest "
                     "%.4g Mg CO2/yr (difference %.4g)", r.zone_level, r.zone_name, r.year_start,
                     r.year_end, r.biomass_map, r.gain_loss_forest, r.biomass_map_minus_gain_loss_forest)
    return wide


def transition_table(periods: list, transitions: list[dict], tables: dict, names: list[str],
                     onehot: np.ndarray) -> pd.DataFrame:
    """Tidy land-cover change matrix: area (ha) from each reporting class to each, per zone and
    period (the diagonal is land remaining in its class)."""
    rows = []
    for (e0, e1), per_level in zip(periods, transitions):
        basis = "scenario" if "scenario" in (e0.basis, e1.basis) else "observed"
        for lv, t in per_level.items():
            by_class = np.einsum("zab,ai,bj->zij", t, onehot, onehot)
            for _, z in tables[lv].iterrows():
                m = by_class[int(z["index"])]
                for a, b in zip(*np.nonzero(m)):
                    rows.append((lv, z["zone_id"], z["zone_name"], e0.year, e1.year, names[a],
                                 names[b], m[a, b], "ha", basis))
    return pd.DataFrame(rows, columns=["zone_level", "zone_id", "zone_name", "year_start",
                                       "year_end", "from_class", "to_class", "value", "unit",
                                       "basis"])


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False, float_format="%.10g")
    tmp.replace(path)


def write_zones_gpkg(cfg: dict, df: pd.DataFrame, path: Path, grid) -> None:
    """One layer per zone level with the 'all ecosystems' figures as columns, for GIS users;
    without zones, one layer ``region`` whose polygon is the run grid's footprint."""
    import geopandas as gpd

    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    layers = [(z["level"], read_zones(z["path"], z["id_field"], z["name_field"]), z.get("note", ""))
              for z in cfg["zones"]]
    if not layers:
        region = gpd.GeoDataFrame({"zone_id": ["region"], "zone_name": ["whole grid"]},
                                  geometry=[grid.extent.geom], crs=grid.crs.to_wkt())
        layers = [(zone_levels(cfg)[0], region, "no zones configured: the run grid's footprint")]
    for level, gdf, note in layers:
        sub = df[(df.zone_level == level) & (df.ecosystem == "all")]
        col = [f"{METHOD_PREFIX.get(m, m + '_')}{q}_{GPKG_UNITS.get(q, 'MgC')}_{y0}"
               + ("" if y0 == y1 else f"_{y1}")
               for q, y0, y1, m in zip(sub.quantity, sub.year_start, sub.year_end, sub.method)]
        wide = sub.assign(column=col).pivot(index="zone_id", columns="column", values="value")
        out = gdf.merge(wide, left_on="zone_id", right_index=True, how="left")
        out["note"] = note
        out.to_file(tmp, layer=level, driver="GPKG")
    tmp.replace(path)


def time_series(df: pd.DataFrame) -> pd.DataFrame:
    """Tidy time series per zone and ecosystem: stock at each epoch, its cumulative change since
    the first epoch, and the mean annual net sink of the period ending at each epoch (irregular
    spacing allowed: each period's sink is its own Eq. 2.5 rate).

    Stock-difference rows only (one value per zone, ecosystem and year). Columns
    ``zone_level, zone_id, zone_name, ecosystem, year, carbon_stock`` (Mg C),
    ``cumulative_change`` (Mg C since the first epoch; + = gain), ``net_sink`` (Mg CO2 yr-1 over
    the period ending at ``year``, + = sink; empty at the first epoch), ``basis``, plus the 95 %
    interval of the stock and sink where computed.
    """
    keys = ["zone_level", "zone_id", "zone_name", "ecosystem"]
    extra = [c for c in ("ci_low", "ci_high") if c in df.columns]
    df = df[df.method == "stock_difference"]
    stock = df[df.quantity == "carbon_stock"][keys + ["year_start", "value", "basis"] + extra]
    stock = stock.rename(columns={"year_start": "year", "value": "carbon_stock",
                                  **{c: f"carbon_stock_{c}" for c in extra}})
    stock = stock.sort_values(keys + ["year"])
    stock["cumulative_change"] = stock["carbon_stock"] - stock.groupby(keys)["carbon_stock"].transform("first")
    sink = df[df.quantity == "net_sink"][keys + ["year_end", "value"] + extra]
    sink = sink.rename(columns={"year_end": "year", "value": "net_sink",
                                **{c: f"net_sink_{c}" for c in extra}})
    out = stock.merge(sink, on=keys + ["year"], how="left")
    cols = keys + ["year", "carbon_stock", "cumulative_change", "net_sink", "basis"]
    return out[cols + [c for c in out.columns if c not in cols]]


def write_time_series_plot(cfg: dict, series: pd.DataFrame, paths: RunPaths) -> None:
    """PNG and SVG: carbon stock (with its 95 % interval) and net sink over time, one panel per
    zone of the region-wide levels (the clip level, lake, basin: levels of at most 4 zones)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    allx = series[series.ecosystem == "all"]
    small = [lv for lv, g in allx.groupby("zone_level", sort=False) if g.zone_id.nunique() <= 4]
    panels = [(lv, zid) for lv in small for zid in allx[allx.zone_level == lv].zone_id.unique()][:6]
    if not panels:  # only many-zone levels: plot the first zone of the first level
        panels = [tuple(allx[["zone_level", "zone_id"]].iloc[0])]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    for ax, (lv, zid) in zip(axes[0], panels):
        g = allx[(allx.zone_level == lv) & (allx.zone_id == zid)].sort_values("year")
        ax.plot(g.year, g.carbon_stock / 1e6, "o-", color="#238443", label="stock (Tg C)")
        if "carbon_stock_ci_low" in g:
            ax.fill_between(g.year, g.carbon_stock_ci_low / 1e6, g.carbon_stock_ci_high / 1e6,
                            color="#238443", alpha=0.2, label="stock 95 % interval")
        for _, r in g.iterrows():
            if r.basis == "scenario":
                ax.annotate("scenario", (r.year, r.carbon_stock / 1e6), fontsize=7,
                            textcoords="offset points", xytext=(0, 6), ha="center")
        ax.set_ylabel("carbon stock, Tg C")
        ax.set_title(f"{lv}: {g.zone_name.iloc[0]}", fontsize=10)
        twin = ax.twinx()
        years = g.year.to_numpy()
        start, end, rate = years[:-1], years[1:], g.net_sink.to_numpy()[1:] / 1e6
        twin.bar((start + end) / 2, rate, width=0.9 * (end - start), color="#2166ac", alpha=0.35,
                 label="net sink of each period (Tg CO2/yr)")
        ax.set_xticks(years)
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        twin.axhline(0, color="grey", lw=0.5)
        twin.set_ylabel("net sink, Tg CO2 yr-1 (+ = sink)")
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(f"sinks run '{cfg['run']['name']}': carbon stock and net sink over time", fontsize=10)
    fig.tight_layout()
    save_figure(fig, paths.time_series_plot(), paths.time_series_plot().with_suffix(".svg"))


def write_summary_plot(cfg: dict, df: pd.DataFrame, paths: RunPaths) -> None:
    """PNG: map of the last period's net sink and stock by ecosystem per epoch (first level)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rasterio
    from matplotlib.colors import TwoSlopeNorm

    epochs = cfgmod.epochs(cfg)
    y0, y1 = epochs[-2].year, epochs[-1].year
    level = cfg["grid"]["clip_to"] or zone_levels(cfg)[0]
    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [1, 1.2]})
    sink_path = paths.output("net_sink", y0=y0, y1=y1)
    with rasterio.open(sink_path) as src:
        scale = max(1, int(np.ceil(max(src.width, src.height) / 1200)))
        data = src.read(1, out_shape=(src.height // scale or 1, src.width // scale or 1), masked=True)
        bounds = src.bounds
    lim = float(np.nanpercentile(np.abs(data.compressed()), 99)) if data.count() else 1.0
    lim = lim or 1.0
    im = ax_map.imshow(data, cmap="RdBu", norm=TwoSlopeNorm(0, -lim, lim),
                       extent=(bounds.left, bounds.right, bounds.bottom, bounds.top))
    fig.colorbar(im, ax=ax_map, shrink=0.7, label="net sink, Mg CO2 ha-1 yr-1 (+ = sink)")
    basis = "SCENARIO" if cfgmod.epoch(cfg, y1).basis == "scenario" else "observed"
    ax_map.set_title(f"Net carbon sink {y0}-{y1} ({basis})")
    ax_map.set_xticks([]), ax_map.set_yticks([])
    sub = df[(df.zone_level == level) & (df.quantity == "carbon_stock") & (df.ecosystem != "all")
             & (df.method == "stock_difference")]
    pivot = sub.groupby(["year_start", "ecosystem"])["value"].sum().unstack(fill_value=0) / 1e6
    bottom = np.zeros(len(pivot))
    from sinks.landcover import ECOSYSTEM_CODES, ECOSYSTEM_COLOURS
    labels = [f"{y}{' (scenario)' if cfgmod.epoch(cfg, y).basis == 'scenario' else ''}" for y in pivot.index]
    for eco in pivot.columns:
        colour = np.array(ECOSYSTEM_COLOURS.get(ECOSYSTEM_CODES.get(eco, 10), (128, 128, 128, 255))) / 255
        ax_bar.bar(labels, pivot[eco], bottom=bottom, label=eco, color=colour)
        bottom += pivot[eco].values
    ax_bar.set_ylabel("carbon stock, Tg C (AGB + BGB + DOM + SOC 0-30 cm)")
    ax_bar.set_title(f"Carbon stock by ecosystem, zone level '{level}'")
    ax_bar.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"sinks run '{cfg['run']['name']}'", fontsize=11)
    fig.tight_layout()
    save_figure(fig, paths.summary_plot())


def write_attribution_plot(cfg: dict, attribution: pd.DataFrame, paths: RunPaths) -> None:
    """PNG: which density parameters drive the uncertainty of the region's latest stock and sink
    (variance shares; where new plots would cut the uncertainty most)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    level = cfg["grid"]["clip_to"] or zone_levels(cfg)[0]
    epochs = cfgmod.epochs(cfg)
    panels = [("carbon_stock", epochs[-1].year, epochs[-1].year,
               f"carbon stock {epochs[-1].year}"),
              ("net_sink", epochs[-2].year, epochs[-1].year,
               f"net sink {epochs[-2].year}-{epochs[-1].year}")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (quantity, y0, y1, title) in zip(axes, panels):
        sub = attribution[(attribution.zone_level == level) & (attribution.quantity == quantity)
                          & (attribution.year_start == y0) & (attribution.year_end == y1)]
        sub = sub.groupby(["parameter_class", "parameter_pool"])["variance_share"].sum()
        top = sub.sort_values().tail(10)
        ax.barh([f"{c} / {p}" for c, p in top.index], 100 * top.to_numpy(), color="#4c72b0")
        ax.set_xlabel("share of the variance, %")
        ax.set_title(f"{title}, zone level '{level}'", fontsize=10)
    fig.suptitle(f"sinks run '{cfg['run']['name']}': what drives the uncertainty "
                 "(first-order Sobol indices of the density parameters)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, paths.attribution_plot())

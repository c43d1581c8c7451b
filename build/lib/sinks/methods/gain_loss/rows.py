"""Gain-loss zone rows: net sink, gross removals and emissions per zone and class at each
period's end (IPCC 2006 Vol.4 Ch.2 Eq. 2.7-2.16, 2.25), with the wetland rule the area by
class (lake open water apart) and CH4, each with its registry uncertainty."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from sinks.landcover import apply_lut
from sinks.methods.gain_loss.classes import gain_loss_compact, inundation, strata_map
from sinks.methods.gain_loss.rates import (LAKE, RATE_PARTS, ch4_rate, forest_indicators, gain_loss_names,
                                           gain_loss_rate_vectors, n_soil_strata, strata_levels,
                                           stratified_rates)
from sinks.propagation import density_uncertainty, registry_uncertainty
from sinks.zone_rows import Accounts, class_rows, frame

METHOD = "gain_loss"
# quantity -> rate key; those of RATE_PARTS are pair and history rate tables
RATE_KEYS = {"net_sink": "net", "gross_removals": "removals", "gross_emissions": "emissions",
             "net_sink_remaining": "net_remaining", "net_sink_harvest": "net_harvest",
             "net_sink_conversion": "net_conversion",
             "net_sink_soil": "net_soil",
             "ch4_emissions_co2e": "ch4", "net_sink_with_ch4": "net_with_ch4"}
TABLE_KEYS = {q: k for q, k in RATE_KEYS.items() if k in RATE_PARTS}


@dataclass
class _Setup:
    """What the rows of every period share: the gain-loss class maps of the epochs (with the
    lake / wetland rule), their reporting classes (``lake_open_water`` appended), the strata
    map (or None) and, with the wetland rule, the inundation frequency."""

    k: int
    names: list
    onehot: np.ndarray
    compact: dict
    strata: xr.DataArray | None
    n_strata: int
    n_soil: int
    flooded: xr.DataArray | None
    managed: np.ndarray

    @classmethod
    def build(cls, acc: Accounts) -> "_Setup":
        run, cc, names = acc.run, acc.cc, acc.names
        gl_names = gain_loss_names(run, cc)
        wetland = acc.cfg["wetland"]["enabled"]
        report = np.concatenate([cc.report_class, [len(names)]]) if wetland else cc.report_class
        rnames = names + [LAKE] if wetland else names
        onehot = np.zeros((len(gl_names), len(rnames)))
        onehot[np.arange(len(gl_names)), report] = 1.0
        onehot[0] = 0.0
        compact = {ep.year: gain_loss_compact(run, cc, ep.year) for ep in acc.epochs}
        grid = compact[acc.epochs[0].year].odc.geobox
        return cls(len(gl_names), rnames, onehot, compact, strata_map(run, grid),
                   int(np.prod([len(v) for v in strata_levels(acc.cfg).values()])),
                   n_soil_strata(acc.cfg), inundation(run, grid).fillna(0.0) if wetland else None,
                   np.array([n != LAKE for n in rnames]) & (np.arange(len(rnames)) > 0))


def rows(acc: Accounts) -> tuple[pd.DataFrame, None]:
    """Every period's gain-loss rows, with uncertainty from the registry parameters and, for
    the biomass lost on conversion, the density parameters (same draws as the stock rows)."""
    gl = _Setup.build(acc)
    frames = []
    for (e0, e1), transitions in zip(acc.periods, acc.transitions):
        r, c = _period_rows(acc, gl, e0.year, e1.year, transitions)
        df, _ = density_uncertainty(acc.cfg, frame(r), [None] * len(r), acc.params)
        groups = {}
        for quantity, key in RATE_KEYS.items():
            pick = [i for i, x in enumerate(r) if x["quantity"] == quantity]
            if pick:
                groups[key] = (np.array(pick, dtype="int64"), np.array([c[i] for i in pick]))
        registry_uncertainty(acc.cfg, acc.run.registry, df, groups,
                             lambda reg, y0=e0.year, y1=e1.year: gain_loss_rate_vectors(acc.run, acc.cc, y0, y1, reg),
                             "with the same draws of the densities lost on conversion", batched=True)
        frames.append(df)
    return pd.concat(frames, ignore_index=True), None


def _period_rows(acc: Accounts, gl: _Setup, y0: int, y1: int, transitions: dict):
    """Gain-loss rows of a period: net sink, gross removals and emissions per zone and class at
    the period's end, Σ area(pair) × rate(pair) + Σ area(history) × rate(history) (the SOC of
    conversions at earlier epochs still moving, Eq. 2.25); with the wetland rule also the
    area by class, lake open water as its own class left out of the 'all' rows, and with CH4
    ``ch4_emissions_co2e`` and ``net_sink_with_ch4``. Returns rows, their coefficient vectors
    over the rates (pairs, then history codes; :func:`gain_loss_rate_vectors`)."""
    run, cfg, area = acc.run, acc.cfg, acc.area
    k, onehot, compact, strata = gl.k, gl.onehot, gl.compact, gl.strata
    wet = cfg["wetland"]
    n_strata, n_soil = gl.n_strata, gl.n_soil
    if wet["enabled"] or strata is not None:
        values = {"area": area, **({"flooded": area * gl.flooded} if wet["ch4"] else {})}
        maps = [compact[y0], compact[y1]] if strata is None else [strata, compact[y0], compact[y1]]
        sizes = [k, k] if strata is None else [n_strata, k, k]
        pairs = acc.totals(maps, sizes, values)
    else:  # the gain-loss classes are the compact classes: reuse the transition areas
        pairs = {lv: {"area": t} for lv, t in transitions.items()}
    hist = run.open_on_grid(run.paths.conversion_history(y0), compact[y0].odc.geobox)
    n_hist = len(run.epochs) * k * k
    if strata is None:
        history = acc.totals([hist, compact[y1]], [n_hist, k], {"area": area})
    else:  # history rates depend on the (soil, climate, management) stratum only
        soil = apply_lut(strata, (np.arange(n_strata) % n_soil).astype("uint16"), 0)
        history = acc.totals([soil, hist, compact[y1]], [n_soil, n_hist, k], {"area": area})
    rates = stratified_rates(run, acc.cc, y0, y1)
    indicators = forest_indicators(gain_loss_names(run, acc.cc))
    n_forest = n_strata // n_soil
    ch4 = ch4_rate(run) if wet["ch4"] else 0.0  # Mg CO2e ha-1 yr-1 of land flooded all year
    ok = onehot.any(axis=1)
    res, coef, keep = {}, {}, {}
    for lv in pairs:
        # [zone, stratum, class t0, class t1] and [zone, soil-climate-management stratum,
        # history code, class t1]
        t = pairs[lv]["area"].reshape(-1, n_strata, k, k) * np.outer(ok, ok)
        h = history[lv]["area"].reshape(-1, n_soil, n_hist, k) * ok
        res[lv] = {q: np.einsum("zsab,sab->zb", t, rates[key]) @ onehot
                   + np.einsum("zshb,sh->zb", h, rates[f"history_{key}"][:n_soil]) @ onehot
                   for q, key in TABLE_KEYS.items()}
        z = t.shape[0]
        # coefficients over gain_loss_rate_vectors: pair areas of each soil stratum (every
        # forest level at the default rates), the forest levels' areas where their gain and
        # removals deltas enter, the history areas
        tf = t.reshape(z, n_forest, n_soil, k, k)
        pairs_c = np.einsum("zfqab,bc->zcqab", tf, onehot).reshape(z, -1, n_soil * k * k)
        hist_c = np.einsum("zshb,bc->zcsh", h, onehot).reshape(z, -1, n_soil * n_hist)
        coef[lv] = {}
        for q, key in TABLE_KEYS.items():
            g, r = indicators[key]
            coef[lv][q] = np.concatenate([pairs_c, np.einsum("zfqab,ab,bc->zcf", tf, g, onehot),
                                          np.einsum("zfqab,ab,bc->zcf", tf, r, onehot), hist_c], axis=2)
        full = coef[lv]["net_sink"]
        by_class = t.sum(axis=(1, 2)) @ onehot
        keep[lv] = by_class > 0
        if wet["enabled"]:
            res[lv]["area"] = by_class
        if wet["ch4"]:
            per_class = np.where(np.array(gl.names) == "wetland", ch4, 0.0)
            flooded = pairs[lv]["flooded"].reshape(-1, n_strata, k, k).sum(axis=(1, 2))
            res[lv]["ch4_emissions_co2e"] = (flooded @ onehot) * per_class
            res[lv]["net_sink_with_ch4"] = res[lv]["net_sink"] + res[lv]["ch4_emissions_co2e"]
            ch4_coef = ((flooded @ onehot) * (per_class != 0))[:, :, None]  # × the CH4 rate
            coef[lv].update(ch4_emissions_co2e=ch4_coef,
                            net_sink_with_ch4=np.concatenate([full, ch4_coef], axis=2))
    out, row_coefs = class_rows(res, coef, acc.tables, gl.names, y0, y1, METHOD,
                                run.period_basis(y0, y1), keep, gl.managed)
    if wet["synthetic"]:  # rows that rest on the inundation layer say so
        for r in out:
            if r["ecosystem"] == LAKE or r["quantity"] in ("area", "ch4_emissions_co2e", "net_sink_with_ch4"):
                r["basis"] += "; synthetic inundation"
    return out, row_coefs

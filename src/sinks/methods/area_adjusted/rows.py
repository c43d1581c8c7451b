"""Area-adjusted zone rows: stocks of an assessed epoch and sinks of an assessed period with
the error-adjusted areas of a reference sample as activity data (Olofsson et al. 2014), with the
sampling error carried into both IPCC approaches."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from sinks.accuracy import (assess_class_map, error_matrix, reference_codes, sample_map,
                            stratified_area_estimate, stratified_totals)
from sinks.constants import C_TO_CO2, POOLS
from sinks.errors import InputDataError
from sinks.io.tables import write_csv
from sinks.io.vectors import read_points
from sinks.methods.gain_loss.rates import gain_loss_rate_draws, stratified_rates
from sinks.propagation import monte_carlo, stratified_bootstrap_means
from sinks.uncertainty import Z95, interval95
from sinks.zone_rows import Accounts, row
from sinks.zones import zonal_totals

log = logging.getLogger(__name__)


def rows(acc: Accounts) -> tuple[pd.DataFrame, None]:
    """The area-adjusted rows the config asks for: an epoch (``accuracy_assessment.year``) or,
    with ``year_end``, the period of a change map."""
    if acc.cfg["uncertainty"]["accuracy_assessment"]["year_end"] is None:
        return epoch_rows(acc), None
    return period_rows(acc), None


def epoch_rows(acc: Accounts) -> pd.DataFrame:
    """Rows of the assessed epoch with error-adjusted class areas as activity data (method
    ``stock_difference_area_adjusted``), and ``accuracy_assessment_<year>.csv``.

    Olofsson et al. (2014) give the adjusted area Â_k and its SE for each map class over the
    whole map; each zone's mapped area of class k is scaled by ρ_k = Â_k / A_k (a ratio
    allocation: region totals are exact, a zone's share of the reallocated area is assumed
    proportional to its mapped area). Uncertainty: ρ_k ~ N(ρ_k, SE_k / A_k), independent of
    the densities; Approach 1 adds the two variance terms (Eq. 3.1 for each area × density
    product, Eq. 3.2 for the sum); Monte Carlo draws both.
    """
    cfg, paths, epochs, transitions = acc.cfg, acc.run.paths, acc.epochs, acc.transitions
    onehot, names, tables, cc, params = acc.onehot, acc.names, acc.tables, acc.cc, acc.params
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
            est = table.loc[int(code)]
            rho[j], sd_rho[j] = est["area"] / est["mapped_area"], est["area_se"] / est["mapped_area"]
    dens = sum(cc.density[p] for p in POOLS)
    mc = params is not None and monte_carlo(cfg)
    if mc:
        unc = cfg["uncertainty"]
        theta = params.draws(unc["n_draws"], unc["seed"])
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
                        var += float(params.approach1_sd((m * rho) @ params.total_weights()) ** 2)
                    sd, lo, hi, how = np.sqrt(var), value - Z95 * np.sqrt(var), value + Z95 * np.sqrt(var), "IPCC Approach 1"
                    if mc and quantity == "carbon_stock":
                        draws = (rho_draw * d_draw) @ m
                        lo, hi = (float(b[0]) for b in interval95(draws[None, :]))
                        sd, how = draws.std(ddof=1), "IPCC Approach 2 (Monte Carlo)"
                    rows.append(row(lv, z, "all" if c == "all" else names[c], quantity, year, year, value,
                                    "stock_difference_area_adjusted", "observed", sd=sd, ci_low=lo, ci_high=hi,
                                    uncertainty_pct=100 * (hi - lo) / 2 / abs(value) if value else np.nan,
                                    uncertainty_approach=f"{how}; areas from the accuracy assessment (Olofsson et al. 2014)"))
    return pd.DataFrame(rows)


def period_rows(acc: Accounts) -> pd.DataFrame:
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
    run, cfg, paths, periods, transitions = acc.run, acc.cfg, acc.run.paths, acc.periods, acc.transitions
    onehot, names, tables, cc, params = acc.onehot, acc.names, acc.tables, acc.cc, acc.params
    compact, area = acc.compact, acc.area
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
    write_csv(table.reset_index(drop=True), paths.outputs / f"accuracy_assessment_{y0}_{y1}.csv")

    valid = np.outer(onehot.any(axis=1), onehot.any(axis=1)).ravel()
    member = np.concatenate([onehot, onehot.sum(axis=1, keepdims=True)], axis=1)
    member = np.tile(member, (k, 1))  # pair (a, b) -> reporting class of b, and "all"
    dens = sum(cc.density[p] for p in POOLS)
    factor = C_TO_CO2 / years
    rates = {"stock_difference": ((dens[None, :] - dens[:, None]) * factor).ravel() * valid}
    draws = {}
    mc = monte_carlo(cfg)
    if params is not None:
        w = params.total_weights()
        w_pair = ((w[None, :, :] - w[:, None, :]) * factor).reshape(k * k, -1) * valid[:, None]
        if mc:
            d = params.draws(unc["n_draws"], unc["seed"]) @ w.T
            draws["stock_difference"] = ((d[:, None, :] - d[:, :, None]) * factor).reshape(len(d), -1) * valid
    strata = cfg["gain_loss"]["strata"]
    if "gain_loss" not in cfg["carbon"]["method"]:
        pass
    elif cfg["wetland"]["enabled"] or any(strata.values()) or i > 0:
        log.info("gain-loss rows are not re-estimated from the change-map sample: there a pixel's "
                 "rate depends on more than its transition (strata, the lake rule or conversions "
                 "before %d)", y0)
    else:  # the first period, one stratum: a pixel's rate is its transition's
        rates["gain_loss"] = stratified_rates(run, cc, y0, y1)["net"][0].ravel() * valid
        if mc:
            draws["gain_loss"] = gain_loss_rate_draws(run, cc, y0, y1)["net"][:, :k * k] * valid
    means = {method: stratified_bootstrap_means(
                 stratum, lambda j, d=d: d[j][truth, None] * member[truth], unc["n_draws"], unc["seed"] + 3)
             for method, d in draws.items()}  # the parameter draws with a bootstrap of the sample
    uniq = np.unique(stratum)
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
                var = var + params.approach1_sd(coef.reshape(-1, len(params.names))).reshape(
                    a.shape[0], member.shape[1]) ** 2
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
                    rows.append(row(lv, z, "all" if c == len(names) else names[c], "net_sink", y0, y1, v,
                                    f"{method}_area_adjusted", "observed", sd=sd[zi, c], ci_low=lo[zi, c],
                                    ci_high=hi[zi, c],
                                    uncertainty_pct=100 * (hi[zi, c] - lo[zi, c]) / 2 / abs(v) if v else np.nan,
                                    uncertainty_approach=f"{how}; activity data from the change-map "
                                                         "accuracy assessment (Olofsson et al. 2014)"))
    return pd.DataFrame(rows)


def _code(cc, compact_index: int) -> str:
    return "none" if compact_index == 0 else str(int(cc.codes[compact_index - 1]))

"""Area-adjusted zone rows: areas and stocks of an assessed epoch and sinks of an assessed period
re-estimated from a reference sample of the map (stratified totals: Cochran 1977, Olofsson et al.
2014), with the sampling error carried into both IPCC approaches."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr

from sinks.accuracy import (error_matrix, reference_codes, sample_map,
                            stratified_area_estimate, stratified_totals)
from sinks.errors import InputDataError
from sinks.io.tables import write_csv
from sinks.io.vectors import read_points
from sinks.methods.gain_loss.rates import gain_loss_rate_draws, stratified_rates
from sinks.methods.stock_difference.rows import LUC_METHOD, luc_pair_rates, pool_weights
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
    """Area and stock rows of the assessed epoch re-estimated from its reference sample (method
    ``stock_difference_area_adjusted``; ecosystem = reference class), and
    ``accuracy_assessment_<year>.csv``.

    The strata are the map classes; each point has a reference class. A zone's area of class c
    and its stock are stratified totals Σ_h A_zh ȳ_h (:func:`sinks.accuracy.stratified_totals`,
    as in :func:`period_rows`) of y = the indicator of the point's reference class (Olofsson et
    al. 2014 Eqs. 9–12) and y = that indicator × the reference class's total density. Every
    point has one reference class, so the total area is the mapped area exactly (sd 0).
    Points on pixels without densities (class 0, not reported) are left out. Uncertainty: the
    sampling variance, plus the density term for stocks (Approach 1, IPCC 2006 Vol.1 Eq. 3.2);
    Monte Carlo draws the densities with a stratified bootstrap of the sample.
    """
    cfg, paths, cc, params = acc.cfg, acc.run.paths, acc.cc, acc.params
    onehot, names, tables = acc.onehot, acc.names, acc.tables
    aa, unc = cfg["uncertainty"]["accuracy_assessment"], cfg["uncertainty"]
    year = aa["year"]
    k = onehot.shape[0]
    points = read_points(aa["samples"], aa["label_field"])
    stratum, truth = _sample_classes(acc, points, year, aa["label_field"])
    on_map = stratum > 0
    if not on_map.all():
        log.info("%d reference points on pixels without densities left out", int((~on_map).sum()))
    stratum, truth = stratum[on_map], truth[on_map]
    label = [_code(cc, c) for c in range(k)]
    whole = _map_area(acc, [year]) * onehot.any(axis=1)
    write_csv(_assessment(stratum, truth, whole, label).reset_index(),
              paths.outputs / f"accuracy_assessment_{year}.csv")

    member = np.concatenate([onehot, onehot.sum(axis=1, keepdims=True)], axis=1)[truth]
    y = {"area": member, "carbon_stock": cc.total_density()[truth, None] * member}
    coef = {}
    if params is not None:
        w = params.total_weights()
        coef["carbon_stock"] = w[truth, None, :] * member[:, :, None]
    mc = params is not None and monte_carlo(cfg)
    if mc:
        d = params.draws(unc["n_draws"], unc["seed"]) @ w.T
        boot = stratified_bootstrap_means(  # the density draws with a bootstrap of the sample
            stratum, lambda j: np.concatenate([member, d[j][truth, None] * member], axis=1),
            unc["n_draws"], unc["seed"] + 3)
        means = dict(zip(y, np.split(boot, 2, axis=2)))
    rows = []
    for lv, a in acc.epoch_areas([e.year for e in acc.epochs].index(year)).items():
        a = a * onehot.any(axis=1)  # class 0 (no data or no densities) is not reported
        est = {}
        for quantity, yq in y.items():
            value, var = _totals(a, stratum, yq, coef.get(quantity), params, label)
            sd = np.sqrt(var)
            est[quantity] = (value, sd, value - Z95 * sd, value + Z95 * sd,
                             "IPCC Approach 1 (sampling error + densities, Eq. 3.2)" if quantity in coef
                             else "sampling error of the reference sample only")
            if mc:
                est[quantity] = (value, *_spread(a, stratum, means[quantity]),
                                 f"IPCC Approach 2 (Monte Carlo, {unc['n_draws']} draws of "
                                 f"{'the densities with ' if quantity in coef else ''}"
                                 "a stratified bootstrap of the reference sample)")
        for _, z in tables[lv].iterrows():
            zi = int(z["index"])
            for c in [c for c in range(1, len(names)) if est["area"][0][zi, c] > 0] + [len(names)]:
                for quantity, (value, sd, lo, hi, how) in est.items():
                    v = float(value[zi, c])
                    rows.append(row(lv, z, "all" if c == len(names) else names[c], quantity, year, year, v,
                                    "stock_difference_area_adjusted", "observed", sd=sd[zi, c],
                                    ci_low=lo[zi, c], ci_high=hi[zi, c],
                                    uncertainty_pct=100 * (hi[zi, c] - lo[zi, c]) / 2 / abs(v) if v else np.nan,
                                    uncertainty_approach=f"{how}; areas from the accuracy assessment "
                                                         "(Olofsson et al. 2014)"))
    return pd.DataFrame(rows)


def period_rows(acc: Accounts) -> pd.DataFrame:
    """Net-sink rows of an assessed period re-estimated from a reference sample of its change
    map (methods ``land_use_change_area_adjusted`` and, with gain-loss,
    ``gain_loss_area_adjusted``; ecosystem = reference class at the period's end), and
    ``accuracy_assessment_<y0>_<y1>.csv`` (error-adjusted areas of the transitions).

    The strata are the mapped class transitions a → b; each point has a reference transition.
    A pixel's sink depends only on its transition, so a zone's sink is the stratified total
    Σ_h A_zh ȳ_h of y = the per-hectare rate of the point's reference transition
    (:func:`sinks.accuracy.stratified_totals`: Olofsson et al. 2014 with a rate in place of a
    class indicator; a zone is assumed to share the region's map errors per stratum).
    Uncertainty: the sampling variance Σ_h A_zh² s_h² / n_h; Approach 1 adds the density term of
    the land-use-change rows (IPCC 2006 Vol.1 Eq. 3.2 with the densities' covariance); Monte Carlo draws
    the parameters (densities, or registry parameters for gain-loss: the same draws as the other
    rows) together with a stratified bootstrap of the sample (units resampled within strata).
    """
    run, cfg, paths, periods, transitions = acc.run, acc.cfg, acc.run.paths, acc.periods, acc.transitions
    onehot, names, tables, cc, params = acc.onehot, acc.names, acc.tables, acc.cc, acc.params
    aa, unc = cfg["uncertainty"]["accuracy_assessment"], cfg["uncertainty"]
    y0, y1 = aa["year"], aa["year_end"]
    i = [e.year for e, _ in periods].index(y0)
    per_level, years = transitions[i], y1 - y0
    k = onehot.shape[0]
    points = read_points(aa["samples"], aa["label_field"])
    (m0, r0), (m1, r1) = (_sample_classes(acc, points, year, field)
                          for year, field in ((y0, aa["label_field"]), (y1, aa["label_field_end"])))
    stratum, truth = m0 * k + m1, r0 * k + r1
    label = [f"{_code(cc, a)}->{_code(cc, b)}" for a in range(k) for b in range(k)]
    table = _assessment(stratum, truth, _map_area(acc, [y0, y1]), label)
    table.insert(0, "to_code", [c.split("->")[1] for c in table.index])
    table.insert(0, "from_code", [c.split("->")[0] for c in table.index])
    write_csv(table.reset_index(drop=True), paths.outputs / f"accuracy_assessment_{y0}_{y1}.csv")

    valid = np.outer(onehot.any(axis=1), onehot.any(axis=1)).ravel()
    member = np.concatenate([onehot, onehot.sum(axis=1, keepdims=True)], axis=1)
    member = np.tile(member, (k, 1))  # pair (a, b) -> reporting class of b, and "all"
    rates = {LUC_METHOD: luc_pair_rates(run, cc, years).ravel() * valid}
    draws = {}
    mc = monte_carlo(cfg)
    if params is not None:
        w_pair = luc_pair_rates(run, cc, years, pool_weights(params)).reshape(k * k, -1) * valid[:, None]
        if mc:
            draws[LUC_METHOD] = params.draws(unc["n_draws"], unc["seed"]) @ w_pair.T
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
    coefs = {LUC_METHOD: w_pair[truth, None, :] * member[truth][:, :, None]} if params is not None else {}
    rows = []
    for lv, t in per_level.items():
        a = t.reshape(t.shape[0], k * k)
        adj_area, _ = stratified_totals(a, stratum, member[truth], label)
        for method, rate in rates.items():
            value, var = _totals(a, stratum, rate[truth, None] * member[truth], coefs.get(method), params, label)
            how = ("IPCC Approach 1 (sampling error + densities, Eq. 3.2)" if method in coefs
                   else "sampling error of the reference sample only")
            sd, lo, hi = np.sqrt(var), value - Z95 * np.sqrt(var), value + Z95 * np.sqrt(var)
            if method in draws:
                sd, lo, hi = _spread(a, stratum, means[method])
                how = (f"IPCC Approach 2 (Monte Carlo, {unc['n_draws']} draws of the "
                       f"{'densities' if method == LUC_METHOD else 'registry parameters'} "
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


def _sample_classes(acc: Accounts, points, year: int, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Mapped and reference compact classes of the reference points at ``year``; an
    ``InputDataError`` for a reference code without densities."""
    aa, lut = acc.cfg["uncertainty"]["accuracy_assessment"], acc.cc.lut
    mapped = lut[sample_map(points, acc.run.paths.landcover(year)).astype("int64")]
    codes = reference_codes(points, field, aa["samples"])
    known = (codes >= 0) & (codes < lut.size)
    ref = np.where(known, lut[np.clip(codes, 0, lut.size - 1)], 0)
    if (ref == 0).any():
        raise InputDataError(f"{aa['samples']}: {field} = {codes[ref == 0][0]} is not a land-cover "
                             "code with densities; give reference classes in the map's codes")
    return mapped, ref


def _map_area(acc: Accounts, years: list[int]) -> np.ndarray:
    """Area (ha) of the whole map in each combination of the years' compact classes, flattened."""
    k = acc.onehot.shape[0]
    return zonal_totals({"map": xr.ones_like(acc.area, dtype="uint8")}, {"map": 1},
                        [acc.compact[y] for y in years], [k] * len(years),
                        {"area": acc.area})["map"]["area"][1].ravel()


def _assessment(stratum: np.ndarray, truth: np.ndarray, whole: np.ndarray, label: list[str]) -> pd.DataFrame:
    """Error-adjusted areas and accuracies of the strata with area or samples (Olofsson et al.
    2014, :func:`sinks.accuracy.stratified_area_estimate`), after their mapped area."""
    cells = sorted(set(np.flatnonzero(whole)) | set(stratum) | set(truth))
    names = [label[c] for c in cells]
    table = stratified_area_estimate(error_matrix([label[c] for c in stratum], [label[c] for c in truth], names),
                                     pd.Series(whole[cells], index=names))
    table.insert(0, "mapped_area", whole[cells])
    return table


def _totals(a: np.ndarray, stratum: np.ndarray, y: np.ndarray, coef: np.ndarray | None,
            params, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Stratified totals Σ_h A_zh ȳ_h (zones, q) of the units' values ``y`` (units, q) and their
    variance: the sampling variance Σ_h A_zh² s_h² / n_h (Cochran 1977 Eq. 5.6; Olofsson et al.
    2014 Eq. 10 for an indicator) plus, with ``coef`` (units, q, parameters; y = coef @ θ), the
    parameter term ``params.approach1_sd`` of the totals' coefficients (IPCC 2006 Vol.1 Eq. 3.2:
    independent sources add)."""
    value, se = stratified_totals(a, stratum, y, labels)
    if coef is None:
        return value, se ** 2
    c, _ = stratified_totals(a, stratum, coef.reshape(len(stratum), -1), labels)
    return value, se ** 2 + params.approach1_sd(c.reshape(-1, coef.shape[2])).reshape(value.shape) ** 2


def _spread(a: np.ndarray, stratum: np.ndarray, means: np.ndarray) -> tuple[np.ndarray, ...]:
    """sd and 95 % interval (zones, q) of the totals Σ_h A_zh ȳ_h over Monte Carlo draws of the
    stratum means ``means`` (draws, strata in ``np.unique`` order, q)."""
    per_draw = np.einsum("zh,dhc->zcd", a[:, np.unique(stratum)], means)
    sd = (per_draw - per_draw[:, :, :1]).std(axis=2, ddof=1)  # 0 exactly where all draws agree
    lo, hi = (b.reshape(sd.shape) for b in interval95(per_draw.reshape(sd.size, -1)))
    return sd, lo, hi


def _code(cc, compact_index: int) -> str:
    return "none" if compact_index == 0 else str(int(cc.codes[compact_index - 1]))

"""Forest-inventory zone rows (method ``forest_inventory``, IPCC Tier 2): forest area and AGB
and BGB carbon of the inventory year from stand volume (Fang BEF), per zone, with their
uncertainty from the strata parameters (Fang a and b, the yield curves, R, CF; drawn with the
registry), and the table of every stratum per zone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinks.forest.rates import ZERO, removals_per_ha, root_shoot_id, strata_values
from sinks.forest.tables import NO_AGE_TYPES, all_strata
from sinks.forest.sources import active_strata
from sinks.io.tables import write_csv
from sinks.methods.forest.maps import forest_basis, forest_year, stratum_areas
from sinks.parameters import value
from sinks.propagation import registry_uncertainty
from sinks.zone_rows import Accounts, frame, row
from sinks.landcover import apply_lut

METHOD = "forest_inventory"
POOL_SHARE = {"carbon_stock_agb": lambda r: 1.0 / (1.0 + r), "carbon_stock_bgb": lambda r: r / (1.0 + r)}


def carbon_rates(reg, active: list) -> dict[str, np.ndarray]:
    """Per quantity, the carbon per unit of each stratum's three totals (t C per m3 of
    sub-compartment volume, per ha with that volume, per ha on the yield curve): a CF f, b CF f,
    B(curve) CF f, with f the pool's share of total biomass (1 / (1 + R) or R / (1 + R)) and
    bamboo / economic forest a = 0, b = their biomass. (…, 3 S) arrays (draw axis first)."""
    cf = value(reg, "carbon_fraction")
    strata = all_strata()
    values = strata_values(reg, strata, active)
    out = {}
    for quantity, share in POOL_SHARE.items():
        parts = []
        for s, v in zip(strata, values):
            if v is ZERO:
                parts += [np.asarray(0.0)] * 3
                continue
            f = share(value(reg, root_shoot_id(s.origin))) * cf
            curve = v.biomass
            if s.forest_type in NO_AGE_TYPES:
                a, b = 0.0, curve
            else:
                a, b = value(reg, f"fang_a_{s.forest_type}"), value(reg, f"fang_b_{s.forest_type}")
            parts += [np.asarray(a * f), np.asarray(b * f), np.asarray(curve * f)]
        out[quantity] = np.stack(np.broadcast_arrays(*parts), axis=-1)
    return out


def rows(acc: Accounts) -> tuple[pd.DataFrame, None]:
    """Forest area, AGB and BGB carbon per zone of the inventory year (ecosystem ``forest``), and
    ``forest_strata_summary.csv``. A stratum's biomass is a V + b on the pixels whose
    sub-compartment gives a volume V, its yield-curve biomass elsewhere."""
    run, cfg = acc.run, acc.cfg
    year = forest_year(cfg)
    code = run.open_on_grid(run.paths.output("forest_strata"), acc.grid)
    vol_map = run.open_on_grid(run.paths.output("forest_volume"), acc.grid)
    vol_map = vol_map.where(vol_map != vol_map.odc.nodata)
    strata = all_strata()
    n = len(strata) + 1
    given = _given_volume(run, acc, code)  # pixels whose volume is a sub-compartment's
    t = acc.totals([code], [n], {"area": acc.area, "area_v": acc.area.where(given),
                                 "va": (vol_map * acc.area).where(given)})
    basis = forest_basis(cfg)
    out, coefs = [], {q: [] for q in POOL_SHARE}
    active = active_strata(cfg)
    rates = carbon_rates(run.registry, active)
    for lv, tot in t.items():
        a_all, a_v, va = (tot[k][:, 1:] for k in ("area", "area_v", "va"))
        coef = np.stack([va, a_v, a_all - a_v], axis=-1).reshape(a_all.shape[0], -1)  # [zone, 3 S]
        for _, z in acc.tables[lv].iterrows():
            i = int(z["index"])
            if a_all[i].sum() <= 0:
                continue
            out.append(row(lv, z, "forest", "area", year, year, float(a_all[i].sum()), METHOD, basis,
                           uncertainty_approach="none: map area (no accuracy assessment)"))
            for quantity in POOL_SHARE:
                coefs[quantity].append((len(out), coef[i]))
                out.append(row(lv, z, "forest", quantity, year, year, float(coef[i] @ rates[quantity]),
                               METHOD, basis))
    df = frame(out)
    groups = {q: (np.array([p for p, _ in c], dtype="int64"), np.array([v for _, v in c]))
              for q, c in coefs.items() if c}
    registry_uncertainty(cfg, run.registry, df, groups, lambda reg: carbon_rates(reg, active),
                         "forest strata: Fang a and b, yield curves, R, CF", batched=True)
    write_csv(strata_summary(acc, t, year), run.paths.output("forest_strata_summary"))
    return df, None


def _given_volume(run, acc: Accounts, code):
    """Pixels whose volume comes from a sub-compartment (the volume map differs from the
    stratum's yield-curve volume there), as a boolean map."""
    vol = run.open_on_grid(run.paths.output("forest_volume"), acc.grid)
    vol = vol.where(vol != vol.odc.nodata)
    values = strata_values(run.registry, all_strata(), active_strata(run.cfg))
    curve = np.concatenate([[np.nan], [float(v.volume) for v in values]])
    expected = apply_lut(code, curve.astype("float32"), np.nan)
    return vol.notnull() & (np.abs(vol - expected) > 1e-3 * np.maximum(expected, 1.0))


def strata_summary(acc: Accounts, totals: dict, year: int) -> pd.DataFrame:
    """Per zone and stratum with forest: area (ha), stand volume (m3), AGB + BGB carbon (Mg C),
    biomass carbon gain and removals (Mg C yr-1) at the registry's values."""
    run = acc.run
    reg = run.registry
    strata = all_strata()
    active = active_strata(run.cfg)
    values = strata_values(reg, strata, active)
    removals = removals_per_ha(reg, strata, stratum_areas(run), values)
    rates = carbon_rates(reg, active)
    out = []
    for lv, tot in totals.items():
        a_all, a_v, va = (tot[k][:, 1:] for k in ("area", "area_v", "va"))
        for _, z in acc.tables[lv].iterrows():
            i = int(z["index"])
            for j, (s, v, rem) in enumerate(zip(strata, values, removals)):
                area = float(a_all[i, j])
                if area <= 0:
                    continue
                c = np.array([va[i, j], a_v[i, j], area - a_v[i, j]])
                carbon = sum(float(c @ rates[q][3 * j:3 * j + 3]) for q in POOL_SHARE)
                volume = float(va[i, j] + (area - a_v[i, j]) * float(v.volume))
                out.append({"zone_level": lv, "zone_id": z["zone_id"], "zone_name": z["zone_name"],
                            "year": year, "stratum": s.id, "name_zh": s.name_zh, "forest_type": s.forest_type,
                            "origin": s.origin, "age_class": s.age_class, "area_ha": area,
                            "volume_m3": volume, "biomass_carbon_MgC": carbon,
                            "gain_MgC_per_yr": area * float(v.gain_c),
                            "removals_MgC_per_yr": area * float(rem)})
    return pd.DataFrame(out)

"""The forest's age structure projected to a target year (sink potential, 碳汇潜力): every
stratum is split into one-year cohorts over its age class; each cohort ages along its type's
yield curve; planted timber stands are clear-felled at rotation age and replanted (the harvest
leaves the stand's biomass, a V + b by Fang's BEF); natural stands are not logged (China has
stopped commercial logging of natural forests since 2017) and bamboo and economic forests keep
their steady production. The annual sink of a target year is the cohorts' growth that year
minus what is felled that year, per hectare of forest of the inventory year."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sinks.forest.models import AGE_CLASSES, richards_volume
from sinks.forest.rates import stratum_values
from sinks.forest.tables import NO_AGE_TYPES, Stratum, age_bounds
from sinks.parameters import value


def rotation_age(s: Stratum) -> float:
    """Age (yr) at which a planted timber stand is felled: the first age of its mature class
    (the inventory's rotation rule: 主伐 at maturity); never for natural stands."""
    if s.origin != "planted" or s.forest_type in NO_AGE_TYPES:
        return np.inf
    return age_bounds(s.forest_type, s.origin)[2] + 1


def class_ages(s: Stratum) -> np.ndarray:
    """The whole ages of a stratum's age class (over-mature: as wide as the mature class)."""
    edges = [0, *map(int, age_bounds(s.forest_type, s.origin))]
    i = AGE_CLASSES.index(s.age_class)
    if i < 4:
        return np.arange(edges[i] + 1, edges[i + 1] + 1)
    return np.arange(edges[4] + 1, edges[4] + (edges[4] - edges[3]) + 1)


@dataclass(frozen=True)
class Cohort:
    stratum: Stratum
    age0: int  # age at the inventory year
    weight: float  # share of the forest area


def cohorts(weights: dict[Stratum, float]) -> list[Cohort]:
    """One-year cohorts of every stratum (its share spread evenly over its class ages)."""
    out = []
    for s, w in weights.items():
        if w <= 0:
            continue
        if s.forest_type in NO_AGE_TYPES:
            out.append(Cohort(s, 0, w))
            continue
        ages = class_ages(s)
        out += [Cohort(s, int(a), w / ages.size) for a in ages]
    return out


def age_in(c: Cohort, years: int, harvest: bool) -> tuple[int, bool]:
    """A cohort's age ``years`` after the inventory, and whether it is felled in that year
    (at the start of the year a stand at rotation age is felled and replanted at age 0)."""
    r = rotation_age(c.stratum) if harvest else np.inf
    age = c.age0
    felled = False
    for _ in range(years + 1):
        felled = age >= r
        age = 0 if felled else age
        if _ < years:
            age += 1
    return age, felled


def cohort_sink(reg, cohorts_: list[Cohort], years: int, harvest: bool):
    """Annual biomass carbon sink in the year ``years`` after the inventory, t C per ha of the
    cohorts' forest: Σ weight × (a (V(t + 1) − V(t)) CF − [felled] (a V(R) + b) CF), plus for
    bamboo and economic forest their production × (1 − harvest share). Arrays over draws if
    ``reg`` is a batch of draws."""
    cf = value(reg, "carbon_fraction")
    total = 0.0
    for c in cohorts_:
        s = c.stratum
        if s.forest_type in NO_AGE_TYPES:
            v = stratum_values(reg, s)
            total = total + c.weight * v.gain_c * (1.0 - v.harvest_share)
            continue
        t = s.forest_type
        curve = [value(reg, f"yield_{x}_{t}") for x in ("vmax", "k", "p")]
        a, b = value(reg, f"fang_a_{t}"), value(reg, f"fang_b_{t}")
        age, felled = age_in(c, years, harvest)
        growth = a * (richards_volume(age + 1, *curve) - richards_volume(age, *curve)) * cf
        if felled:
            growth = growth - (a * richards_volume(rotation_age(s), *curve) + b) * cf
        total = total + c.weight * growth
    return total


def planted_sink(reg, forest_type: str, years: int):
    """Annual biomass carbon sink (t C ha-1) of a stand planted ``years`` - 1 years before:
    a (V(t) − V(t − 1)) CF at age t = ``years`` (planted at age 0 in the first year)."""
    cf = value(reg, "carbon_fraction")
    curve = [value(reg, f"yield_{x}_{forest_type}") for x in ("vmax", "k", "p")]
    a = value(reg, f"fang_a_{forest_type}")
    return a * (richards_volume(years, *curve) - richards_volume(years - 1, *curve)) * cf

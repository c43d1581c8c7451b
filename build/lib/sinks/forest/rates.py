"""Per-hectare values of each forest stratum from the parameter registry (or one batch of its
Monte Carlo draws: then every value is an array over the draws): stand volume and increment on
the type's yield curve at the age class's representative age, biomass by Fang's BEF, biomass
carbon gain, and the removals (harvest, fuelwood, disturbance) that the volume statistics put
on the stratum. Formulas in :mod:`sinks.forest.models`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sinks.forest.models import (bef, class_age, disturbance_carbon, fang_biomass, growth_carbon,
                                 richards_increment, richards_volume, split_biomass)
from sinks.forest.tables import NO_AGE_TYPES, VOLUME_TYPES, Stratum, age_bounds
from sinks.parameters import value

HARVESTED_AGES = ("mature", "over_mature")  # rotation harvest (主伐) takes mature stands


def root_shoot_id(origin: str) -> str:
    """Registry id of a stratum's root-to-shoot ratio (2019 Refinement Table 4.4): planted
    conifer for planted stands, subtropical humid natural forest for natural ones."""
    return "root_shoot_plantation" if origin == "planted" else "root_shoot_natural"


def forest_parameter_ids(strata: list[Stratum]) -> list[str]:
    """The registry ids the strata need (for the checks before compute)."""
    ids = {"carbon_fraction"}
    for s in strata:
        ids.add(root_shoot_id(s.origin))
        if s.forest_type in NO_AGE_TYPES:
            ids.update({f"{s.forest_type}_biomass", f"{s.forest_type}_growth", f"{s.forest_type}_harvest_share"})
        else:
            ids.update({f"fang_a_{s.forest_type}", f"fang_b_{s.forest_type}",
                        *(f"yield_{x}_{s.forest_type}" for x in ("vmax", "k", "p"))})
    return sorted(ids)


@dataclass(frozen=True)
class StratumValues:
    """One stratum per hectare: volume (m3), increment (m3 yr-1), total biomass (t d.m.), AGB
    and BGB carbon (t C), biomass carbon gain (t C yr-1) and its share of the removals."""

    volume: object
    increment: object
    biomass: object
    agb_c: object
    bgb_c: object
    gain_c: object
    harvest_share: object  # fraction of the gain removed (bamboo, economic); 0 for stands


ZERO = StratumValues(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # a stratum of a type the run does not hold


def strata_values(reg, strata: list[Stratum], active: list[Stratum]) -> list[StratumValues]:
    """:func:`stratum_values` of each stratum, :data:`ZERO` for those not ``active``."""
    on = set(active)
    return [stratum_values(reg, s) if s in on else ZERO for s in strata]


def stratum_values(reg, s: Stratum, volume=None) -> StratumValues:
    """Per-hectare values of stratum ``s`` (``volume``: its stand volume, m3 ha-1, if known
    from the inventory; else the yield curve's at the class age)."""
    cf = value(reg, "carbon_fraction")
    r = value(reg, root_shoot_id(s.origin))
    t = s.forest_type
    if t in NO_AGE_TYPES:  # bamboo and economic forest: biomass and production per hectare
        biomass = value(reg, f"{t}_biomass")
        agb, bgb = split_biomass(biomass, r)
        return StratumValues(0.0, 0.0, biomass, agb * cf, bgb * cf, value(reg, f"{t}_growth") * cf,
                             value(reg, f"{t}_harvest_share"))
    curve = [value(reg, f"yield_{x}_{t}") for x in ("vmax", "k", "p")]
    age = class_age(age_bounds(t, s.origin), s.age_class)
    v = richards_volume(age, *curve) if volume is None else volume
    inc = richards_increment(age, *curve)
    a, b = value(reg, f"fang_a_{t}"), value(reg, f"fang_b_{t}")
    biomass = fang_biomass(v, a, b)
    agb, bgb = split_biomass(biomass, r)
    return StratumValues(v, inc, biomass, agb * cf, bgb * cf, growth_carbon(inc, a, cf), 0.0)


def removals_per_ha(reg, strata: list[Stratum], areas: np.ndarray, values: list[StratumValues]) -> list:
    """Carbon removed per hectare and year from each stratum (t C ha-1 yr-1):

    * harvest (commercial timber ``harvest_timber_volume``, m3 yr-1) from the mature and
      over-mature stands, the same volume per hectare of them, at their BEF (Eq. 2.12);
    * fuelwood (``harvest_fuelwood_volume``, m3 yr-1, whole trees) from every stand in
      proportion to its area, at its BEF (Eq. 2.13);
    * disturbance (``disturbance_area`` ha yr-1 losing ``disturbance_fd`` of their biomass)
      spread over every stand by area (Eq. 2.14);
    * bamboo and economic forest: their ``harvest_share`` of the annual production.

    ``areas``: the run region's area of each stratum (ha), which spreads the statistics."""
    cf = value(reg, "carbon_fraction")
    timber, fuel = value(reg, "harvest_timber_volume"), value(reg, "harvest_fuelwood_volume")
    dist_area, fd = value(reg, "disturbance_area"), value(reg, "disturbance_fd")
    stands = np.array([s.forest_type in VOLUME_TYPES for s in strata])
    mature = stands & np.array([s.age_class in HARVESTED_AGES for s in strata])
    a_stand, a_mature = float(areas[stands].sum()), float(areas[mature].sum())
    out = []
    for s, v, is_stand, is_mature in zip(strata, values, stands, mature):
        if v is ZERO:
            out.append(0.0)
            continue
        if not is_stand:
            out.append(np.asarray(v.gain_c) * v.harvest_share)
            continue
        a, b = value(reg, f"fang_a_{s.forest_type}"), value(reg, f"fang_b_{s.forest_type}")
        per_m3 = bef(np.maximum(v.volume, 1e-6), a, b) * cf  # t C per m3 removed
        loss = fuel / a_stand * per_m3 if a_stand else 0.0 * per_m3
        if is_mature and a_mature:
            loss = loss + timber / a_mature * per_m3
        if a_stand:
            loss = loss + disturbance_carbon(dist_area / a_stand, v.biomass, fd, cf)
        out.append(loss)
    return out

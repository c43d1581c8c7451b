"""Forest formulas, each with its source. Units: volume m3 ha-1, biomass t d.m. ha-1, carbon t C.

* Biomass from volume, continuous BEF (Fang, Wang, Liu & Xu 1996, Acta Ecol. Sin. 16:497; Fang,
  Chen, Peng, Zhao & Ci 2001, Science 292:2320, SOM): B = a V + b, B the stand's total tree
  biomass (stems, branches, leaves, roots), so BEF = B / V = a + b / V. Carbon = B x CF (IPCC 2006
  Vol.4 Eq. 2.8 with the BCEF of the stand, roots included in B). A stand's above-/below-ground
  split uses its type's root-to-shoot ratio R: AGB = B / (1 + R), BGB = B R / (1 + R).
* Growth from the volume increment (IPCC 2006 Vol.4 Eq. 2.10 with G_W = I_V x BCEF_I): with
  B = a V + b, dB/dt = a dV/dt, so the biomass carbon gain is a x I_V x CF (roots included).
* Yield curve, Chapman-Richards (Richards 1959, J. Exp. Bot. 10:290): V(t) = V_max (1 - e^(-k t))^p.
* Wood removals (IPCC 2006 Vol.4 Eq. 2.12-2.13): L = H x BCEF_R x (1 + R) x CF; here BCEF_R x (1 + R)
  is the removed stands' total biomass per m3, a + b / V at their volume.
* Disturbance (Eq. 2.14): L = A_disturbed x B_W x (1 + R) x CF x fd, with B (roots included).
* Age class of a stand from its age and the inventory's bounds for its species group and origin
  (national rules, see ``forest_age_classes.csv``).
"""

from __future__ import annotations

import numpy as np

AGE_CLASSES = ("young", "middle", "near_mature", "mature", "over_mature")  # 幼 中 近熟 成熟 过熟
NO_AGE_CLASS = "none"  # bamboo and economic forests: no age class in the inventory (degrees / stages)


def fang_biomass(volume, a, b):
    """Total stand biomass, t d.m. ha-1, from stand volume (m3 ha-1): B = a V + b (Fang et al.
    2001); 0 where the volume is 0 (no stand)."""
    v = np.asarray(volume, dtype="float64")
    return np.where(v > 0, np.asarray(a) * v + np.asarray(b), 0.0)


def bef(volume, a, b):
    """Biomass per m3 of stand volume (t d.m. m-3), roots included: a + b / V (Fang et al. 2001)."""
    return np.asarray(a) + np.asarray(b) / np.asarray(volume, dtype="float64")


def split_biomass(total, root_shoot):
    """(AGB, BGB) of a total biomass with root-to-shoot ratio R: B / (1 + R), B R / (1 + R)."""
    total = np.asarray(total, dtype="float64")
    return total / (1.0 + root_shoot), total * root_shoot / (1.0 + root_shoot)


def richards_volume(age, vmax, k, p):
    """Stand volume at ``age`` (yr) on a Chapman-Richards yield curve, m3 ha-1."""
    age = np.clip(np.asarray(age, dtype="float64"), 0.0, None)
    return np.asarray(vmax) * (1.0 - np.exp(-np.asarray(k) * age)) ** np.asarray(p)


def richards_increment(age, vmax, k, p):
    """Current annual volume increment at ``age``, m3 ha-1 yr-1: dV/dt of the yield curve,
    V_max p k e^(-k t) (1 - e^(-k t))^(p - 1)."""
    age = np.clip(np.asarray(age, dtype="float64"), 1e-9, None)
    e = np.exp(-np.asarray(k) * age)
    return np.asarray(vmax) * np.asarray(p) * np.asarray(k) * e * (1.0 - e) ** (np.asarray(p) - 1.0)


def growth_carbon(increment, a, cf):
    """Biomass carbon gain, t C ha-1 yr-1, of a volume increment (m3 ha-1 yr-1): a I_V CF."""
    return np.asarray(a) * np.asarray(increment) * np.asarray(cf)


def removals_carbon(volume_removed, stand_volume, a, b, cf):
    """Carbon of removed wood, t C (yr-1), IPCC 2006 Eq. 2.12-2.13 with BCEF_R (1 + R) = a + b / V
    of the removed stands (volume ``stand_volume``, m3 ha-1): H x (a + b / V) x CF."""
    return np.asarray(volume_removed) * bef(stand_volume, a, b) * np.asarray(cf)


def disturbance_carbon(area, biomass, fd, cf):
    """Carbon lost to disturbance, t C (yr-1), IPCC 2006 Eq. 2.14: A x B x fd x CF, with B the
    total biomass (roots included) of the disturbed stands (t d.m. ha-1) and fd the fraction lost."""
    return np.asarray(area) * np.asarray(biomass) * np.asarray(fd) * np.asarray(cf)


def age_class(age, bounds):
    """Age class of each age (yr) given the upper bounds (young, middle, near-mature, mature)
    of its species group and origin: young if age <= bounds[0], ..., over-mature above bounds[3]."""
    idx = np.searchsorted(np.asarray(bounds, dtype="float64"), np.asarray(age, dtype="float64"), side="left")
    return np.asarray(AGE_CLASSES, dtype=object)[idx]


def class_age(bounds, age_class_name: str) -> float:
    """Representative age of an age class (yr): the middle of its whole years (young <= 10:
    ages 1-10, 5.5); over-mature stands are taken at the mature bound plus half the mature
    class's width."""
    edges = [0.0, *map(float, bounds)]
    i = AGE_CLASSES.index(age_class_name)
    if i < 4:
        return (edges[i] + edges[i + 1]) / 2 + 0.5
    return edges[4] + (edges[4] - edges[3]) / 2

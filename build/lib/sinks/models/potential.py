"""Sink potential (碳汇潜力): the forest sink to come at target years from a stand growth curve.

Chapman-Richards growth (Richards 1959, J. Exp. Bot. 10:290; Pienaar & Turnbull 1973, Forest
Sci. 19:2): above-ground biomass of a stand of age t, B(t) = B_max (1 − e^(−k t))^p
(t d.m. ha-1). The annual removal in year t is the increment B(t + 1) − B(t), with roots and
carbon as in IPCC 2006 Vol.4 Eq. 2.9-2.10: × (1 + R) × CF × 44/12 (t CO2 ha-1 yr-1).
"""

from __future__ import annotations

import numpy as np

from sinks.constants import C_TO_CO2


def chapman_richards(age, b_max: float, k: float, p: float):
    """Above-ground biomass at ``age`` (yr), t d.m. ha-1."""
    age = np.asarray(age, dtype="float64")
    return b_max * (1.0 - np.exp(-k * np.clip(age, 0, None))) ** p


def annual_removal(age, b_max: float, k: float, p: float, root_shoot: float, cf: float):
    """CO2 removal of a stand during its year ``age`` -> ``age`` + 1, t CO2 ha-1 yr-1."""
    inc = chapman_richards(np.asarray(age) + 1, b_max, k, p) - chapman_richards(age, b_max, k, p)
    return inc * (1.0 + root_shoot) * cf * C_TO_CO2

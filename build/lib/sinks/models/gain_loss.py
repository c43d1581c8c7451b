"""IPCC gain-loss method for biomass, with land-use change and mineral-soil carbon.

Per hectare and year, in Mg (= t) C:

* Gain, IPCC 2006 Vol.4 Ch.2 Eq. 2.9 and 2.10: ΔC_G = G_W × (1 + R) × CF (G_W above-ground net
  growth in t d.m. ha-1 yr-1, R root-to-shoot ratio, CF carbon fraction; 2019 Refinement Vol.4
  Ch.4 Tables 4.9, 4.10, 4.4, 4.3). Applies to land remaining forest and land converted to
  forest (a new stand starts at 0 and grows at G_W).
* Losses, Eq. 2.11-2.12: wood removals L = H × BCEF_R × (1 + R) × CF, given here directly in
  t C ha-1 yr-1 (``wood_removals``) on land remaining forest.
* Conversion, Eq. 2.16: ΔC_conversion = B_after − B_before (biomass + dead organic matter
  stocks, t C ha-1), spread over the period; a new forest starts at B_after = 0.
* Net biomass change, Eq. 2.7: ΔC_B = ΔC_G − ΔC_L (+ ΔC_conversion for land converted, Eq. 2.15).
* Mineral soil, Eq. 2.25: SOC = SOC_ref × F_LU × F_MG × F_I; a change of land use moves SOC to
  its new equilibrium linearly over D = 20 years, so within a period of Δt years the annual rate
  is (SOC_new − SOC_old) / max(D, Δt).

Sign convention of the outputs: positive = net removal from the atmosphere (sink).
"""

from __future__ import annotations

import numpy as np

C_TO_CO2 = 44.0 / 12.0


def biomass_gain(gw: float, root_shoot: float, carbon_fraction: float) -> float:
    """Annual biomass carbon gain per hectare, t C ha-1 yr-1 (IPCC 2006 Vol.4 Eq. 2.9-2.10).

    ``gw``: above-ground net biomass growth, t d.m. ha-1 yr-1; ``root_shoot``: R,
    t root d.m. (t shoot d.m.)-1; ``carbon_fraction``: CF, t C (t d.m.)-1.
    """
    return gw * (1.0 + root_shoot) * carbon_fraction


def soc_stock(soc_ref, f_lu, f_mg=1.0, f_i=1.0):
    """Mineral-soil organic carbon stock 0-30 cm, t C ha-1 (IPCC 2006 Vol.4 Eq. 2.25)."""
    return soc_ref * f_lu * f_mg * f_i


def annual_soc_change(soc_before, soc_after, years: float, d: float = 20.0):
    """Annual SOC change during a period of ``years`` after a land-use change, t C ha-1 yr-1:
    (SOC_after − SOC_before) / max(D, years) (Eq. 2.25 with its D-year transition)."""
    return (np.asarray(soc_after) - np.asarray(soc_before)) / np.maximum(d, years)


def transition_rates(is_forest: np.ndarray, biomass: np.ndarray, soc: np.ndarray,
                     soc_applies: np.ndarray, gain: float, wood_removals: float, years: float,
                     d: float = 20.0, new_crop_gain: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Gross removals, gross emissions and net (t C ha-1 yr-1, all ≥ 0 except net) for every
    pair (class at t0, class at t1) of a period.

    Parameters
    ----------
    is_forest : (K,) bool
        Which classes are forest land.
    biomass : (K,) float
        Biomass + dead organic matter stock of each class, t C ha-1 (Eq. 2.16's B).
    soc : (K,) float
        Equilibrium mineral-soil stock of each class, t C ha-1 (Eq. 2.25).
    soc_applies : (K,) bool
        Classes whose soil is reported (False for open water and bare land).
    gain : float
        Forest biomass gain, t C ha-1 yr-1 (:func:`biomass_gain`).
    wood_removals : float
        Wood and fuelwood removals (and disturbance losses) on land remaining forest,
        t C ha-1 yr-1 (Eq. 2.11-2.14).
    years : float
        Length of the period, yr.
    new_crop_gain : (K,) float, optional
        Mean annual biomass gain over the period of land converted to each class at its start,
        t C ha-1 yr-1 (perennial woody crops, :func:`perennial_gain`; 0 elsewhere). Such land,
        like new forest, starts from 0 biomass (Eq. 2.16).

    Returns
    -------
    dict of (K, K) arrays: ``removals``, ``emissions``, ``net`` (removals − emissions), and the
    parts of ``net``: ``net_remaining`` (growth and harvest of land remaining in its class),
    ``net_conversion`` (biomass of land converted: loss, new growth) and ``net_soil``.

    Monte Carlo draws may be evaluated at once: ``gain``, ``wood_removals`` and ``d`` of shape (n,), ``biomass``,
    ``soc`` and ``new_crop_gain`` of shape (n, K) give (n, K, K) arrays (draw n in row n).
    """
    k = is_forest.size
    changed = ~np.eye(k, dtype=bool)
    to_forest = np.broadcast_to(is_forest[None, :], (k, k))
    growth = np.where(to_forest, np.asarray(gain)[..., None, None], 0.0)            # Eq. 2.9
    harvest = np.where(to_forest & ~changed, -np.asarray(wood_removals)[..., None, None], 0.0)  # Eq. 2.11
    crop = np.zeros(k) if new_crop_gain is None else np.asarray(new_crop_gain, dtype="float64")
    after = np.where(is_forest | (crop > 0), 0.0, biomass)  # a new stand starts from 0, then grows
    conversion = np.where(changed, (after[..., None, :] - biomass[..., :, None]) / years, 0.0)  # Eq. 2.16
    new_crop = np.where(changed, crop[..., None, :], 0.0)                            # perennial crops
    both = soc_applies[:, None] & soc_applies[None, :]
    soc_change = annual_soc_change(soc[..., :, None], soc[..., None, :], years,
                                   np.asarray(d)[..., None, None])
    soil = np.where(changed & both, soc_change, 0.0)                                 # Eq. 2.25
    terms = [growth, harvest, conversion, new_crop, soil]
    removals = sum(np.clip(t, 0, None) for t in terms)
    emissions = sum(np.clip(-t, 0, None) for t in terms)
    parts = {"net_remaining": np.where(changed, 0.0, growth), "net_harvest": harvest,
             "net_conversion": np.where(changed, growth, 0.0) + conversion + new_crop,
             "net_soil": soil}
    return {"removals": removals, "emissions": emissions, "net": removals - emissions,
            **{key: np.broadcast_to(v, removals.shape) for key, v in parts.items()}}


def perennial_gain(rate: float, cycle: float, planted, y0: float, y1: float):
    """Mean annual above-ground biomass gain over [y0, y1] of perennial woody crops planted in
    year ``planted``, t C ha-1 yr-1: they accumulate at ``rate`` (t C ha-1 yr-1) for ``cycle``
    years (IPCC 2006 Vol.4 Ch.5 Sec. 5.2.1, Tier 1, Table 5.1: warm temperate 2.1 t C ha-1 yr-1,
    63 t C ha-1 at harvest, 30 yr), so the period's rate is rate × overlap / (y1 − y0)."""
    overlap = np.clip(np.minimum(y1, np.asarray(planted, dtype="float64") + cycle) - y0, 0.0, y1 - y0)
    return rate * overlap / (y1 - y0)


def soc_ramp_rate(soc_before, soc_after, converted: float, y0: float, y1: float,
                  d: float = 20.0):
    """Mean annual SOC change over the period [y0, y1] of a conversion made in year
    ``converted`` (t C ha-1 yr-1): Eq. 2.25 moves SOC linearly from the old to the new
    equilibrium over D years, (SOC_after − SOC_before) / D for each year in
    [converted, converted + D], so the period's rate is that times the overlap / (y1 − y0).
    A conversion at y0 gives :func:`annual_soc_change`; one D or more years back gives 0."""
    overlap = np.clip(np.minimum(y1, np.asarray(converted, dtype="float64") + d) - y0, 0.0, y1 - y0)
    return (np.asarray(soc_after) - np.asarray(soc_before)) / d * overlap / (y1 - y0)


def history_code(epoch_index, before, after, k: int):
    """Conversion-history code of a pixel: (epoch index × K + class before) × K + class after;
    0 = no conversion within D years (class indexes 1..K-1, 0 = no data)."""
    return (epoch_index * k + before) * k + after


def next_history(history: np.ndarray, c0: np.ndarray, c1: np.ndarray, epoch_index: int,
                 keep: np.ndarray, k: int) -> np.ndarray:
    """Conversion history at the end of a period from the one at its start (block kernel).

    A pixel whose class changes (c0 → c1, both valid) records the conversion at the period's
    start epoch (``epoch_index``), replacing an older record; otherwise its record is kept
    while ``keep[record]`` (its D years have not run out by the period's end), else cleared.
    """
    kept = np.where(keep[history], history, 0)
    changed = (c0 != c1) & (c0 > 0) & (c1 > 0)
    new = history_code(epoch_index, c0.astype("int64"), c1.astype("int64"), k)
    out = np.where(changed, new, np.where((c0 > 0) & (c1 > 0), kept, 0))
    return out.astype(history.dtype)

"""Stand volume -> biomass with Fang et al.'s continuous biomass expansion factor.

Equation (Fang, Wang, Liu & Xu 1996, Acta Ecologica Sinica 16(5):497-508; Fang, Chen, Peng, Zhao
& Ci 2001, Science 292:2320-2322, supporting online table per forest type)::

    B = a · V + b        (equivalently BEF = B / V = a + b / V)

with V the stand volume (m³ ha⁻¹) and B the stand biomass (Mg d.m. ha⁻¹).

Status of the coefficients: **UNCONFIRMED.** The two values below are the ones quoted in
``shared/reference/parameters.md`` §6.1 (from recollection, "frequently quoted") and could not be
checked against the 2001 supporting table with the search tools available when this module was
written; the other Jiangxi forest types (evergreen broadleaf, mixed conifer-broadleaf, ...) were
not found at all and are absent. Whether Fang's B includes roots is also to be confirmed from the
paper (it is usually read as total tree biomass, in which case AGB = B / (1 + R) with the
root-to-shoot ratio R; pass ``root_shoot`` to apply that). Using any UNCONFIRMED row therefore
needs an explicit ``allow_unconfirmed=True``; a checked table can be passed as ``table``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinks.errors import InputDataError

FANG_SOURCE = ("Fang et al. 1996 Acta Ecol. Sin. 16(5); Fang et al. 2001 Science 292:2320 SOM; "
               "values as quoted in shared/reference/parameters.md 6.1")

# forest_type -> a (Mg m-3), b (Mg ha-1), status, source
FANG_BEF = pd.DataFrame(
    [("cunninghamia_lanceolata", 0.3999, 22.541, "UNCONFIRMED", FANG_SOURCE),
     ("pinus_massoniana", 0.5101, 1.0451, "UNCONFIRMED", FANG_SOURCE)],
    columns=["forest_type", "a", "b", "status", "source"]).set_index("forest_type")
ALIASES = {"chinese_fir": "cunninghamia_lanceolata", "masson_pine": "pinus_massoniana"}
MAX_VOLUME = 2000.0  # m3 ha-1; above the densest stands on Earth (~ 1500-2000 m3/ha sequoia, kauri)


def volume_to_biomass(volume, forest_type, *, table: pd.DataFrame | None = None,
                      allow_unconfirmed: bool = False, root_shoot: float | None = None,
                      source: str = "plot table", ids=None) -> np.ndarray:
    """Biomass (Mg d.m. ha⁻¹) of stands from their volume, B = a·V + b per forest type.

    Parameters
    ----------
    volume : array-like
        Stand volume, m³ ha⁻¹ (0-2000).
    forest_type : array-like of str
        One forest type per stand: a row of ``table`` (or an alias: chinese_fir, masson_pine).
    table : pandas.DataFrame, optional
        Coefficients indexed by forest type with columns a (Mg m⁻³), b (Mg ha⁻¹), status and
        source; default :data:`FANG_BEF`.
    allow_unconfirmed : bool
        Use rows whose status is UNCONFIRMED (default False: ``InputDataError``).
    root_shoot : float, optional
        Root-to-shoot ratio R (Mg Mg⁻¹). If given, B is taken as total tree biomass and
        AGB = B / (1 + R) is returned.
    source : str
        File name for messages.
    ids : array-like, optional
        Plot ids for messages (default: positions).

    Returns
    -------
    numpy.ndarray
        Biomass in Mg d.m. ha⁻¹ (above-ground if ``root_shoot`` is given).
    """
    table = FANG_BEF if table is None else table
    v = pd.to_numeric(pd.Series(np.asarray(volume, dtype=object).ravel()), errors="coerce").to_numpy(float)
    kinds = pd.Series(np.asarray(forest_type, dtype=object).ravel()).astype(str).str.strip().str.lower()
    kinds = kinds.map(lambda k: k if k in table.index else ALIASES.get(k, k))
    ids = np.arange(v.size) if ids is None else np.asarray(ids, dtype=object).ravel()
    if v.size != kinds.size:
        raise InputDataError(f"{source}: {v.size} volumes but {kinds.size} forest types")
    bad = np.flatnonzero(~np.isfinite(v) | (v < 0) | (v > MAX_VOLUME))
    if bad.size:
        raise InputDataError(f"{source}: impossible stand volume for plot(s) {ids[bad[:5]].tolist()} "
                             f"(values {v[bad[:5]].tolist()}; must be 0-{MAX_VOLUME:g} m3/ha)")
    unknown = sorted(set(kinds) - set(table.index))
    if unknown:
        raise InputDataError(f"{source}: forest type(s) {unknown} have no biomass expansion "
                             f"coefficients; use one of {sorted(table.index)} (or aliases "
                             f"{sorted(ALIASES)}), or give agb in Mg/ha directly")
    used = table.loc[sorted(set(kinds))]
    unconfirmed = used.index[used["status"].astype(str).str.upper() == "UNCONFIRMED"].tolist()
    if unconfirmed and not allow_unconfirmed:
        raise InputDataError(f"{source}: the Fang et al. B = aV + b coefficients for {unconfirmed} "
                             "are UNCONFIRMED (not checked against the 2001 Science SOM); check them "
                             "and pass a confirmed table, or opt in with allow_unconfirmed=True")
    a = table.loc[kinds, "a"].to_numpy(float)
    b = table.loc[kinds, "b"].to_numpy(float)
    biomass = a * v + b
    if root_shoot is not None:
        if not 0 <= root_shoot < 5:
            raise InputDataError(f"root_shoot = {root_shoot}: must be a ratio in [0, 5)")
        biomass = biomass / (1.0 + root_shoot)
    return biomass

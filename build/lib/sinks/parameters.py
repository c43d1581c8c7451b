"""The cited parameter registry: every factor of the gain-loss and soil models.

One CSV in the package (``sinks/data/parameters.csv``), overridable from the config's
``parameters`` section. Each entry has a value, a unit (checked against its kind with pint when
the registry loads), a source, an uncertainty with its IPCC convention, a distribution and a
confirmation status. Entries marked UNCONFIRMED are listed so that
someone can check them; using one raises ``ConfigError`` unless the config overrides its value.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import pint

from sinks.errors import ConfigError
from sinks.uncertainty import parameter_draws

UNITS = pint.UnitRegistry()
KIND_UNITS = {  # a unit of the right dimension for each kind of parameter
    "fraction": "t/t", "ratio": "t/t", "factor": "t/t", "growth": "t/ha/yr",
    "emission": "kg/ha/yr", "stock": "t/ha", "period": "yr", "rate": "1/yr",
    "bef_slope": "t/m**3", "volume": "m**3/ha", "volume_rate": "m**3/yr", "area_rate": "ha/yr",
}
# How an IPCC "± x" becomes a standard deviation (shared/reference/parameters.md §0).
SD_RULES = {
    "sd": lambda v, u, lo, hi: u,
    "pct_2sd": lambda v, u, lo, hi: abs(v) * u / 200,
    "pct_ci95": lambda v, u, lo, hi: abs(v) * u / 196,
    "range95": lambda v, u, lo, hi: (hi - lo) / 3.92,
    "none": lambda v, u, lo, hi: 0.0,
}


def registry_path():
    return resources.files("sinks").joinpath("data/parameters.csv")


def load_registry(overrides: dict | None = None) -> pd.DataFrame:
    """The registry as a DataFrame indexed by id, with the standard deviation computed (``sd``,
    in the entry's unit) and the config's overrides applied (status ``user``).

    ``overrides``: ``{id: value}`` or ``{id: {value: .., sd: .., source: ..}}``.
    Raises ``ConfigError`` for an unknown id, a non-numeric value or a unit that does not fit
    the entry's kind.
    """
    with registry_path().open(encoding="utf-8") as fh:
        reg = pd.read_csv(fh, comment="#", dtype={"id": str}).set_index("id")
    for pid, row in reg.iterrows():
        _check_unit(pid, row["unit"], row["kind"])
    reg["sd"] = [SD_RULES[r.uncertainty_type](r.value, r.uncertainty, r.low, r.high)
                 for r in reg.itertuples()]
    for pid, new in (overrides or {}).items():
        if pid not in reg.index:
            close = difflib.get_close_matches(pid, reg.index, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"parameters.{pid}: unknown parameter{hint}; `sinks parameters "
                              "CONFIG` lists them")
        new = new if isinstance(new, dict) else {"value": new}
        for key in ("value", "sd"):
            if key in new:
                try:
                    val = float(new[key])
                except (TypeError, ValueError):
                    raise ConfigError(f"parameters.{pid}.{key} = {new[key]!r}: must be a number") from None
                if key == "sd" and val < 0:
                    raise ConfigError(f"parameters.{pid}.sd = {val}: must be >= 0")
                reg.loc[pid, key] = val
        if "value" in new and "sd" not in new:
            reg.loc[pid, "sd"] = 0.0
            reg.loc[pid, "note"] = "user value without sd: no uncertainty"
        reg.loc[pid, "source"] = str(new.get("source", "user value (config parameters section)"))
        reg.loc[pid, "status"] = "user"
    return reg


def value(reg, pid: str) -> float:
    """A parameter's value; ``ConfigError`` if it is UNCONFIRMED and not overridden.

    ``reg``: the registry (:func:`load_registry`) or one of its Monte Carlo draws
    (:class:`RegistryDraw`)."""
    if isinstance(reg, RegistryDraw):
        if pid in reg.values:
            return reg.values[pid]
        reg = reg.base  # not usable in a draw: UNCONFIRMED (raises below) or unknown
    if str(reg.at[pid, "status"]).upper() == "UNCONFIRMED":
        row = reg.loc[pid]
        shown = "(no value)" if pd.isna(row["value"]) else f"{row['value']} {row['unit']}"
        raise ConfigError(f"parameters.{pid} = {shown} is UNCONFIRMED "
                          f"({row['source']}); give a checked value in the config's parameters "
                          "section before using it")
    return float(reg.at[pid, "value"])


@dataclass(frozen=True)
class RegistryDraw:
    """One Monte Carlo draw of the registry: the value of every usable (not UNCONFIRMED) entry,
    drawn or fixed, as a plain dict (a pandas scalar look-up costs ~40 µs, and the models look
    up dozens of values per draw)."""

    base: pd.DataFrame
    values: dict[str, float]
    rows: slice | None = None  # which Monte Carlo iterations these are (None: not a draw)


def spec(reg: pd.DataFrame, pid: str) -> dict:
    """A parameter's distribution (sinks.uncertainty keys), in its unit: mean and sd are the
    entry's value and sd (a ``truncnormal`` entry's after the truncation at 0)."""
    v, sd = value(reg, pid), float(reg.loc[pid, "sd"])
    if sd == 0:
        return {"dist": "constant", "value": v}
    if reg.loc[pid, "distribution"] == "truncnormal":
        return {"dist": "truncated_normal", "mean": v, "sd": sd, "low": 0.0, "high": None}
    return {"dist": "normal", "mean": v, "sd": sd}


def registry_draws(reg: pd.DataFrame, n_draws: int, seed: int, batch: int | None = None,
                   start: int = 0):
    """Monte Carlo draws of the registry (IPCC 2006 Vol.1 Ch.3 §3.2.3.2): yields draws
    ``start`` to ``n_draws`` as :class:`RegistryDraw` in which every uncertain entry that may be used (not UNCONFIRMED) is
    drawn from its distribution (:func:`sinks.uncertainty.parameter_draws`, seeded).

    With ``batch``, yields instead one :class:`RegistryDraw` per ``batch`` consecutive draws,
    whose drawn values are arrays over those draws, for models that broadcast over a leading
    draw axis (the same draws either way). The same registry and seed give the same draw of a
    parameter in every method, so methods that share one (CF, R) are correlated as they
    should be.
    """
    usable = [i for i in reg.index if str(reg.loc[i, "status"]).upper() != "UNCONFIRMED"]
    fixed = {i: float(reg.loc[i, "value"]) for i in usable}
    ids = [i for i in usable if reg.loc[i, "sd"] > 0]
    draws = parameter_draws([spec(reg, i) for i in ids], n_draws, seed, start)
    if batch:
        for b0 in range(0, len(draws), batch):
            local = slice(b0, min(b0 + batch, len(draws)))
            yield RegistryDraw(reg, {**fixed, **dict(zip(ids, draws[local].T))},
                               slice(start + local.start, start + local.stop))
        return
    for i, row in enumerate(draws):
        yield RegistryDraw(reg, {**fixed, **dict(zip(ids, row.tolist()))}, slice(start + i, start + i + 1))


def registry_sensitivities(reg: pd.DataFrame, fn) -> np.ndarray:
    """First-order sensitivities of ``fn(registry) -> array`` to every uncertain, usable (not
    UNCONFIRMED) parameter: rows (∂fn/∂θ_j) × sd_j, by central differences with a step of
    10⁻³ sd_j. The terms of IPCC Approach 1 (2006 Vol.1 Ch.3 §3.2.3.1): the sd of a linear
    combination c · fn is sqrt(Σ_j (c · row_j)²). Returns (n_params, fn size); (0, size) if no
    parameter is uncertain."""
    usable = [i for i in reg.index if str(reg.loc[i, "status"]).upper() != "UNCONFIRMED"]
    fixed = {i: float(reg.loc[i, "value"]) for i in usable}
    rows = []
    for i in (i for i in usable if reg.loc[i, "sd"] > 0):
        sd = float(reg.loc[i, "sd"])
        up = np.asarray(fn(RegistryDraw(reg, {**fixed, i: fixed[i] + 1e-3 * sd})), dtype="float64")
        down = np.asarray(fn(RegistryDraw(reg, {**fixed, i: fixed[i] - 1e-3 * sd})), dtype="float64")
        rows.append((up - down).ravel() / 2e-3)
    base = np.asarray(fn(RegistryDraw(reg, fixed))).ravel()
    return np.array(rows) if rows else np.zeros((0, base.size))


def registry_table(reg: pd.DataFrame) -> pd.DataFrame:
    """The effective registry for printing: id, value, unit, sd, convention, status, source."""
    out = reg.reset_index()[["id", "value", "unit", "sd", "uncertainty_type", "distribution",
                             "status", "source"]]
    return out.assign(sd=np.round(out["sd"].astype(float), 6))


def _check_unit(pid: str, unit: str, kind: str) -> None:
    if kind not in KIND_UNITS:
        raise ConfigError(f"parameter {pid}: unknown kind {kind!r}; use one of {sorted(KIND_UNITS)}")
    try:
        q = UNITS(str(unit))
    except Exception:  # pint raises several error types for unparsable units
        raise ConfigError(f"parameter {pid}: unit {unit!r} cannot be parsed") from None
    want = UNITS(KIND_UNITS[kind]).dimensionality
    if q.dimensionality != want:
        raise ConfigError(f"parameter {pid}: unit {unit!r} is not a {kind} (dimension {want})")

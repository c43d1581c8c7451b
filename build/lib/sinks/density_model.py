"""Densities built from the parameters they share, so that shared errors stay shared.

A density-table row may give ``derived_from``: a product of factors, each a registry id
(``sinks/data/parameters.csv``, with the config's overrides) or another row of the table
(``class/pool``), e.g. ``soc_ref_lac * f_lu_paddy`` (IPCC 2006 Vol.4 Eq. 2.25) or
``forest/agb * root_shoot_plantation`` (BGB = R × AGB, Eq. 2.8 note). Such a row has no error
of its own: in every Monte Carlo iteration it is the product of its factors' draws (IPCC 2006
Vol.1 Ch.3 §3.2.3.2: one draw of a parameter per iteration, wherever it is used), and Approach 1
uses the covariance this implies (Vol.1 Ch.3 §3.2.3.1, Eq. 3.2 with correlation terms: the
first-order loadings of each density on each independent source). So forest, shrub, grassland
and settlement SOC move together with SOC_ref (a shrub → forest soil change has no variance),
BGB and dead organic matter with the AGB they derive from, and the registry parameters (CF, R,
SOC_ref, F_LU) take the same draw here as in the gain-loss and potential rates (same registry,
seed ``seed + REGISTRY_SEED_OFFSET``). Rows without ``derived_from`` are independent sources with
their own distribution (the table's ``sd`` and ``distribution``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sinks.errors import InputDataError
from sinks.parameters import registry_draws, value
from sinks.uncertainty import parameter_draws

REGISTRY_SEED_OFFSET = 1  # registry draws use seed + 1 (sinks.propagation.registry_seed)
VALUE_TOLERANCE = 0.005  # a derived row's table value must be its product within 0.5 %


@dataclass(frozen=True)
class DensityModel:
    """The density parameters θ (table rows, in order) as functions of independent sources."""

    keys: list[tuple[object, str]]  # (class, pool) of each θ
    own: list[int]  # θ indices that are their own source
    own_specs: list[dict]  # their distributions (sinks.uncertainty keys)
    factors: dict[int, list[tuple[str, object]]]  # derived θ index -> [("row", j) | ("reg", id)]
    order: list[int]  # derived θ indices, each after the rows it uses
    registry: object  # the run's registry (sinks.parameters.load_registry)
    _drawn: dict = field(default_factory=dict, compare=False, repr=False)  # seed -> θ draws so far

    def evaluate(self, own_values: np.ndarray, reg_values: dict) -> np.ndarray:
        """θ (..., n_params) from the own rows' values (..., n_own) and the registry's
        (id -> scalar or (...) array)."""
        own_values = np.asarray(own_values, dtype="float64")
        lead = own_values.shape[:-1]
        theta = np.zeros(lead + (len(self.keys),))
        theta[..., self.own] = own_values
        for j in self.order:
            prod = np.ones(lead)
            for kind, ref in self.factors[j]:
                prod = prod * (theta[..., ref] if kind == "row" else np.asarray(reg_values[ref]))
            theta[..., j] = prod
        return theta

    def centre(self) -> tuple[np.ndarray, dict]:
        """The own rows' central values and the registry values used."""
        own = np.array([_centre(s) for s in self.own_specs])
        return own, {ref: value(self.registry, ref) for ref in self.registry_ids}

    @property
    def registry_ids(self) -> list[str]:
        return sorted({ref for fs in self.factors.values() for kind, ref in fs if kind == "reg"})

    def draws(self, n_draws: int, seed: int) -> np.ndarray:
        """Monte Carlo draws of θ, (n_draws, n_params): own rows from ``seed``, registry
        parameters as :func:`sinks.parameters.registry_draws` draws them from
        ``seed + REGISTRY_SEED_OFFSET`` (the gain-loss rates' draws). Draws are block-seeded,
        so more draws extend the earlier ones: only the new draws are made, once per seed."""
        have = self._drawn.get(seed, np.zeros((0, len(self.keys))))
        if len(have) < n_draws:
            start = len(have)
            own = (parameter_draws(self.own_specs, n_draws, seed, start) if self.own_specs
                   else np.zeros((n_draws - start, 0)))
            reg = {}
            if self.registry_ids:
                drawn = next(registry_draws(self.registry, n_draws, seed + REGISTRY_SEED_OFFSET,
                                            batch=n_draws, start=start)).values
                reg = {ref: np.broadcast_to(np.asarray(drawn[ref], dtype="float64"), (n_draws - start,))
                       for ref in self.registry_ids}
            have = self._drawn[seed] = np.concatenate([have, self.evaluate(own, reg)])
            have.flags.writeable = False  # shared by every caller of this seed
        return have[:n_draws]

    def loadings(self) -> tuple[np.ndarray, list[str]]:
        """First-order loadings (n_params, n_sources) of θ on its independent sources of error
        (∂θ/∂source × sd_source, by central differences), and the sources' names: own rows
        ``class/pool``, registry ids as they are."""
        own, reg = self.centre()
        columns, names = [], []
        for i, spec in enumerate(self.own_specs):
            sd = spec.get("sd", 0.0)
            if sd > 0:
                step = np.zeros_like(own)
                step[i] = 1e-3 * sd
                columns.append((self.evaluate(own + step, reg) - self.evaluate(own - step, reg)) / 2e-3)
                cls, pool = self.keys[self.own[i]]
                names.append(f"{cls}/{pool}")
        for ref in self.registry_ids:
            sd = float(self.registry.loc[ref, "sd"])
            if sd > 0:
                up, down = dict(reg), dict(reg)
                up[ref], down[ref] = reg[ref] + 1e-3 * sd, reg[ref] - 1e-3 * sd
                columns.append((self.evaluate(own, up) - self.evaluate(own, down)) / 2e-3)
                names.append(ref)
        if not columns:
            return np.zeros((len(self.keys), 0)), []
        return np.column_stack(columns), names


def independent_model(distributions: dict) -> DensityModel:
    """A model whose rows are all independent sources ((class, pool) -> spec), as for a table
    without ``derived_from``."""
    keys = list(distributions)
    return DensityModel(keys, list(range(len(keys))), [distributions[k] for k in keys], {}, [], None)


def density_model(distributions: dict, derivations: dict, registry, values, vary_pools,
                  path: str) -> DensityModel:
    """The model of a density table: ``distributions`` (class, pool) -> spec in table order,
    ``derivations`` (class, pool) -> factor names (``derived_from``), ``values`` the table's
    values (a DataFrame indexed by class, pool columns). Rows of pools not in ``vary_pools`` are
    held at their value. InputDataError names the row for an unknown factor, a cycle, or a
    table value that is not the product of its factors."""
    keys = list(distributions)
    index = {k: j for j, k in enumerate(keys)}
    factors = {}
    for key, names in derivations.items():
        if key[1] not in vary_pools or key not in index:
            continue
        parsed = []
        for name in names:
            if "/" in name:
                ref = tuple(name.split("/", 1))
                if ref not in index:
                    raise InputDataError(f"{path}: {key[0]}/{key[1]} derived_from {name!r}: no such "
                                         "row in the table; use class/pool of a row, or a registry id")
                parsed.append(("row", index[ref]))
            elif name in registry.index:
                parsed.append(("reg", name))
            else:
                raise InputDataError(f"{path}: {key[0]}/{key[1]} derived_from {name!r}: not a "
                                     "registry id (`sinks parameters CONFIG` lists them) nor a class/pool row")
        factors[index[key]] = parsed
    order = _evaluation_order(factors, keys, path)
    own = [j for j in range(len(keys)) if j not in factors]
    own_specs = [distributions[keys[j]] if keys[j][1] in vary_pools else
                 {"dist": "constant", "value": _centre(distributions[keys[j]])} for j in own]
    model = DensityModel(keys, own, own_specs, factors, order, registry)
    theta = model.evaluate(*model.centre())
    for j in factors:
        cls, pool = keys[j]
        table = float(values.loc[cls, pool])
        if abs(theta[j] - table) > VALUE_TOLERANCE * max(abs(table), 1e-9):
            shown = " × ".join(f"{keys[r][0]}/{keys[r][1]}" if k == "row" else r for k, r in factors[j])
            raise InputDataError(f"{path}: {cls}/{pool} = {table:g} but derived_from {shown} = "
                                 f"{theta[j]:g} (registry with the config's overrides); make the "
                                 "value the product, or drop derived_from")
    return model


def _evaluation_order(factors: dict, keys: list, path: str) -> list[int]:
    """Derived rows in an order where every row comes after the rows it uses (depth-first)."""
    order, state = [], {}

    def visit(j, chain):
        if state.get(j) == "done":
            return
        if state.get(j) == "open":
            names = " -> ".join(f"{keys[i][0]}/{keys[i][1]}" for i in chain + [j])
            raise InputDataError(f"{path}: derived_from rows form a cycle ({names}); one must be a "
                                 "value of its own")
        state[j] = "open"
        for kind, ref in factors[j]:
            if kind == "row" and ref in factors:
                visit(ref, chain + [j])
        state[j] = "done"
        order.append(j)

    for j in factors:
        visit(j, [])
    return order


def _centre(spec: dict) -> float:
    return spec.get("value", spec.get("mean", 0.0))

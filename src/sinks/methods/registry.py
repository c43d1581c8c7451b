"""The registry of carbon methods: name -> when it runs, the checks it runs before compute,
the zone rows it adds and the output kinds it owns. ``sinks validate`` runs every method's
checks (each decides from the config what applies to it); the summary adds the rows of every
enabled method, in registry order; the workflow makes the outputs whose ``method`` it is
(:data:`sinks.io.outputs.OUTPUTS`, :mod:`sinks.plan`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from sinks.io.outputs import OUTPUTS
from sinks.methods.area_adjusted import checks as area_adjusted_checks
from sinks.methods.area_adjusted import rows as area_adjusted_rows
from sinks.methods.biomass_map import checks as biomass_map_checks
from sinks.methods.biomass_map import rows as biomass_map_rows
from sinks.methods.gain_loss import checks as gain_loss_checks
from sinks.methods.gain_loss import rows as gain_loss_rows
from sinks.methods.potential import checks as potential_checks
from sinks.methods.potential import rows as potential_rows
from sinks.methods.stock_difference import rows as stock_difference_rows
from sinks.plan import PREDICATES
from sinks.run import Run
from sinks.zone_rows import Accounts, frame


@dataclass(frozen=True)
class Method:
    """A carbon method as the pipeline sees it."""

    name: str
    enabled: Callable[[dict], bool]  # from the config: does the run use this method?
    rows: Callable[[Accounts], pd.DataFrame]  # its zone rows, uncertainty columns filled
    checks: Callable[[Run], list[str]] | None = None  # before compute; lines of what was checked
    density_rows: bool = False  # rows returned as (rows, density coefficients): the summary
    #                             propagates the density parameters over them (attribution)

    @property
    def outputs(self) -> list[str]:
        """The output kinds this method owns."""
        return [k for k, s in OUTPUTS.items() if s.method == self.name]


def _rows_pair(fn):
    """Adapt a builder of (rows, density coefficients) to the registry's rows signature."""
    def rows(acc: Accounts):
        r, c = fn(acc)
        return frame(r), c
    return rows


METHODS: dict[str, Method] = {m.name: m for m in (
    # the carbon stock of every epoch: the base every method's stocks and figures start from
    Method("stock", PREDICATES["always"], _rows_pair(stock_difference_rows.stock_rows),
           density_rows=True),
    Method("stock_difference", PREDICATES["stock_difference"],
           _rows_pair(stock_difference_rows.sink_rows), density_rows=True),
    Method("gain_loss", PREDICATES["gain_loss"], gain_loss_rows.rows, gain_loss_checks.checks),
    Method("area_adjusted", lambda cfg: bool(cfg["uncertainty"]["accuracy_assessment"]),
           area_adjusted_rows.rows, area_adjusted_checks.checks),
    Method("potential", PREDICATES["potential"], potential_rows.rows, potential_checks.checks),
    Method("biomass_map", PREDICATES["biomass"], biomass_map_rows.rows, biomass_map_checks.checks),
)}


def enabled(cfg: dict) -> list[Method]:
    """The methods a config runs, in registry order."""
    return [m for m in METHODS.values() if m.enabled(cfg)]

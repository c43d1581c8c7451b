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
from sinks.methods.forest import checks as forest_checks
from sinks.methods.forest import rows as forest_rows
from sinks.methods.gain_loss import checks as gain_loss_checks
from sinks.methods.gain_loss import rows as gain_loss_rows
from sinks.methods.potential import checks as potential_checks
from sinks.methods.potential import rows as potential_rows
from sinks.methods.stock_difference import rows as stock_difference_rows
from sinks.plan import PREDICATES
from sinks.run import Run
from sinks.zone_rows import Accounts


@dataclass(frozen=True)
class Method:
    """A carbon method as the pipeline sees it."""

    name: str
    enabled: Callable[[dict], bool]  # from the config: does the run use this method?
    # its zone rows and their coefficients over the density parameters (the summary propagates
    # those), or None when the rows come with their uncertainty columns filled
    rows: Callable[[Accounts], tuple[pd.DataFrame, list | None]]
    checks: Callable[[Run], list[str]] | None = None  # before compute; lines of what was checked

    @property
    def outputs(self) -> list[str]:
        """The output kinds this method owns."""
        return [k for k, s in OUTPUTS.items() if s.method == self.name]


METHODS: dict[str, Method] = {m.name: m for m in (
    # the carbon stock of every epoch: the base every method's stocks and figures start from
    Method("stock", PREDICATES["always"], stock_difference_rows.stock_rows),
    Method("stock_difference", PREDICATES["stock_difference"], stock_difference_rows.sink_rows),
    # forest area and biomass from the inventory strata (Tier 2), and the strata table
    Method("forest_inventory", PREDICATES["forest"], forest_rows.rows, forest_checks.checks),
    Method("gain_loss", PREDICATES["gain_loss"], gain_loss_rows.rows, gain_loss_checks.checks),
    Method("area_adjusted", lambda cfg: bool(cfg["uncertainty"]["accuracy_assessment"]),
           area_adjusted_rows.rows, area_adjusted_checks.checks),
    Method("potential", PREDICATES["potential"], potential_rows.rows, potential_checks.checks),
    Method("biomass_map", PREDICATES["biomass"], biomass_map_rows.rows, biomass_map_checks.checks),
)}


def enabled(cfg: dict) -> list[Method]:
    """The methods a config runs, in registry order."""
    return [m for m in METHODS.values() if m.enabled(cfg)]

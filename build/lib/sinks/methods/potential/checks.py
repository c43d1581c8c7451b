"""Checks of the sink potential before compute: target years after the last epoch, growth
curve parameters confirmed."""

from __future__ import annotations

from sinks.errors import InputDataError
from sinks.parameters import value
from sinks.run import Run


def checks(run: Run) -> list[str]:
    """Lines describing what was checked (none when the potential is off)."""
    cfg, pot = run.cfg, run.cfg["potential"]
    if not pot["enabled"]:
        return []
    last = run.epochs[-1].year
    early = [y for y in pot["target_years"] if y <= last]
    if early:
        raise InputDataError(f"{cfg['_source']}: potential.target_years {early} are not after "
                             f"the last epoch {last}; give later years")
    if cfg["forest"]["enabled"]:  # the strata's yield curves (checked with the forest inputs)
        value(run.registry, f"yield_vmax_{pot['planted_type']}")
        return [f"potential: target years {pot['target_years']}, scenarios {pot['scenarios']}, "
                f"from the forest strata's age structure (planted: {pot['planted_type']})"]
    for pid in ("cr_bmax_plantation", "cr_k_plantation", "cr_p_plantation", "root_shoot_plantation"):
        value(run.registry, pid)
    return [f"potential: target years {pot['target_years']}, scenarios {pot['scenarios']}"]

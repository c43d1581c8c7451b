"""Checks of the gain-loss inputs before compute: every registry parameter it needs confirmed
(UNCONFIRMED refused), the strata rasters' codes mapped, the wetland inputs and CH4 factor."""

from __future__ import annotations

import itertools

from sinks.errors import InputDataError
from sinks.io.rasters import open_raster
from sinks.methods.gain_loss.classes import strata_map
from sinks.methods.gain_loss.rates import GROWTH_STRATA, PERENNIAL, ecosystem_soc, strata_levels
from sinks.models.wetland import GWP_IDS
from sinks.parameters import value
from sinks.plan import methods
from sinks.run import Run
from sinks.forest.rates import forest_parameter_ids
from sinks.forest.sources import active_strata


def checks(run: Run) -> list[str]:
    """Lines describing what was checked (gain-loss, then wetland)."""
    return _gain_loss(run) + _wetland(run)


def _gain_loss(run: Run) -> list[str]:
    cfg, reg, legend = run.cfg, run.registry, run.legend
    if "gain_loss" not in methods(cfg):
        return []
    if legend is None:
        raise InputDataError("carbon.method gain_loss needs landcover.legend (the ecosystem "
                             "of each code decides forest growth and soil factors)")
    gl = cfg["gain_loss"]
    levels = strata_levels(cfg)
    forest_ids = []
    if cfg["forest"]["enabled"]:
        forest_ids = forest_parameter_ids(active_strata(cfg)) + ["harvest_timber_volume", "harvest_fuelwood_volume",
                                                           "disturbance_area", "disturbance_fd"]
    growth_levels = [f for f in levels["forest_growth"][1:] if f in GROWTH_STRATA]
    for pid in (*GROWTH_STRATA[gl["forest_growth"]], "carbon_fraction", "soc_period_d",
                *(i for f in growth_levels for i in GROWTH_STRATA[f]), *forest_ids):
        value(reg, pid)
    classes = set(legend.values())
    for combo in itertools.product(*levels.values()):  # every stratum's SOC_ref and F factors
        ecosystem_soc(cfg, reg, dict(zip(levels, combo)), classes)
    if PERENNIAL in classes:
        value(reg, "perennial_agb_rate"), value(reg, "perennial_cycle")
    lines = []
    if cfg["forest"]["enabled"]:
        lines.append(f"gain_loss forest growth and removals by forest stratum ({len(levels['forest_growth']) - 1} "
                     f"strata; unstratified forest: {cfg['forest']['unstratified']})")
    if any(gl["strata"].values()) and strata_map(run, run.grid, forest=False) is not None:
        lines.append("gain_loss strata: " + "; ".join(
            f"{kind} {names[1:]} ({gl['strata'][kind]['raster']})"
            for kind, names in levels.items() if gl["strata"][kind]))
    lines.append(f"gain_loss: forest growth {gl['forest_growth']}, climate zone "
                 f"{gl['climate_zone']}, tillage {gl['tillage']}, input {gl['input']}, "
                 "parameters confirmed")
    return lines


def _wetland(run: Run) -> list[str]:
    cfg, reg = run.cfg, run.registry
    wet = cfg["wetland"]
    if not wet["enabled"]:
        return []
    lines = []
    for path in [wet["inundation"]] if wet["inundation"] else wet["water_masks"]:
        open_raster(path)
    if wet["ch4"]:
        ef = wet["ch4_emission_factor"]
        if ef not in reg.index or reg.loc[ef, "kind"] != "emission":
            raise InputDataError(f"{cfg['_source']}: wetland.ch4_emission_factor = {ef!r}: not "
                                 "an emission factor of the registry (`sinks parameters CONFIG`)")
        lines.append(f"wetland CH4: {ef} = {value(reg, ef)} kg CH4/ha/yr, GWP100 {wet['gwp']} "
                     f"= {value(reg, GWP_IDS[wet['gwp']])}")
    lines.append(f"wetland: open water of natural lakes where flooded >= "
                 f"{wet['open_water_threshold']} of the time")
    return lines

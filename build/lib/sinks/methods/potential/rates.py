"""Per-hectare sink-potential rates: the growth curve of each scenario and target year, from
the run's config and parameter registry (or a batch of its Monte Carlo draws)."""

from __future__ import annotations

from sinks.constants import C_TO_CO2
from sinks.errors import InputDataError
from sinks.models.potential import annual_removal
from sinks.parameters import value
from sinks.run import Run
from sinks.forest.projection import cohort_sink, cohorts, planted_sink
from sinks.forest.tables import all_strata
from sinks.methods.forest.maps import forest_year, stratum_areas


def potential_rates(run: Run, names: list[str], last_year: int, reg=None,
                    ) -> dict[tuple[str, int], dict[int, float]]:
    """Annual sink per hectare (Mg CO2 ha-1 yr-1) of each reporting class index, per
    (scenario, target year), from the growth curve (sinks.models.potential) and the registry
    (``reg``: a registry with other values, e.g. one Monte Carlo draw, or a batch of draws:
    then each rate is an array over the draws)."""
    cfg = run.cfg
    pot = cfg["potential"]
    reg = run.registry if reg is None else reg
    if cfg["forest"]["enabled"]:
        return _age_structure_rates(run, names, last_year, reg)
    curve = [value(reg, f"cr_{x}_plantation") for x in ("bmax", "k", "p")]
    r, cf = value(reg, "root_shoot_plantation"), value(reg, "carbon_fraction")
    removals = cfg["gain_loss"]["wood_removals"] * C_TO_CO2

    def forest_rates(year):
        grown = annual_removal(pot["current_age"] + year - last_year, *curve, r, cf)
        return grown - removals, grown, annual_removal(year - last_year - 1, *curve, r, cf)
    return _by_scenario(run, names, last_year, forest_rates)


def _by_scenario(run: Run, names: list[str], last_year: int, forest_rates) -> dict:
    """{(scenario, year): {class index: rate}} at each target year, from ``forest_rates(year)``
    = (managed forest, protected forest, newly planted land): business as usual and
    afforestation take the managed rate, protection the protected one, and afforestation
    adds the planted rate on the suitable classes."""
    pot = run.cfg["potential"]
    forest = names.index("forest")
    suitable = [names.index(c) for c in pot["suitable_classes"] if c in names]
    out = {}
    for year in pot["target_years"]:
        if year <= last_year:
            raise InputDataError(f"potential.target_years: {year} is not after the last epoch {last_year}")
        managed, protected, planted = forest_rates(year)
        for scenario in pot["scenarios"]:
            per_ha = {forest: protected if scenario == "protection" else managed}
            if scenario == "afforestation":
                per_ha.update({c: planted for c in suitable})
            out[(scenario, year)] = per_ha
    return out


def _age_structure_rates(run: Run, names: list[str], last_year: int, reg) -> dict:
    """Potential rates from the forest strata's age structure (sinks.forest.projection): the
    forest of the inventory year's strata map, cohort by cohort, at each target year (planted
    timber stands felled at rotation and replanted in business as usual and afforestation, none
    felled under protection); afforestation adds the suitable classes planted at the last epoch
    with ``potential.planted_type``."""
    cfg, pot = run.cfg, run.cfg["potential"]
    areas = stratum_areas(run)
    weights = dict(zip(all_strata(), areas / areas.sum()))
    groups = cohorts(weights)
    start = forest_year(cfg)

    def forest_rates(year):
        return (cohort_sink(reg, groups, year - start, harvest=True) * C_TO_CO2,
                cohort_sink(reg, groups, year - start, harvest=False) * C_TO_CO2,
                planted_sink(reg, pot["planted_type"], year - last_year) * C_TO_CO2)
    return _by_scenario(run, names, last_year, forest_rates)

"""The plan of a run: which outputs its config asks for, and which rule makes each.

Built from the output registry (:data:`sinks.io.outputs.OUTPUTS`): each kind names its rule,
its ``created_if`` predicate (:data:`PREDICATES`) and its ``each`` expansion
(:data:`INSTANCES`). The Snakefile's ``rule all`` is :func:`targets`, each rule's outputs are
:func:`rule_outputs`, and the tests run the stages in :func:`stage_order`.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

from sinks import config as cfgmod
from sinks.constants import REGION_LEVEL
from sinks.inputs import configured_grid, resolve_densities, run_grid
from sinks.io.outputs import OUTPUTS
from sinks.io.tables import density_distributions, read_densities
from sinks.paths import RunPaths
from sinks.tiles import tiling
from sinks.forest.tables import shares_path


@dataclass(frozen=True)
class Rule:
    """A workflow rule: its wildcards and the stage function it runs ("module:function",
    imported when the rule runs, so a stage pays only for the libraries it uses)."""

    wildcards: tuple[str, ...]
    function: str
    about: str = ""  # the command's help line

    def load(self):
        """The stage function: ``f(run, **wildcards)``."""
        module, name = self.function.split(":")
        return getattr(importlib.import_module(module), name)


_M = "sinks.methods."
# Rules in an order that runs every rule after the rules it reads from.
RULES: dict[str, Rule] = {
    "write_run_config": Rule((), "sinks.prepare:write_run_config",
        "Write run_config.yaml (the resolved config)."),
    "rasterize_zones": Rule((), "sinks.prepare:rasterize_zones",
        "Rasterize every zone level onto the run grid."),
    "align_landcover": Rule(("year",), "sinks.prepare:align_landcover",
        "Check an observed epoch and align it to the run grid."),
    "make_scenario": Rule(("year",), "sinks.prepare:make_scenario",
        "Derive a SCENARIO epoch from an earlier one."),
    "classify_ecosystem": Rule(("year",), "sinks.prepare:classify_ecosystem",
        "Write ecosystem_<year>.tif."),
    "map_inundation": Rule((), _M + "gain_loss.maps:map_inundation",
        "Write inundation_frequency.tif on the run grid (wetland section)."),
    "track_conversions": Rule(("year",), _M + "gain_loss.maps:track_conversions",
        "Write interim/conversion_history_<year>.tif (conversions of the last D years)."),
    "extract_features": Rule(("year",), _M + "biomass_map.maps:extract_features",
        "Write interim/index_<NAME>_<year>.tif from the epoch's reflectance scenes."),
    "train_biomass": Rule((), _M + "biomass_map.maps:train_biomass",
        "Train the plot-calibrated biomass model (spatial CV, conformal interval)."),
    "predict_biomass": Rule(("year",), _M + "biomass_map.maps:predict_biomass",
        "Write agb_<year>.tif and its interval maps."),
    "map_forest_strata": Rule((), _M + "forest.maps:map_forest_strata",
        "Write forest_strata.tif, forest_volume.tif and forest_biomass_carbon.tif (inventory year)."),
    "compute_stock": Rule(("year",), _M + "stock_difference.maps:compute_stock",
        "Write carbon_stock_<year>.tif and the per-pool maps."),
    "compute_sink": Rule(("y0", "y1"), _M + "stock_difference.maps:compute_sink",
        "Write net_sink_<y0>_<y1>.tif (stock difference)."),
    "map_stock_uncertainty": Rule(("year",), _M + "stock_difference.maps:map_stock_uncertainty",
        "Write the sd and 2.5/97.5 percentile maps of an epoch's carbon stock."),
    "map_sink_uncertainty": Rule(("y0", "y1"), _M + "stock_difference.maps:map_sink_uncertainty",
        "Write the sd and 2.5/97.5 percentile maps of a period's net sink."),
    "compute_gain_loss": Rule(("y0", "y1"), _M + "gain_loss.maps:compute_gain_loss",
        "Write the gain-loss net, removals, emissions (and CH4) maps of a period."),
    "map_gain_loss_uncertainty": Rule(("y0", "y1"), _M + "gain_loss.maps:map_gain_loss_uncertainty",
        "Write the sd and 2.5/97.5 percentile maps of a period's gain-loss net sink."),
    "compute_rs_sink": Rule(("y0", "y1"), _M + "biomass_map.maps:compute_rs_sink",
        "Write rs_net_sink_<y0>_<y1>.tif (stock difference of two biomass maps)."),
    "map_potential": Rule((), _M + "potential.maps:map_potential",
        "Write the sink potential maps of every scenario and target year."),
    "mosaic": Rule(("path",), "sinks.prepare:mosaic",
        "Write one map of a tiled run (PATH in the run folder) from its tiles."),
    "zone_sums": Rule((), "sinks.summary:zone_sums",
        "Write one tile's zone sums (tiles/<tile>/interim/zone_sums.npz) of a tiled run."),
    "summarize": Rule((), "sinks.summary:summarize",
        "Write the zone tables, zones GeoPackage, time series and figures."),
    "qgis_project": Rule((), "sinks.project:qgis_project",
        "Write outputs/project.qgs (every map, grouped and styled)."),
    "report": Rule((), "sinks.report:write_report",
        "Write outputs/report.html (report.language) and the report in the other language."),
}


# Rules that run once per tile in a tiled run (grid.tile_size): per-pixel maps of run-grid inputs
TILED_RULES = ("classify_ecosystem", "track_conversions", "compute_stock", "compute_sink",
               "map_stock_uncertainty", "map_sink_uncertainty", "compute_gain_loss",
               "map_gain_loss_uncertainty", "compute_rs_sink", "map_potential", "zone_sums")


def tile_names(cfg: dict) -> list[str]:
    """The tiles of the run grid (sinks.tiles; none for an untiled run)."""
    size = cfg["grid"]["tile_size"]
    return [name for name, _, _ in tiling(run_grid(cfg), size)] if size else []


def densities_file(cfg: dict) -> str:
    """The density table a run reads (the built-in one resolved to its path)."""
    return resolve_densities(cfg)


def forest_shares_file(cfg: dict) -> Path:
    """The strata-share table a run reads (the built-in one resolved to its path)."""
    return shares_path(cfg["forest"]["shares"])


def methods(cfg: dict) -> list[str]:
    """The carbon methods the config asks for (``carbon.method``)."""
    return list(cfg["carbon"]["method"])


def uncertainty_tables(cfg: dict) -> bool:
    """Uncertainty columns, attribution and density maps need a density table with sd columns."""
    return cfg["uncertainty"]["enabled"] and _has_density_sd(resolve_densities(cfg))


@functools.lru_cache(maxsize=8)
def _has_density_sd(path: str) -> bool:
    return density_distributions(read_densities(path)) is not None


def summary_sink_kind(cfg: dict) -> str:
    """The map the summary figure shows: the gain-loss net sink, or without gain-loss the
    land-use-change component (titled so: it is never presented as the sink)."""
    return "gain_loss_net" if "gain_loss" in methods(cfg) else "net_sink"


def uses_biomass_map(cfg: dict, year: int) -> bool:
    """True when the stock of ``year`` takes AGB and BGB from the biomass map."""
    bio = cfg["biomass"]
    return bio["enabled"] and bio["use_in_stock"] and year in bio["years"]


def job_threads(cfg: dict, chunks: int) -> int:
    """Dask threads of a map job: one when the run grid (before any clip) is at most one chunk,
    where a second thread has no block to work on and two one-thread jobs run side by side;
    else two (the rules' declared threads, scaled down by Snakemake to the cores given)."""
    grid = configured_grid(cfg)
    return 1 if grid.shape.y * grid.shape.x <= chunks * chunks else 2


def zone_levels(cfg: dict) -> list[str]:
    """Zone levels of the tables; one whole-grid level 'region' when no zones are configured."""
    return [z["level"] for z in cfg["zones"]] or [REGION_LEVEL]


def feature_paths(cfg: dict, paths: RunPaths, year: int) -> dict[str, Path]:
    """Raster of each biomass feature for an epoch: the configured path, or for 'index:NAME'
    the index the extract_features rule makes from that year's scenes."""
    out = {}
    for name, src in cfgmod.feature_sources(cfg, year).items():
        index = src[len(cfgmod.INDEX_PREFIX):] if src.startswith(cfgmod.INDEX_PREFIX) else None
        out[name] = paths.index(index, year) if index else Path(src)
    return out


def _monte_carlo(cfg: dict) -> bool:
    return cfg["uncertainty"]["enabled"] and "monte_carlo" in cfg["uncertainty"]["approaches"]


PREDICATES = {  # created_if name -> whether the config asks for that output
    "always": lambda cfg: True,
    "legend": lambda cfg: bool(cfg["landcover"]["legend"]),
    "pool_maps": lambda cfg: cfg["outputs"]["pool_maps"],
    "stock_difference": lambda cfg: "stock_difference" in methods(cfg),
    "gain_loss": lambda cfg: "gain_loss" in methods(cfg),
    "method_comparison": lambda cfg: {"stock_difference", "gain_loss"} <= set(methods(cfg)),
    "inventory": lambda cfg: cfg["inventory"] is not None,
    "wetland": lambda cfg: cfg["wetland"]["enabled"],
    "wetland_ch4": lambda cfg: ("gain_loss" in methods(cfg) and cfg["wetland"]["enabled"]
                                and cfg["wetland"]["ch4"]),
    "biomass": lambda cfg: cfg["biomass"]["enabled"],
    "forest": lambda cfg: cfg["forest"]["enabled"],
    "imagery": lambda cfg: bool(cfg["imagery"]["scenes"] and cfg["imagery"]["indices"]),
    "potential": lambda cfg: cfg["potential"]["enabled"],
    "uncertainty": uncertainty_tables,
    "uncertainty_maps": lambda cfg: uncertainty_tables(cfg) and cfg["uncertainty"]["maps"],
    "stock_difference_uncertainty_maps": lambda cfg: (
        "stock_difference" in methods(cfg) and uncertainty_tables(cfg) and cfg["uncertainty"]["maps"]),
    # gain-loss uncertainty maps come from Monte Carlo draws of the registry (no density sd needed)
    "gain_loss_uncertainty_maps": lambda cfg: (
        "gain_loss" in methods(cfg) and cfg["uncertainty"]["maps"] and _monte_carlo(cfg)),
}

INSTANCES = {  # each name -> the field values of every file of a kind
    "once": lambda cfg: [{}],
    "epoch": lambda cfg: [{"year": e.year} for e in cfgmod.epochs(cfg)],
    "scenario_epoch": lambda cfg: [{"year": e.year} for e in cfgmod.epochs(cfg) if e.scenario],
    "period": lambda cfg: [{"y0": a, "y1": b} for a, b in cfgmod.periods(cfg)],
    "biomass_year": lambda cfg: [{"year": y} for y in cfg["biomass"]["years"]],
    "biomass_train_year": lambda cfg: [{"year": cfg["biomass"]["year"]}],
    "biomass_period": lambda cfg: [{"y0": a, "y1": b} for a, b in cfgmod.biomass_periods(cfg)],
    "index": lambda cfg: [{"name": n, "year": int(y)} for y in cfg["imagery"]["scenes"]
                          for n in cfg["imagery"]["indices"]],
    "potential": lambda cfg: [{"scenario": s, "year": y} for s in cfg["potential"]["scenarios"]
                              for y in cfg["potential"]["target_years"]],
    "other_language": lambda cfg: [{"lang": "en" if cfg["report"]["language"] == "zh" else "zh"}],
}


def kinds(cfg: dict, rule: str | None = None) -> list[str]:
    """The output kinds the config asks for (of one rule, if given), in registry order."""
    return [k for k, s in OUTPUTS.items()
            if (rule is None or s.rule == rule) and PREDICATES[s.created_if](cfg)]


def targets(cfg: dict, paths: RunPaths) -> list[Path]:
    """Every file the run delivers: the resolved config, then each kind's instances."""
    out = [paths.run_config()]
    for kind in kinds(cfg):
        out += [paths.output(kind, **f) for f in INSTANCES[OUTPUTS[kind].each](cfg)]
    return out


def rule_outputs(cfg: dict, paths: RunPaths, rule: str) -> list[str]:
    """The output patterns of a rule: its wildcards kept as ``{name}``, other fields expanded
    (e.g. map_potential's scenarios and years)."""
    wild = {w: f"{{{w}}}" for w in RULES[rule].wildcards}
    out = []
    for kind in kinds(cfg, rule):
        for f in INSTANCES[OUTPUTS[kind].each](cfg):
            name = str(paths.output(kind, **{**f, **{k: v for k, v in wild.items() if k in f}}))
            if name not in out:
                out.append(name)
    return out


def stage_order(cfg: dict) -> list[tuple[str, dict]]:
    """Every (rule, wildcards) job of the run in an order that respects their inputs: the
    rules with outputs in the registry, plus the preparation and history rules."""
    years = [e.year for e in cfgmod.epochs(cfg)]
    jobs = {"write_run_config": [{}], "rasterize_zones": [{}],
            "align_landcover": [{"year": e.year} for e in cfgmod.epochs(cfg) if e.path is not None],
            "track_conversions": ([{"year": y} for y in years] if PREDICATES["gain_loss"](cfg) else [])}
    for kind in kinds(cfg):
        spec = OUTPUTS[kind]
        for f in INSTANCES[spec.each](cfg):
            job = {w: f[w] for w in RULES[spec.rule].wildcards}
            jobs.setdefault(spec.rule, [])
            if job not in jobs[spec.rule]:
                jobs[spec.rule].append(job)
    return [(rule, job) for rule in RULES for job in jobs.get(rule, [])]

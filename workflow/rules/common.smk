# Helpers shared by the rules (no rules here).
# Each rule's `params` carries a digest of the config sections its outputs depend on, so that
# Snakemake's params rerun-trigger recomputes exactly what a config change affects; input files
# are tracked by modification time.

import os
import shlex
import sys

CHUNKS = 2048
CONDA_ENV = "../../environment.yml"  # the software of every rule (used with --use-conda)


def stage_shell(rule):
    """The shell command of a rule: its ``sinks`` stage command (sinks.plan.RULES) with the
    rule's wildcards, log and threads, through sinks.stage_client (forked from the warm stage
    server of a local ``sinks run``, else ``python -m sinks`` itself, e.g. on a cluster). The Python, config and run folder are quoted for the
    shell (and their braces escaped for Snakemake's formatting), so a path with spaces,
    quotes or ``$(...)`` in it is passed as one argument and never run. The config is named
    relative to the working directory, so a run folder moved with its config does not look
    like a changed command to Snakemake's provenance check."""
    def fixed(text):
        return shlex.quote(str(text)).replace("{", "{{").replace("}", "}}")

    wildcards = "".join(f" --{w} {{wildcards.{w}}}"
                        for w in plan.RULES[rule].wildcards + (("tile",) if tiled(rule) else ()))
    return (f"{fixed(sys.executable)} -m sinks.stage_client --log-file {{log}} {rule.replace('_', '-')} "
            f"--config {fixed(os.path.relpath(CFG['_source']))} --run-dir {fixed(RUN)}{wildcards} "
            f"--threads {{threads}} --chunks {CHUNKS}")

MAP_THREADS = plan.job_threads(CFG, CHUNKS)
TILES = plan.tile_names(CFG)  # none: an untiled run


def tiled(rule):
    """True when ``rule`` runs once per tile (sinks.tiles): its files go to tiles/<tile>/."""
    return bool(TILES) and rule in plan.TILED_RULES


def TILED(rule, files):
    """A rule's output files, in the folder of tile ``{tile}`` when the rule runs per tile
    (rule ``mosaic`` then makes each file of the run from its tiles)."""
    if not tiled(rule):
        return files
    return [str(P.tile("{tile}") / os.path.relpath(f, RUN)) for f in files]


def LOG(rule, stem, folder="logs", ext="log"):
    """A rule's log (or benchmark) file, one per tile when the rule runs per tile."""
    return f"{RUN}/{folder}/{stem}{'_{tile}' if tiled(rule) else ''}.{ext}"


wildcard_constraints:
    year=r"\d+",
    y0=r"\d+",
    y1=r"\d+",
    level=r"[A-Za-z0-9_]+",
    tile=r"r\d+c\d+",


def digest(*sections):
    return sinks_config.digest([CFG.get(s) if isinstance(s, str) else s for s in sections])


FIRST_EPOCH = str(next(iter(EPOCHS.values())).path)
# the grid, and how every map is encoded: every map rule descends from the rules that carry it,
# so changing outputs.compression rewrites every map
GRID_DIGEST = digest("grid", FIRST_EPOCH,
                     [z for z in CFG["zones"] if z["level"] == CFG["grid"]["clip_to"]],
                     {"compression": CFG["outputs"]["compression"]})
LEGEND_FILE = [CFG["landcover"]["legend"]] if str(CFG["landcover"]["legend"]).endswith(".csv") else []
DENSITIES_FILE = plan.densities_file(CFG)


def landcover_file(year):
    """Aligned land cover of an epoch: observed (aligned) or scenario (derived)."""
    ep = EPOCHS[int(year)]
    return str(P.landcover(ep.year, scenario=ep.scenario is not None))


def clip_zone_file():
    level = CFG["grid"]["clip_to"]
    return [str(P.zones(level))] if level else []


GAIN_LOSS = plan.PREDICATES["gain_loss"](CFG)
WETLAND = plan.PREDICATES["wetland"](CFG)
STRATA_FILES = [spec["raster"] for spec in CFG["gain_loss"]["strata"].values() if spec]
FOREST = plan.PREDICATES["forest"](CFG)
# the forest strata map (inventory year) that gain-loss, the potential and the summary read
FOREST_YEAR = CFG["forest"]["year"] or next(iter(EPOCHS))
FOREST_SOURCES = ([CFG["forest"]["subcompartments"]["path"]] if FOREST and CFG["forest"]["subcompartments"] else []) + (
    [CFG["forest"]["raster"]["raster"]] if FOREST and CFG["forest"]["raster"] else []) + (
    [str(plan.forest_shares_file(CFG))] if FOREST and CFG["forest"]["shares"] else [])
FOREST_STRATA = [str(P.output("forest_strata")), str(P.output("forest_volume"))] if FOREST else []


def OUT(rule, category=None):
    """A rule's outputs from the output registry (sinks.plan), as Snakemake report items."""
    files = TILED(rule, plan.rule_outputs(CFG, P, rule))
    return [report(f, category=category) for f in files] if category and not tiled(rule) else files


INUNDATION_INPUTS = ([CFG["wetland"]["inundation"]] if CFG["wetland"]["inundation"]
                     else CFG["wetland"]["water_masks"]) if WETLAND else []
INUNDATION = [str(P.output("inundation_frequency"))] if WETLAND else []


def history_inputs(year):
    """Inputs of an epoch's conversion history: the previous epoch's history and both land covers."""
    years = list(EPOCHS)
    i = years.index(int(year))
    if i == 0:
        return [landcover_file(year)]
    return [str(P.conversion_history(years[i - 1])), landcover_file(years[i - 1]), landcover_file(year)]


def biomass_map_input(year):
    """The AGB map (and its model sidecar) an epoch's stock uses, if any."""
    if not plan.uses_biomass_map(CFG, int(year)):
        return []
    return [str(P.output("agb", year=year)), str(P.biomass_model(CFG["biomass"]["year"]).with_suffix(".json"))]


def biomass_digest(year):
    """Config the stock of an epoch depends on through the biomass map (empty if unused)."""
    return digest("biomass", "parameters", "gain_loss") if plan.uses_biomass_map(CFG, int(year)) else ""


def feature_files(year):
    """The biomass features of an epoch: configured rasters or interim index files."""
    return [str(p) for p in plan.feature_paths(CFG, P, int(year)).values()]

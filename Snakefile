# sinks workflow: land-cover epochs -> carbon-stock and carbon-sink maps and zone tables.
# Run it with `sinks run CONFIG` (which validates the inputs first), or directly:
#   snakemake --cores 2 --config sinks_config=config/config.yaml
# Every rule calls the `sinks` CLI, so the same commands work by hand and on a cluster.
# What is made comes from the output registry through sinks.plan: the targets of `rule all`
# and each rule's outputs are never listed by hand here.

import os

from sinks import config as sinks_config
from sinks import plan
from sinks.paths import run_paths

# `sinks run` passes the config path in SINKS_CONFIG (no character of a path can be misread
# there; Snakemake parses --config values as YAML, where "#" or ": " would change them).
CONFIG_PATH = config.get("sinks_config") or os.environ.get("SINKS_CONFIG", "config/config.yaml")
CFG = sinks_config.load_config(CONFIG_PATH)  # schema + semantic checks, raises a one-line error
P = run_paths(CFG)
RUN = str(P.root)
EPOCHS = {e.year: e for e in sinks_config.epochs(CFG)}
PERIODS = sinks_config.periods(CFG)
LEVELS = plan.zone_levels(CFG)


include: "workflow/rules/common.smk"
include: "workflow/rules/zones.smk"
include: "workflow/rules/landcover.smk"
include: "workflow/rules/carbon.smk"
include: "workflow/rules/report.smk"
if TILES:

    include: "workflow/rules/tiles.smk"

if plan.PREDICATES["biomass"](CFG):

    include: "workflow/rules/biomass.smk"


if plan.PREDICATES["imagery"](CFG):

    include: "workflow/rules/imagery.smk"


rule all:
    default_target: True
    input:
        plan.targets(CFG, P),

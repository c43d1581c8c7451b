# sinks workflow: land-cover epochs -> carbon-stock and carbon-sink maps and zone tables.
# Run it with `sinks run CONFIG` (which validates the inputs first), or directly:
#   snakemake --cores 2 --config sinks_config=config/config.yaml
# Every rule calls the `sinks` CLI, so the same commands work by hand and on a cluster.

from sinks import config as sinks_config
from sinks.stages import feature_paths, run_paths, uses_biomass_map, zone_levels

CONFIG_PATH = config.get("sinks_config", "config/config.yaml")
CFG = sinks_config.load_config(CONFIG_PATH)  # schema + semantic checks, raises a one-line error
P = run_paths(CFG)
RUN = str(P.root)
EPOCHS = {e.year: e for e in sinks_config.epochs(CFG)}
PERIODS = sinks_config.periods(CFG)
LEVELS = zone_levels(CFG)


include: "workflow/rules/common.smk"
include: "workflow/rules/zones.smk"
include: "workflow/rules/landcover.smk"
include: "workflow/rules/carbon.smk"
include: "workflow/rules/report.smk"
if CFG["biomass"]["enabled"]:

    include: "workflow/rules/biomass.smk"


if CFG["imagery"]["scenes"] and CFG["imagery"]["indices"]:

    include: "workflow/rules/imagery.smk"


rule all:
    default_target: True
    input:
        P.run_config(),
        [P.output("ecosystem", year=y) for y in EPOCHS] if CFG["landcover"]["legend"] else [],
        [P.output("carbon_stock", year=y) for y in EPOCHS],
        [P.output("net_sink", y0=y0, y1=y1) for y0, y1 in PERIODS],
        [P.output(f"carbon_stock_{s}", year=y) for y in EPOCHS for s in UNCERTAINTY_STATS]
        if UNCERTAINTY_MAPS else [],
        [P.output(f"net_sink_{s}", y0=y0, y1=y1) for y0, y1 in PERIODS for s in UNCERTAINTY_STATS]
        if UNCERTAINTY_MAPS else [],
        [P.output(k, y0=y0, y1=y1) for y0, y1 in PERIODS for k in GAIN_LOSS_MAPS] if GAIN_LOSS else [],
        [P.output(f"gain_loss_net_{s}", y0=y0, y1=y1) for y0, y1 in PERIODS for s in UNCERTAINTY_STATS]
        if GAIN_LOSS_UNCERTAINTY_MAPS else [],
        INUNDATION,
        [P.output(k, year=y) for y in CFG["biomass"]["years"] for k in ("agb", "agb_low", "agb_high")]
        if CFG["biomass"]["enabled"] else [],
        [P.output("rs_net_sink", y0=y0, y1=y1) for y0, y1 in sinks_config.biomass_periods(CFG)],
        [P.index(n, y) for y in CFG["imagery"]["scenes"] for n in CFG["imagery"]["indices"]],
        [P.output("sink_potential", scenario=s, year=y) for s in CFG["potential"]["scenarios"]
         for y in CFG["potential"]["target_years"]] if CFG["potential"]["enabled"] else [],
        P.zonal_summary(),
        P.transitions(),
        P.time_series(),
        P.time_series_plot(),
        [P.attribution(), P.attribution_plot()] if UNCERTAINTY else [],
        P.zones_gpkg(),
        P.summary_plot(),

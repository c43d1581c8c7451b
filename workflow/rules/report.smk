# the inputs of the zone tables (rule summarize, and per tile rule zone_sums)
SUMMARY_INPUTS = dict(
    landcover=[landcover_file(y) for y in EPOCHS],
    zones=[str(P.zones(lv)) for lv in LEVELS],
    zone_files=[z["path"] for z in CFG["zones"]],
    densities=DENSITIES_FILE,
    legend=LEGEND_FILE,
    sinks=[P.output(plan.summary_sink_kind(CFG), y0=y0, y1=y1) for y0, y1 in PERIODS],
    history=[P.conversion_history(y) for y in EPOCHS] if GAIN_LOSS else [],
    inundation=INUNDATION,
    strata=(STRATA_FILES if GAIN_LOSS else []) + FOREST_STRATA,
    biomass=[P.output("agb", year=y) for y in CFG["biomass"]["years"]] if CFG["biomass"]["enabled"] else [],
    biomass_refits=[P.output("biomass_plots", year=CFG["biomass"]["year"])]
    + [f for y in CFG["biomass"]["years"] for f in feature_files(y)] if CFG["biomass"]["enabled"] else [],
    rs_sinks=[P.output("rs_net_sink", y0=y0, y1=y1) for y0, y1 in sinks_config.biomass_periods(CFG)],
    samples=[CFG["uncertainty"]["accuracy_assessment"]["samples"]]
    if CFG["uncertainty"]["accuracy_assessment"] else [],
)


rule summarize:
    """Zone tables (per level, zone, ecosystem, epoch and period), zones GeoPackage, figure."""
    input:
        **SUMMARY_INPUTS,
        tile_sums=[str(P.zone_sums(t)) for t in TILES],
    output:
        OUT("summarize", "Tables and figures"),
    params:
        carbon=digest("carbon", CFG["landcover"]["legend"], "zones"),
        uncertainty=digest("uncertainty", "gain_loss", "parameters", "biomass", "potential", "wetland", "forest"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/summarize.log",
    benchmark:
        f"{RUN}/benchmarks/summarize.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("summarize")


rule qgis_project:
    """A QGIS project of every output map and GeoPackage, grouped and styled (after summarize)."""
    input:
        [str(f) for f in plan.targets(CFG, P)
         if str(f) not in plan.rule_outputs(CFG, P, "qgis_project") + plan.rule_outputs(CFG, P, "report")],
    output:
        OUT("qgis_project", "QGIS project"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/qgis_project.log",
    benchmark:
        f"{RUN}/benchmarks/qgis_project.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        stage_shell("qgis_project")


rule report:
    """Self-contained HTML report (report.language, and the other language beside it)."""
    input:
        # every other output of the run: the report reads the tables and maps
        done=[str(t) for t in plan.targets(CFG, P) if str(t) not in plan.rule_outputs(CFG, P, "report")],
        zone_files=[z["path"] for z in CFG["zones"]],
    output:
        OUT("report", "Report"),
    params:
        report=digest("report", "zones"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/report.log",
    benchmark:
        f"{RUN}/benchmarks/report.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        stage_shell("report")

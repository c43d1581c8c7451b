BIOMASS_YEAR = CFG["biomass"]["year"]


rule train_biomass:
    """Plot-calibrated AGB model: spatial-block CV, conformal interval (plots or SYNTHETIC ones)."""
    input:
        landcover=lambda w: landcover_file(BIOMASS_YEAR),
        features=list(CFG["biomass"]["features"].values()),
        plots=[CFG["biomass"]["plots"]] if CFG["biomass"]["plots"] else [],
    output:
        model=P.interim / f"biomass_model_{BIOMASS_YEAR}.joblib",
        sidecar=P.interim / f"biomass_model_{BIOMASS_YEAR}.json",
        cv=report(P.outputs / f"biomass_cv_{BIOMASS_YEAR}.csv", category="Biomass"),
        figure=report(P.outputs / f"biomass_cv_{BIOMASS_YEAR}.png", category="Biomass"),
        plots=P.outputs / f"biomass_plots_{BIOMASS_YEAR}.gpkg",
    params:
        biomass=digest("biomass", "grid", CFG["landcover"]["legend"]),
    log:
        f"{RUN}/logs/train_biomass.log",
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "{SINKS} --log-file {log} train-biomass {CFG_ARGS} --threads {threads} --chunks {CHUNKS}"


rule predict_biomass:
    """AGB map and its interval maps, block by block (model sent once)."""
    input:
        model=P.interim / f"biomass_model_{BIOMASS_YEAR}.joblib",
        landcover=lambda w: landcover_file(BIOMASS_YEAR),
        features=list(CFG["biomass"]["features"].values()),
    output:
        [report(P.output(k, year=BIOMASS_YEAR), category="Biomass") for k in ("agb", "agb_low", "agb_high")],
    log:
        f"{RUN}/logs/predict_biomass.log",
    benchmark:
        f"{RUN}/benchmarks/predict_biomass.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        "{SINKS} --log-file {log} predict-biomass {CFG_ARGS} --threads {threads} --chunks {CHUNKS}"

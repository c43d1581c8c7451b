BIOMASS_YEAR = CFG["biomass"]["year"]


rule train_biomass:
    """Plot-calibrated AGB model: spatial-block CV, conformal interval (plots or SYNTHETIC ones)."""
    input:
        landcover=lambda w: landcover_file(BIOMASS_YEAR),
        features=feature_files(BIOMASS_YEAR),
        plots=[CFG["biomass"]["plots"]] if CFG["biomass"]["plots"] else [],
    output:
        model=P.biomass_model(BIOMASS_YEAR),
        sidecar=P.biomass_model(BIOMASS_YEAR).with_suffix(".json"),
        products=OUT("train_biomass", "Biomass"),
    params:
        biomass=digest({k: v for k, v in CFG["biomass"].items() if k not in ("years", "use_in_stock", "features")},
                       feature_files(BIOMASS_YEAR), "grid", CFG["landcover"]["legend"]),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/train_biomass.log",
    benchmark:
        f"{RUN}/benchmarks/train_biomass.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("train_biomass")


rule predict_biomass:
    """AGB map and its interval maps of an epoch, block by block (model sent once)."""
    input:
        model=P.biomass_model(BIOMASS_YEAR),
        landcover=lambda w: landcover_file(w.year),
        features=lambda w: feature_files(w.year),
    output:
        OUT("predict_biomass", "Biomass"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/predict_biomass_{{year}}.log",
    benchmark:
        f"{RUN}/benchmarks/predict_biomass_{{year}}.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("predict_biomass")


rule compute_rs_sink:
    """Remote-sensing forest sink: stock difference of two biomass maps (IPCC Eq. 2.5, + = sink)."""
    input:
        agb=lambda w: [P.output("agb", year=w.y0), P.output("agb", year=w.y1)],
    output:
        OUT("compute_rs_sink", "Biomass"),
    params:
        biomass=digest("biomass", "parameters", "gain_loss"),
    conda:
        CONDA_ENV
    log:
        LOG("compute_rs_sink", "compute_rs_sink_{y0}_{y1}"),
    benchmark:
        LOG("compute_rs_sink", "compute_rs_sink_{y0}_{y1}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("compute_rs_sink")

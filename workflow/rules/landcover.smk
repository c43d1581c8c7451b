rule align_landcover:
    """Check an observed epoch (CRS, overlap, nodata, class codes) and bring it onto the grid."""
    input:
        raster=lambda w: str(EPOCHS[int(w.year)].path),
        legend=LEGEND_FILE,
        clip=clip_zone_file(),
        reclassify=[r["raster"] for r in CFG["landcover"]["reclassify"]],
    output:
        P.interim / "landcover_{year}.tif",
    params:
        grid=GRID_DIGEST,
        legend=digest(CFG["landcover"]["legend"]),
        reclassify=digest(CFG["landcover"]["reclassify"]),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/align_landcover_{{year}}.log",
    benchmark:
        f"{RUN}/benchmarks/align_landcover_{{year}}.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("align_landcover")


rule make_scenario:
    """A SCENARIO epoch derived from an earlier epoch by the seeded change rules in the config."""
    input:
        base=lambda w: landcover_file(EPOCHS[int(w.year)].scenario["from"]),
    output:
        raster=P.interim / "landcover_{year}_scenario.tif",
        report=OUT("make_scenario"),
    params:
        scenario=lambda w: digest(EPOCHS[int(w.year)].scenario),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/make_scenario_{{year}}.log",
    benchmark:
        f"{RUN}/benchmarks/make_scenario_{{year}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        stage_shell("make_scenario")


rule classify_ecosystem:
    """Ecosystem class map of an epoch (legend look-up), with a colour table."""
    input:
        landcover=lambda w: landcover_file(w.year),
        legend=LEGEND_FILE,
    output:
        OUT("classify_ecosystem", "Ecosystem maps"),
    params:
        legend=digest(CFG["landcover"]["legend"]),
    conda:
        CONDA_ENV
    log:
        LOG("classify_ecosystem", "classify_ecosystem_{year}"),
    benchmark:
        LOG("classify_ecosystem", "classify_ecosystem_{year}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("classify_ecosystem")

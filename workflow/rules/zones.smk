rule write_run_config:
    """The resolved, validated config (defaults filled) for provenance."""
    output:
        P.run_config(),
    params:
        h=sinks_config.config_hash(CFG),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/write_run_config.log",
    benchmark:
        f"{RUN}/benchmarks/write_run_config.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        stage_shell("write_run_config")


rule rasterize_zones:
    """Every zone level rasterized once onto the run grid (pixel centre in polygon)."""
    input:
        zones=[z["path"] for z in CFG["zones"]],
        grid_template=FIRST_EPOCH,
    output:
        rasters=[str(P.zones(lv)) for lv in LEVELS],
        tables=[str(P.zones_table(lv)) for lv in LEVELS],
    params:
        grid=GRID_DIGEST,
        zones=digest("zones"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/rasterize_zones.log",
    benchmark:
        f"{RUN}/benchmarks/rasterize_zones.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("rasterize_zones")

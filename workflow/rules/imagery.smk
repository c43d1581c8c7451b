rule extract_features:
    """Spectral indices of an epoch from its reflectance scenes, composited on the run grid."""
    input:
        scenes=lambda w: [s["path"] for s in CFG["imagery"]["scenes"][w.year]],
    output:
        OUT("extract_features"),
    params:
        imagery=digest("imagery", "grid"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/extract_features_{{year}}.log",
    benchmark:
        f"{RUN}/benchmarks/extract_features_{{year}}.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("extract_features")

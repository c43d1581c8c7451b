rule map_forest_strata:
    """Forest strata of the inventory year (sub-compartments, strata raster or inventory shares
    per zone), stand volume and biomass carbon from volume (Fang BEF)."""
    input:
        landcover=lambda w: landcover_file(FOREST_YEAR),
        zones=[str(P.zones(CFG["forest"]["shares_level"]))] if CFG["forest"]["shares"] else [],
        sources=FOREST_SOURCES,
        legend=LEGEND_FILE,
    output:
        OUT("map_forest_strata", "Forest"),
    params:
        forest=digest("forest", "parameters", CFG["landcover"]["legend"]),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/map_forest_strata.log",
    benchmark:
        f"{RUN}/benchmarks/map_forest_strata.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("map_forest_strata")


rule compute_stock:
    """Carbon stock per pool and in total for one epoch (Mg C ha-1), one pass over the data."""
    input:
        landcover=lambda w: landcover_file(w.year),
        densities=DENSITIES_FILE,
        legend=LEGEND_FILE,
        biomass=lambda w: biomass_map_input(w.year),
    output:
        OUT("compute_stock", "Carbon stock"),
    params:
        carbon=lambda w: digest("carbon", CFG["landcover"]["legend"], "outputs", "forest", "parameters")
        + biomass_digest(w.year),
    conda:
        CONDA_ENV
    log:
        LOG("compute_stock", "compute_stock_{year}"),
    benchmark:
        LOG("compute_stock", "compute_stock_{year}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("compute_stock")


rule compute_sink:
    """Net sink between consecutive epochs, IPCC 2006 Vol.4 Ch.2 Eq. 2.5 (+ = sink)."""
    input:
        landcover=lambda w: [landcover_file(w.y0), landcover_file(w.y1)],
        densities=DENSITIES_FILE,
        legend=LEGEND_FILE,
    output:
        OUT("compute_sink", "Carbon sink"),
    params:
        carbon=digest("carbon", CFG["landcover"]["legend"], "forest", "parameters"),
    conda:
        CONDA_ENV
    log:
        LOG("compute_sink", "compute_sink_{y0}_{y1}"),
    benchmark:
        LOG("compute_sink", "compute_sink_{y0}_{y1}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("compute_sink")


rule map_stock_uncertainty:
    """Per-pixel sd and 95 % interval of an epoch's carbon stock (same draws as the tables)."""
    input:
        landcover=lambda w: landcover_file(w.year),
        densities=DENSITIES_FILE,
        legend=LEGEND_FILE,
        biomass=lambda w: biomass_map_input(w.year),
    output:
        OUT("map_stock_uncertainty", "Uncertainty"),
    params:
        carbon=lambda w: digest("carbon", CFG["landcover"]["legend"], "uncertainty", "forest", "parameters")
        + biomass_digest(w.year),
    conda:
        CONDA_ENV
    log:
        LOG("map_stock_uncertainty", "map_stock_uncertainty_{year}"),
    benchmark:
        LOG("map_stock_uncertainty", "map_stock_uncertainty_{year}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("map_stock_uncertainty")


rule map_sink_uncertainty:
    """Per-pixel sd and 95 % interval of a period's net sink (same draws as the tables)."""
    input:
        landcover=lambda w: [landcover_file(w.y0), landcover_file(w.y1)],
        densities=DENSITIES_FILE,
        legend=LEGEND_FILE,
    output:
        OUT("map_sink_uncertainty", "Uncertainty"),
    params:
        carbon=digest("carbon", CFG["landcover"]["legend"], "uncertainty", "forest", "parameters"),
    conda:
        CONDA_ENV
    log:
        LOG("map_sink_uncertainty", "map_sink_uncertainty_{y0}_{y1}"),
    benchmark:
        LOG("map_sink_uncertainty", "map_sink_uncertainty_{y0}_{y1}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("map_sink_uncertainty")


rule map_inundation:
    """Inundation frequency on the run grid (fraction of time flooded; wetland section)."""
    input:
        sources=INUNDATION_INPUTS,
        clip=clip_zone_file(),
    output:
        OUT("map_inundation", "Wetlands"),
    params:
        wetland=digest("wetland", "grid"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/map_inundation.log",
    benchmark:
        f"{RUN}/benchmarks/map_inundation.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("map_inundation")


rule track_conversions:
    """Land-use conversions of the last D = 20 years at an epoch (Eq. 2.25), epoch after epoch."""
    input:
        history=lambda w: history_inputs(w.year),
        inundation=INUNDATION,
        legend=LEGEND_FILE,
        densities=DENSITIES_FILE,
    output:
        TILED("track_conversions", [str(P.conversion_history("{year}"))]),
    params:
        carbon=digest("carbon", CFG["landcover"]["legend"], "wetland", "parameters"),
    conda:
        CONDA_ENV
    log:
        LOG("track_conversions", "track_conversions_{year}"),
    benchmark:
        LOG("track_conversions", "track_conversions_{year}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("track_conversions")


rule compute_gain_loss:
    """Gain-loss net sink, gross removals and emissions of a period (IPCC Eq. 2.7-2.16, 2.25),
    with the conversion history of earlier epochs and, with the wetland section, CH4."""
    input:
        landcover=lambda w: [landcover_file(w.y0), landcover_file(w.y1)],
        history=P.interim / "conversion_history_{y0}.tif",
        inundation=INUNDATION,
        strata=STRATA_FILES + FOREST_STRATA,
        densities=DENSITIES_FILE,
        legend=LEGEND_FILE,
    output:
        OUT("compute_gain_loss", "Gain-loss"),
    params:
        carbon=digest("carbon", CFG["landcover"]["legend"], "gain_loss", "parameters", "wetland", "forest"),
    conda:
        CONDA_ENV
    log:
        LOG("compute_gain_loss", "compute_gain_loss_{y0}_{y1}"),
    benchmark:
        LOG("compute_gain_loss", "compute_gain_loss_{y0}_{y1}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("compute_gain_loss")


rule map_gain_loss_uncertainty:
    """Per-pixel sd and 95 % interval of a period's gain-loss net sink (registry Monte Carlo)."""
    input:
        landcover=lambda w: [landcover_file(w.y0), landcover_file(w.y1)],
        history=P.interim / "conversion_history_{y0}.tif",
        inundation=INUNDATION,
        strata=STRATA_FILES + FOREST_STRATA,
        densities=DENSITIES_FILE,
        legend=LEGEND_FILE,
    output:
        OUT("map_gain_loss_uncertainty", "Uncertainty"),
    params:
        carbon=digest("carbon", CFG["landcover"]["legend"], "gain_loss", "parameters", "wetland", "forest",
                      "uncertainty"),
    conda:
        CONDA_ENV
    log:
        LOG("map_gain_loss_uncertainty", "map_gain_loss_uncertainty_{y0}_{y1}"),
    benchmark:
        LOG("map_gain_loss_uncertainty", "map_gain_loss_uncertainty_{y0}_{y1}", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("map_gain_loss_uncertainty")


rule map_potential:
    """Sink potential maps per scenario and target year (SCENARIO; growth curve)."""
    input:
        landcover=landcover_file(list(EPOCHS)[-1]),
        legend=LEGEND_FILE,
        strata=FOREST_STRATA,
    output:
        OUT("map_potential", "Sink potential"),
    params:
        potential=digest("potential", "parameters", "gain_loss", "forest", CFG["landcover"]["legend"]),
    conda:
        CONDA_ENV
    log:
        LOG("map_potential", "map_potential"),
    benchmark:
        LOG("map_potential", "map_potential", "benchmarks", "tsv")
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("map_potential")

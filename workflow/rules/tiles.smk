# A tiled run (grid.tile_size, sinks.tiles): the rules of plan.TILED_RULES write their maps per
# tile under tiles/<tile>/; `mosaic` makes each map of the run from its tiles, and `summarize`
# adds up the tiles' zone sums.

import re


def _path_regex(pattern):
    """A run file pattern (relative, with {year}-style fields) as a regex of its file names."""
    return re.sub(r"\\\{\w+\\\}", r"\\d+", re.escape(pattern))


MOSAIC_PATHS = [os.path.relpath(f, RUN) for r in plan.TILED_RULES if r != "zone_sums"
                for f in plan.rule_outputs(CFG, P, r)] + (
    [os.path.relpath(P.conversion_history("{year}"), RUN)] if GAIN_LOSS else [])


rule mosaic:
    """One map of the run from its tiles (overviews and style of the whole map)."""
    input:
        lambda w: [str(P.tile(t) / w.path) for t in TILES],
    output:
        f"{RUN}/{{path}}",
    wildcard_constraints:
        path="|".join(_path_regex(p) for p in MOSAIC_PATHS),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/mosaic/{{path}}.log",
    benchmark:
        f"{RUN}/benchmarks/mosaic/{{path}}.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("mosaic")


rule zone_sums:
    """One tile's zone sums: every total the zone tables ask for, over the tile only."""
    input:
        **SUMMARY_INPUTS,
    output:
        str(P.zone_sums("{tile}")),
    params:
        carbon=digest("carbon", CFG["landcover"]["legend"], "zones"),
        uncertainty=digest("uncertainty", "gain_loss", "parameters", "biomass", "potential", "wetland", "forest"),
    conda:
        CONDA_ENV
    log:
        f"{RUN}/logs/zone_sums_{{tile}}.log",
    benchmark:
        f"{RUN}/benchmarks/zone_sums_{{tile}}.tsv"
    threads: MAP_THREADS
    resources:
        mem_mb=4000,
        runtime=60,
    shell:
        stage_shell("zone_sums")

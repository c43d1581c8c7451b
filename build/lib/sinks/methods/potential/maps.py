"""Sink-potential maps: the sink to come per scenario and target year (SCENARIO). One function
per rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sinks.errors import InputDataError
from sinks.io.rasters import open_raster, write_cogs
from sinks.landcover import ECOSYSTEMS, apply_lut, ecosystem_lut, lut_size
from sinks.methods.potential.rates import potential_rates
from sinks.run import Run


def map_potential(run: Run) -> list[Path]:
    """Write sink_potential_<scenario>_<year>.tif (Mg CO2 ha-1 yr-1, SCENARIO) for every
    scenario and target year: a look-up of the last epoch's ecosystem class (0 for classes the
    scenario does not grow, nodata outside the land cover)."""
    chunks = run.chunks
    legend = run.legend
    if legend is None:
        raise InputDataError("potential needs landcover.legend (forest and suitable classes)")
    last = run.epochs[-1]
    src = run.landcover_path(last.year)
    codes = open_raster(src, chunks=chunks)
    eco = apply_lut(codes, ecosystem_lut(legend, lut_size(codes.dtype)), 0)
    names = ["none"] + [ECOSYSTEMS[c] for c in sorted(ECOSYSTEMS)]
    maps = []
    for (scenario, year), per_ha in potential_rates(run, names, last.year).items():
        lut = np.zeros(len(names), dtype="float32")
        lut[0] = np.nan
        for c, rate in per_ha.items():
            lut[c] = rate
        m = run.map("sink_potential", apply_lut(eco, lut, np.nan), basis="scenario",
                    model=("forest strata age structure on yield curves, rotation harvest (sinks.forest.projection)"
                           if run.cfg["forest"]["enabled"] else "Chapman-Richards growth curve (sinks.models.potential)"),
                    inputs=[src, "sinks parameter registry"], scenario=scenario, year=year)
        maps.append(m)
    return write_cogs(maps)

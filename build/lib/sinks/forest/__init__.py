"""Forest carbon measurement as a forestry bureau does it (Tier 2): forest strata by type, origin
and age class (sub-compartment polygons, a stratum raster or inventory shares per zone), biomass
from stand volume (Fang et al. continuous BEF), growth from the volume increment of each type's
yield curve at its age class, harvest from volume statistics, and the age structure's sink to
come. Formulas in :mod:`sinks.forest.models`, tables in :mod:`sinks.forest.tables`."""

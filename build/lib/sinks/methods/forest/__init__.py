"""Forest inventory method (Tier 2): the forest strata map, stand volume and biomass from volume,
and the zone rows of forest area, biomass carbon and strata (sinks.forest)."""

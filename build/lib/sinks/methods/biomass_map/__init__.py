"""The biomass-map method (see sinks.methods)."""

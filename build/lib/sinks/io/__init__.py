"""Everything that touches paths: opening inputs with checks, writing COG outputs."""

"""The potential method (see sinks.methods)."""

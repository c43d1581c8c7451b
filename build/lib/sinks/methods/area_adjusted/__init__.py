"""The area-adjusted method (see sinks.methods)."""

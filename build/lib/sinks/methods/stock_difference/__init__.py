"""The stock-difference method (see sinks.methods)."""

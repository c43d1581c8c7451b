"""The gain-loss method (see sinks.methods)."""

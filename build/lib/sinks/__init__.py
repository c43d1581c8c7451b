"""sinks: ecosystem carbon-stock and carbon-sink accounting (IPCC stock-change methods)."""

__version__ = "0.1.0"

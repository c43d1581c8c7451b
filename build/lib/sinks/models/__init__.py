"""Carbon models: pure functions of xarray objects, each citing its equation."""

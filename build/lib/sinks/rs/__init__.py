"""Remote sensing and forest carbon metrology: imagery, spectral indices, plots, biomass model."""

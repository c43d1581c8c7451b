"""Stocks from a biomass map: the carbon factors CF and R, the map reader, the mixed stock and
how a map-derived output says what in it is SYNTHETIC. Used by the biomass-map method and by
the stock maps when ``biomass.use_in_stock`` is set."""

from __future__ import annotations

import numpy as np
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks import config as cfgmod
from sinks.io.rasters import MapToWrite
from sinks.methods.gain_loss.rates import GROWTH_STRATA
from sinks.parameters import value
from sinks.run import Run

MAP_MODEL = ("; AGB and BGB from the biomass map agb_{year}.tif where it is valid (AGB x CF {cf:g}, "
             "BGB = AGB x R {r:g} x CF)")


def biomass_carbon_factors(run: Run) -> tuple[float, float]:
    """(CF, R): carbon fraction of dry matter (IPCC 2006 Vol.4 Ch.4 Table 4.3) and the
    root-shoot ratio of the gain_loss.forest_growth stratum (IPCC 2019 Vol.4 Ch.4 Table 4.4),
    both from the parameter registry; the map's AGB carbon is AGB × CF and its BGB carbon
    AGB × R × CF (2006 Vol.4 Ch.2 Eq. 2.8 applied to stocks)."""
    reg = run.registry
    return value(reg, "carbon_fraction"), value(reg, GROWTH_STRATA[run.cfg["gain_loss"]["forest_growth"]][1])


def biomass_factor_sds(run: Run) -> dict[str, float]:
    """Relative sds of the factors that turn map AGB (d.m.) into carbon, from the registry:
    ``cf`` (CF), ``cf_r`` (CF × R) and ``cf_1r`` (CF × (1 + R)); first-order propagation of
    independent factors (IPCC 2006 Vol.1 Ch.3 Eq. 3.1)."""
    reg = run.registry
    cf, r = biomass_carbon_factors(run)
    r_id = GROWTH_STRATA[run.cfg["gain_loss"]["forest_growth"]][1]
    u_cf, sd_r = float(reg.loc["carbon_fraction", "sd"]) / cf, float(reg.loc[r_id, "sd"])
    return {"cf": u_cf, "cf_r": float(np.hypot(u_cf, sd_r / r)),
            "cf_1r": float(np.hypot(u_cf, sd_r / (1 + r)))}


def biomass_map(run: Run, year: int, grid: GeoBox) -> xr.DataArray:
    """The AGB map of an epoch (Mg d.m. ha-1, NaN where the model did not predict), checked
    to be on the run grid."""
    agb = run.open_on_grid(run.paths.output("agb", year=year), grid)
    return agb.where(agb != agb.odc.nodata)


def map_stocks(pools: xr.Dataset, agb: xr.DataArray, cf: float, r: float) -> xr.Dataset:
    """Pools with AGB = agb × CF and BGB = agb × R × CF (Mg C ha-1) where the AGB map is valid,
    the class-default pools elsewhere (dead organic matter and soil stay class defaults)."""
    ok = agb.notnull()
    out = pools.copy()
    out["agb"] = (agb * cf).where(ok, pools["agb"]).astype("float32")
    out["bgb"] = (agb * (r * cf)).where(ok, pools["bgb"]).astype("float32")
    return out


def synthetic_inputs(cfg: dict, years: list[int]) -> list[str]:
    """What is SYNTHETIC in the biomass maps of ``years``: 'plots' when the model was trained on
    simulated plots, 'features' when a feature raster of those years is tagged SYNTHETIC=true
    (e.g. the demo's derived NDVI epoch)."""
    out = ["plots"] if cfg["biomass"]["plots"] is None else []
    for year in years:
        for src in cfgmod.feature_sources(cfg, year).values():
            if not src.startswith(cfgmod.INDEX_PREFIX) and "features" not in out:
                with rasterio.open(src) as r:
                    if str(r.tags().get("SYNTHETIC", "")).lower() == "true":
                        out.append("features")
    return out


def biomass_basis(cfg: dict, years: list[int]) -> str:
    """Basis of a biomass-map output: 'scenario' if any of its epochs is a scenario, else
    'observed', then e.g. ', synthetic plots, synthetic features' (synthetic_inputs)."""
    basis = "scenario" if any(cfgmod.epoch(cfg, y).basis == "scenario" for y in years) else "observed"
    return ", ".join([basis] + [f"synthetic {s}" for s in synthetic_inputs(cfg, years)])


def label_synthetic(cfg: dict, m: MapToWrite, years: list[int]) -> None:
    """Add '(SYNTHETIC plots, features)' to a biomass-derived map's description and tags."""
    what = synthetic_inputs(cfg, years)
    if what:
        m.description += f" (SYNTHETIC {', '.join(what)})"
        m.tags["synthetic"] = f"true: {' and '.join(what)} simulated (see the README, Remote sensing)"

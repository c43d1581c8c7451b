"""Stocks from a biomass map: the carbon factors CF and R, the model's inputs on the grid, the
map reader, the mixed stock and how a map-derived output says what in it is SYNTHETIC. Used by
the biomass-map method and by the stock maps when ``biomass.use_in_stock`` is set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks import config as cfgmod
from sinks.errors import InputDataError
from sinks.grid import align
from sinks.io.rasters import MapToWrite, open_raster
from sinks.landcover import ECOSYSTEM_CODES, apply_lut, ecosystem_lut, lut_size
from sinks.methods.gain_loss.rates import GROWTH_STRATA
from sinks.parameters import value
from sinks.plan import feature_paths
from sinks.run import Run

MAP_MODEL = ("; AGB and BGB from the biomass map agb_{year}.tif where it is valid (AGB x CF, "
             "BGB = AGB x R(AGB) x CF; {factors})")
AGB_CLASS_LIMIT = 125.0  # t d.m. ha-1: the AGB classes of R, IPCC 2019 Vol.4 Ch.4 Table 4.4 (Updated)


@dataclass(frozen=True)
class CarbonFactors:
    """What turns map AGB (t d.m. ha-1) into carbon, with standard deviations: CF (IPCC 2006
    Vol.4 Ch.4 Table 4.3) and R by the pixel's AGB class of IPCC 2019 Vol.4 Ch.4 Table 4.4
    (Updated), ``r[0]`` for AGB ≤ 125 t d.m. ha-1 and ``r[1]`` above; AGB carbon = AGB × CF and
    BGB carbon = AGB × R(AGB) × CF (2006 Vol.4 Ch.2 Eq. 2.8 applied to stocks). CF's and R's
    errors are independent; the two R classes' errors are taken as one, fully correlated (one
    source table and study, Luo et al. 2014)."""

    cf: float
    sd_cf: float
    r: tuple[float, float]
    sd_r: tuple[float, float]

    def ratio(self, agb: xr.DataArray) -> xr.DataArray:
        """R of each pixel, by its AGB class (NaN AGB gets the low class; its BGB stays NaN)."""
        return xr.where(agb > AGB_CLASS_LIMIT, self.r[1], self.r[0])

    def ratio_sd(self, agb: xr.DataArray) -> xr.DataArray:
        """sd of each pixel's R, by its AGB class."""
        return xr.where(agb > AGB_CLASS_LIMIT, self.sd_r[1], self.sd_r[0])

    def __str__(self) -> str:
        return (f"CF {self.cf:g}, R {self.r[0]:g} (AGB <= {AGB_CLASS_LIMIT:g} t/ha) / "
                f"{self.r[1]:g} (above)")


def biomass_carbon_factors(run: Run) -> CarbonFactors:
    """CF and the two AGB classes' R of the gain_loss.forest_growth stratum (registry ids
    ``<R id>`` and ``<R id>_gt125``), with their registry sds."""
    reg = run.registry
    r_id = GROWTH_STRATA[run.cfg["gain_loss"]["forest_growth"]][1]
    ids = (r_id, f"{r_id}_gt125")
    return CarbonFactors(value(reg, "carbon_fraction"), float(reg.loc["carbon_fraction", "sd"]),
                         tuple(value(reg, i) for i in ids), tuple(float(reg.loc[i, "sd"]) for i in ids))


def biomass_inputs(run: Run, year: int):
    """Features of an epoch aligned to the run grid (continuous: average/bilinear) and the
    valid-pixel mask (ecosystem of that epoch in ``valid_classes``)."""
    cfg, paths, chunks = run.cfg, run.paths, run.chunks
    bio = cfg["biomass"]
    legend = run.legend
    if year is None or legend is None or not bio["features"]:
        raise InputDataError("biomass: set biomass.year (an epoch), biomass.features and "
                             "landcover.legend to train a biomass model")
    codes = open_raster(run.landcover_path(year), chunks=chunks)
    grid = codes.odc.geobox
    wanted = [ECOSYSTEM_CODES[c] for c in bio["valid_classes"]]
    eco = apply_lut(codes, ecosystem_lut(legend, lut_size(codes.dtype)), 0)
    valid = eco.isin(wanted)
    feats = {}
    for name, path in feature_paths(cfg, paths, year).items():
        src = open_raster(path, chunks=chunks)
        src = src.astype("float32").where(src != src.odc.nodata) if src.odc.nodata is not None else src.astype("float32")
        feats[name] = align(src.rio.write_nodata(np.nan), grid, categorical=False,
                            name=f"biomass.features.{name} ({path})", chunks=chunks)
    return xr.Dataset(feats), valid, grid


def biomass_map(run: Run, year: int, grid: GeoBox) -> xr.DataArray:
    """The AGB map of an epoch (Mg d.m. ha-1, NaN where the model did not predict), checked
    to be on the run grid."""
    agb = run.open_on_grid(run.paths.output("agb", year=year), grid)
    return agb.where(agb != agb.odc.nodata)


def map_stocks(pools: xr.Dataset, agb: xr.DataArray, factors: CarbonFactors) -> xr.Dataset:
    """Pools with AGB = agb × CF and BGB = agb × R(agb) × CF (Mg C ha-1) where the AGB map is
    valid, the class-default pools elsewhere (dead organic matter and soil stay class defaults)."""
    ok = agb.notnull()
    out = pools.copy()
    out["agb"] = (agb * factors.cf).where(ok, pools["agb"]).astype("float32")
    out["bgb"] = (agb * factors.ratio(agb) * factors.cf).where(ok, pools["bgb"]).astype("float32")
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

"""The workflow's stages: each reads its inputs, calls the pure models and writes its outputs.

One function per Snakemake rule; the CLI subcommands call these, and the Snakefile builds its
file names from :class:`RunPaths`, so rules, CLI and Python API share one code path.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks import __version__
from sinks import config as cfgmod
from sinks.checks import check_epoch_raster, load_tables, resolve_densities
from sinks.errors import EmptyDataError, InputDataError
from sinks.grid import DEFAULT_CHUNK, align, describe, on_grid, reference_grid, require_same_grid
from sinks.io.figures import save_figure
from sinks.io.outputs import OUTPUTS, POOLS, output_name
from sinks.io.rasters import MapToWrite, code_histogram, open_raster, raster_geobox, write_cogs
from sinks.io.vectors import read_zones
from sinks.landcover import ECOSYSTEM_CODES, ECOSYSTEM_COLOURS, ECOSYSTEMS, apply_lut, build_lut, ecosystem_lut, lut_size
from sinks.models.stock_difference import C_TO_CO2, class_densities, net_sink, pool_luts, stocks, total_stock
from sinks.rate_tables import (GROWTH_STRATA, LAKE, STRATUM_CLASSES, WET_CLASSES, ch4_rate,
                               gain_loss_names, gain_loss_rate_draws, history_keep, n_soil_strata,
                               potential_rates, registry_seed, strata_levels, stratified_rates)
from sinks.scenario import derive_epoch
from sinks.zones import rasterize_zones

log = logging.getLogger(__name__)

STOCK_CITATION = ("IPCC 2006 Guidelines Vol.4 Ch.2 Eq. 2.5 (stock difference); densities: "
                  "see the density table's source column")
REGION_LEVEL = "region"


@dataclass(frozen=True)
class RunPaths:
    """File names of one run under ``data/processed/<run>/`` (the Snakefile uses these too)."""

    root: Path

    @property
    def interim(self) -> Path:
        return self.root / "interim"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    def run_config(self) -> Path:
        return self.root / "run_config.yaml"

    def zones(self, level: str) -> Path:
        return self.interim / f"zones_{level}.tif"

    def zones_table(self, level: str) -> Path:
        return self.interim / f"zones_{level}.csv"

    def landcover(self, year: int, scenario: bool = False) -> Path:
        return self.interim / (f"landcover_{year}_scenario.tif" if scenario else f"landcover_{year}.tif")

    def conversion_history(self, year: int) -> Path:
        return self.interim / f"conversion_history_{year}.tif"

    def scenario_report(self, year: int) -> Path:
        return self.outputs / f"scenario_changes_{year}.csv"

    def output(self, kind: str, **fields) -> Path:
        return self.outputs / output_name(kind, **fields)

    def index(self, name: str, year: int) -> Path:
        return self.interim / output_name("index", name=name, year=year)

    def biomass_model(self, year: int) -> Path:
        return self.interim / f"biomass_model_{year}.joblib"

    def zonal_summary(self) -> Path:
        return self.outputs / "zonal_summary.csv"

    def transitions(self) -> Path:
        return self.outputs / "land_cover_transitions.csv"

    def method_comparison(self) -> Path:
        return self.outputs / "method_comparison.csv"

    def time_series(self) -> Path:
        return self.outputs / "time_series.csv"

    def time_series_plot(self) -> Path:
        return self.outputs / "time_series.png"

    def attribution(self) -> Path:
        return self.outputs / "uncertainty_attribution.csv"

    def attribution_plot(self) -> Path:
        return self.outputs / "uncertainty_attribution.png"

    def zones_gpkg(self) -> Path:
        return self.outputs / "zones_summary.gpkg"

    def summary_plot(self) -> Path:
        return self.outputs / "summary.png"


def run_paths(cfg: dict, root: str | Path = ".") -> RunPaths:
    return RunPaths(cfgmod.run_dir(cfg, root))


def zone_levels(cfg: dict) -> list[str]:
    """Zone levels of the tables; one whole-grid level 'region' when no zones are configured."""
    return [z["level"] for z in cfg["zones"]] or [REGION_LEVEL]


def epoch_landcover(cfg: dict, paths: RunPaths, year: int) -> Path:
    ep = cfgmod.epoch(cfg, year)
    return paths.landcover(year, scenario=ep.scenario is not None)


def run_grid(cfg: dict) -> GeoBox:
    """The run's reference grid (config ``grid``; defaults from the first epoch's raster)."""
    first = cfgmod.epochs(cfg)[0]
    template = raster_geobox(first.path)
    g = cfg["grid"]
    bounds = g["bounds"]
    if bounds is None and g["clip_to"] is not None and g["crs"] is not None:
        zone = next(z for z in cfg["zones"] if z["level"] == g["clip_to"])
        gdf = read_zones(zone["path"], zone["id_field"], zone["name_field"])
        bounds = tuple(gdf.to_crs(g["crs"]).total_bounds)
    return reference_grid(template, g["crs"], g["resolution"], tuple(bounds) if bounds else None)


def _tags(cfg: dict, *, model: str, inputs: list, basis: str, kind: str, **extra) -> dict:
    spec = OUTPUTS.get(kind)
    tags = {
        "units": spec.unit if spec else "",
        "sign_convention": spec.sign if spec else "",
        "sinks_version": __version__,
        "config_hash": cfgmod.config_hash(cfg),
        "run_name": cfg["run"]["name"],
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": "; ".join(str(i) for i in inputs),
        "model": model,
        "citation": STOCK_CITATION if kind.startswith("carbon") or kind.endswith("net_sink") else
                    f"land-cover legend {cfg['landcover']['legend']} mapped to sinks ecosystem classes",
        "basis": basis,
        "scenario": "true" if "scenario" in basis else "false",
    }
    tags.update(extra)
    return tags


def _map(cfg, kind: str, data: xr.DataArray, path: Path, *, basis: str, model: str, inputs,
         colormap=None, **fields) -> MapToWrite:
    spec = OUTPUTS[kind]
    description = spec.description.format(**fields)
    if "scenario" in basis:
        description += " (SCENARIO)"
    return MapToWrite(data, path, spec.dtype, spec.nodata, description, spec.unit,
                      _tags(cfg, model=model, inputs=inputs, basis=basis, kind=kind),
                      spec.overview_resampling, colormap, spec.style,
                      ECOSYSTEMS if spec.style == "classes" else None)


# --- stages ------------------------------------------------------------------------------

def write_run_config(cfg: dict, paths: RunPaths) -> Path:
    """Write the resolved config (provenance) atomically."""
    out = paths.run_config()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(cfgmod.resolved_yaml(cfg), encoding="utf-8")
    os.replace(tmp, out)
    return out


def stage_rasterize_zones(cfg: dict, paths: RunPaths, chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Rasterize every zone level once onto the run grid (index raster + id/name table)."""
    grid = run_grid(cfg)
    log.info("run grid: %s", describe(grid))
    written = []
    layers = cfg["zones"] or [None]
    for zone in layers:
        if zone is None:
            level, table = REGION_LEVEL, pd.DataFrame({"zone_id": ["region"], "zone_name": ["whole grid"]})
            index = on_grid(np.ones(grid.shape.yx, dtype="uint32"), grid).chunk(chunks)
        else:
            level = zone["level"]
            gdf = read_zones(zone["path"], zone["id_field"], zone["name_field"])
            table = pd.DataFrame(gdf.drop(columns="geometry"))
            index = rasterize_zones(gdf, grid, chunks)
            log.info("zones %s: %d polygons from %s", level, len(gdf), zone["path"])
        table.insert(0, "index", np.arange(1, len(table) + 1))
        m = MapToWrite(index, paths.zones(level), "uint32", 0, f"Zone index, level {level}",
                       "index", {"level": level, "run_name": cfg["run"]["name"]}, "nearest")
        write_cogs([m])
        table.to_csv(paths.zones_table(level), index=False)
        written.append(paths.zones(level))
    return written


def _clip_mask(cfg: dict, paths: RunPaths, grid: GeoBox, chunks: int) -> xr.DataArray | None:
    level = cfg["grid"]["clip_to"]
    if level is None:
        return None
    z = open_raster(paths.zones(level), chunks=chunks)
    require_same_grid(z, grid, str(paths.zones(level)))
    return z > 0


def stage_align_landcover(cfg: dict, paths: RunPaths, year: int, chunks: int = DEFAULT_CHUNK) -> Path:
    """Check an observed epoch's raster and bring it onto the run grid (classes: nearest/mode)."""
    ep = cfgmod.epoch(cfg, year)
    if ep.path is None:
        raise InputDataError(f"landcover.epochs.{year} is a scenario, not a raster to align")
    grid = run_grid(cfg)
    legend, densities = load_tables(cfg)
    hist = check_epoch_raster(ep.path, grid, legend, densities, chunks)
    src = open_raster(ep.path, chunks=chunks)
    nodata = src.odc.nodata
    if nodata is None:
        info = np.iinfo(src.dtype)
        nodata = next(v for v in (0, int(info.max)) if v not in hist)
        src = src.rio.write_nodata(nodata)
    aligned = align(src, grid, categorical=True, name=str(ep.path), chunks=chunks)
    mask = _clip_mask(cfg, paths, grid, chunks)
    if mask is not None:
        aligned = aligned.where(mask, nodata).astype(src.dtype)
    if not code_histogram(aligned.rio.write_nodata(nodata)):  # raises EmptyDataError if empty
        raise EmptyDataError(f"{ep.path}: no data left on the run grid")
    out = paths.landcover(year)
    m = MapToWrite(aligned, out, str(src.dtype), int(nodata), f"Land-cover codes {year} on the run grid",
                   "class", _tags(cfg, model="alignment", inputs=[ep.path], basis="observed",
                                  kind="landcover", source_grid=describe(src.odc.geobox)), "nearest")
    write_cogs([m])
    return out


def stage_make_scenario(cfg: dict, paths: RunPaths, year: int, chunks: int = DEFAULT_CHUNK) -> Path:
    """Derive a SCENARIO epoch from an earlier epoch's aligned land cover (seeded)."""
    ep = cfgmod.epoch(cfg, year)
    sc = ep.scenario
    base_path = epoch_landcover(cfg, paths, sc["from"])
    base = open_raster(base_path, chunks=chunks)
    grid = base.odc.geobox
    nodata = base.odc.nodata
    codes, report = derive_epoch(base.values, nodata, sc["changes"], year - sc["from"], sc["seed"],
                                 abs(grid.resolution.x))
    for r in report:
        log.info("scenario %d: %s %s -> %s: %d of %d candidate px", year, r["change"],
                 r["from_codes"], r["to_code"], r["changed_px"], r["candidates_px"])
    pd.DataFrame(report).assign(year_start=sc["from"], year_end=year, seed=sc["seed"],
                                basis="scenario").to_csv(paths.scenario_report(year), index=False)
    out = paths.landcover(year, scenario=True)
    data = on_grid(codes, grid).chunk(chunks)
    m = MapToWrite(data, out, str(codes.dtype), int(nodata), f"Land-cover codes {year} (SCENARIO)",
                   "class", _tags(cfg, model="scenario generator (sinks.scenario)", inputs=[base_path],
                                  basis="scenario", kind="landcover", seed=sc["seed"]), "nearest")
    write_cogs([m])
    return out


def stage_classify_ecosystem(cfg: dict, paths: RunPaths, year: int, chunks: int = DEFAULT_CHUNK) -> Path:
    """Write ``ecosystem_<year>.tif``: land-cover codes mapped to ecosystem classes (legend)."""
    legend, _ = load_tables(cfg)
    if legend is None:
        raise InputDataError("landcover.legend is not set: no ecosystem map can be made")
    ep = cfgmod.epoch(cfg, year)
    src_path = epoch_landcover(cfg, paths, year)
    codes = open_raster(src_path, chunks=chunks)
    eco = apply_lut(codes, ecosystem_lut(legend, lut_size(codes.dtype)), 0)
    out = paths.output("ecosystem", year=year)
    m = _map(cfg, "ecosystem", eco, out, basis=ep.basis, model="legend look-up",
             inputs=[src_path, cfg["landcover"]["legend"]], colormap=ECOSYSTEM_COLOURS, year=year)
    m.tags.update({f"CLASS_{c}": n for c, n in ECOSYSTEMS.items()})
    write_cogs([m])
    return out


def carbon_luts(cfg: dict, dtype, float_dtype="float32") -> dict[str, np.ndarray]:
    """Per-pool LUTs from raster code to density (Mg C ha-1) for a config."""
    legend, dens = load_tables(cfg)
    size = lut_size(dtype)
    if dens.kind == "invest":
        values = dens.values
        code_to_class = {int(c): int(c) for c in values.index}
    else:
        values = class_densities(dens.values, cfg["carbon"]["paddy_share"])
        code_to_class = dict(legend)
    return {p: lut.astype(float_dtype) for p, lut in pool_luts(values, code_to_class, size).items()}


def epoch_stocks(cfg: dict, paths: RunPaths, year: int, chunks: int = DEFAULT_CHUNK,
                 ) -> tuple[xr.Dataset, Path]:
    """Lazy per-pool carbon stock density (Mg C ha-1) of an epoch, and the land cover it is
    looked up from."""
    src_path = epoch_landcover(cfg, paths, year)
    codes = open_raster(src_path, chunks=chunks)
    return stocks(codes, carbon_luts(cfg, codes.dtype)), src_path


def reporting_classes(cfg: dict, dtype) -> tuple[np.ndarray, list[str]]:
    """LUT raster code -> reporting class index, and the class names (index 0 = no data).

    Ecosystem classes when a legend is set; otherwise (InVEST table alone) the raster codes.
    """
    legend, dens = load_tables(cfg)
    size = int(np.iinfo(dtype).max) + 1 if np.iinfo(dtype).max < 65536 else 65536
    if legend is not None:
        names = ["none"] + [ECOSYSTEMS[c] for c in sorted(ECOSYSTEMS)]
        lut = build_lut({c: ECOSYSTEM_CODES[e] for c, e in legend.items()}, size, 0, dtype="int64")
        return lut, names
    codes = sorted(int(c) for c in dens.values.index)
    lut = build_lut({c: i + 1 for i, c in enumerate(codes)}, size, 0, dtype="int64")
    return lut, ["none"] + [f"lucode_{c}" for c in codes]


@dataclass(frozen=True)
class CompactClasses:
    """Every raster code that has densities, indexed 1..K-1 (0 = no data or no density)."""

    lut: np.ndarray  # raster code -> compact index
    codes: np.ndarray  # raster code of each compact index 1..K-1
    density: dict[str, np.ndarray]  # pool -> density of each compact index (Mg C ha-1; 0 at 0)
    report_class: np.ndarray  # reporting class index of each compact index
    names: list[str]  # reporting class names (index 0 = "none")
    table_keys: list  # density-table key of each compact index (None at 0)


def compact_classes(cfg: dict, dtype) -> CompactClasses:
    """The compact class index of a run's land-cover codes, with densities and reporting classes."""
    luts = carbon_luts(cfg, dtype, float_dtype="float64")
    report_lut, names = reporting_classes(cfg, dtype)
    total = sum(luts[p] for p in POOLS)
    codes = np.flatnonzero(np.isfinite(total))
    compact = np.zeros(total.size, dtype="uint8" if codes.size < 255 else "uint16")
    compact[codes] = np.arange(1, codes.size + 1)
    density = {p: np.concatenate([[0.0], luts[p][codes]]) for p in POOLS}
    report_class = np.concatenate([[0], report_lut[codes]])
    legend, dens = load_tables(cfg)
    keys = [None] + [int(c) if dens.kind == "invest" else legend[int(c)] for c in codes]
    return CompactClasses(compact, codes, density, report_class, names, keys)


def uses_biomass_map(cfg: dict, year: int) -> bool:
    """True when the stock of ``year`` takes AGB and BGB from the biomass map."""
    bio = cfg["biomass"]
    return bio["enabled"] and bio["use_in_stock"] and year in bio["years"]


def biomass_carbon_factors(cfg: dict) -> tuple[float, float]:
    """(CF, R): carbon fraction of dry matter (IPCC 2006 Vol.4 Ch.4 Table 4.3) and the
    root-shoot ratio of the gain_loss.forest_growth stratum (IPCC 2019 Vol.4 Ch.4 Table 4.4),
    both from the parameter registry; the map's AGB carbon is AGB × CF and its BGB carbon
    AGB × R × CF (2006 Vol.4 Ch.2 Eq. 2.8 applied to stocks)."""
    from sinks.parameters import load_registry, value

    reg = load_registry(cfg["parameters"])
    return value(reg, "carbon_fraction"), value(reg, GROWTH_STRATA[cfg["gain_loss"]["forest_growth"]][1])


def biomass_factor_sds(cfg: dict) -> dict[str, float]:
    """Relative sds of the factors that turn map AGB (d.m.) into carbon, from the registry:
    ``cf`` (CF), ``cf_r`` (CF × R) and ``cf_1r`` (CF × (1 + R)); first-order propagation of
    independent factors (IPCC 2006 Vol.1 Ch.3 Eq. 3.1)."""
    from sinks.parameters import load_registry

    reg = load_registry(cfg["parameters"])
    cf, r = biomass_carbon_factors(cfg)
    r_id = GROWTH_STRATA[cfg["gain_loss"]["forest_growth"]][1]
    u_cf, sd_r = float(reg.loc["carbon_fraction", "sd"]) / cf, float(reg.loc[r_id, "sd"])
    return {"cf": u_cf, "cf_r": float(np.hypot(u_cf, sd_r / r)),
            "cf_1r": float(np.hypot(u_cf, sd_r / (1 + r)))}


def biomass_map(paths: RunPaths, year: int, grid: GeoBox, chunks: int) -> xr.DataArray:
    """The AGB map of an epoch (Mg d.m. ha-1, NaN where the model did not predict), checked
    to be on the run grid."""
    path = paths.output("agb", year=year)
    agb = open_raster(path, chunks=chunks)
    require_same_grid(agb, grid, str(path))
    return agb.where(agb != agb.odc.nodata)


def map_stocks(pools: xr.Dataset, agb: xr.DataArray, cf: float, r: float) -> xr.Dataset:
    """Pools with AGB = agb × CF and BGB = agb × R × CF (Mg C ha-1) where the AGB map is valid,
    the class-default pools elsewhere (dead organic matter and soil stay class defaults)."""
    ok = agb.notnull()
    out = pools.copy()
    out["agb"] = (agb * cf).where(ok, pools["agb"]).astype("float32")
    out["bgb"] = (agb * (r * cf)).where(ok, pools["bgb"]).astype("float32")
    return out


MAP_MODEL = "; AGB and BGB from the biomass map agb_{year}.tif where it is valid (AGB x CF {cf:g}, BGB = AGB x R {r:g} x CF)"


def stage_compute_stock(cfg: dict, paths: RunPaths, year: int, chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Write the total and per-pool carbon stock maps of one epoch (Mg C ha-1), in one pass;
    with biomass.use_in_stock the AGB and BGB of the biomass map's pixels come from the map."""
    ep = cfgmod.epoch(cfg, year)
    pools, src_path = epoch_stocks(cfg, paths, year, chunks)
    inputs = [src_path, resolve_densities(cfg)]
    model = "stock look-up by class (IPCC Tier 1 densities)"
    note = ""
    if uses_biomass_map(cfg, year):
        cf, r = biomass_carbon_factors(cfg)
        pools = map_stocks(pools, biomass_map(paths, year, pools["agb"].odc.geobox, chunks), cf, r)
        model += MAP_MODEL.format(year=year, cf=cf, r=r)
        inputs.append(paths.output("agb", year=year))
        note = " (AGB and BGB from the biomass map)"
    maps = [_map(cfg, "carbon_stock", total_stock(pools), paths.output("carbon_stock", year=year),
                 basis=ep.basis, model=model, inputs=inputs, year=year)]
    if cfg["outputs"]["pool_maps"]:
        maps += [_map(cfg, f"carbon_{p}", pools[p], paths.output(f"carbon_{p}", year=year),
                      basis=ep.basis, model=model, inputs=inputs, year=year) for p in POOLS]
    for m in maps:
        if note and m.path.name.startswith(("carbon_stock", "carbon_agb", "carbon_bgb")):
            m.description += note
            _label_synthetic(cfg, m, [year])
    return write_cogs(maps)


def stage_compute_sink(cfg: dict, paths: RunPaths, y0: int, y1: int, chunks: int = DEFAULT_CHUNK) -> Path:
    """Write ``net_sink_<y0>_<y1>.tif`` (Mg CO2 ha-1 yr-1, positive = sink) by Eq. 2.5.

    The stocks of both epochs are looked up from their land cover again (cheaper than reading
    the float stock maps back, and the same numbers). Both ends are class-default stocks even
    when a stock map uses the biomass map, so a map stock is never differenced against a
    class-default one; the biomass-map sink is ``rs_net_sink`` (stage_compute_rs_sink).
    """
    (s0, p0), (s1, p1) = (epoch_stocks(cfg, paths, y, chunks) for y in (y0, y1))
    require_same_grid(s1["agb"], s0["agb"].odc.geobox, str(p1))
    basis = "scenario" if "scenario" in (cfgmod.epoch(cfg, y0).basis, cfgmod.epoch(cfg, y1).basis) else "observed"
    sink = net_sink(total_stock(s0), total_stock(s1), y0, y1)
    out = paths.output("net_sink", y0=y0, y1=y1)
    write_cogs([_map(cfg, "net_sink", sink, out, basis=basis, model="stock_difference",
                     inputs=[p0, p1, resolve_densities(cfg)], y0=y0, y1=y1)])
    return out


def uncertainty_parameters(cfg: dict, cc: CompactClasses):
    """The density parameters of a run (sinks.propagation), or None when uncertainty is off or
    the density table has no sd column."""
    from sinks.io.tables import density_distributions
    from sinks.propagation import class_parameters

    unc = cfg["uncertainty"]
    if not unc["enabled"]:
        return None
    _, dens = load_tables(cfg)
    dists = density_distributions(dens)
    if dists is None:
        log.warning("%s has no sd column: no uncertainty can be computed (add sd and "
                    "distribution columns, or use a sinks density table)", dens.path)
        return None
    return class_parameters(dists, cc.table_keys, cfg["carbon"]["paddy_share"], unc["vary_pools"])


def stage_map_uncertainty(cfg: dict, paths: RunPaths, year: int | None = None,
                          period: tuple[int, int] | None = None, chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Per-pixel sd, 2.5 and 97.5 percentile maps of an epoch's carbon stock or a period's net
    sink. A pixel's distribution depends only on its class (pair), so the statistics are
    computed once per class (pair) from the run's draws and looked up per pixel."""
    from sinks.io.outputs import UNCERTAINTY_STATS
    from sinks.propagation import class_statistics

    years = [year] if period is None else list(period)
    src = [epoch_landcover(cfg, paths, y) for y in years]
    codes = [open_raster(p, chunks=chunks) for p in src]
    cc = compact_classes(cfg, codes[0].dtype)
    params = uncertainty_parameters(cfg, cc)
    if params is None:
        raise InputDataError(f"{resolve_densities(cfg)}: uncertainty maps need a density table "
                             "with sd columns, and uncertainty.enabled: true")
    w = params.total_weights()
    centre = sum(cc.density[p] for p in POOLS)
    compact = [apply_lut(c, cc.lut, 0) for c in codes]
    if period is None:
        base, fields = "carbon_stock", {"year": year}
        basis = cfgmod.epoch(cfg, year).basis
        stats = class_statistics(w, centre, params, cfg["uncertainty"])
        layers = {k: _class_lookup(compact[0], v) for k, v in stats.items()}
        if uses_biomass_map(cfg, year):
            layers = _with_map_error(cfg, paths, year, compact[0], cc, params, layers, chunks)
    else:
        y0, y1 = period
        base, fields = "net_sink", {"y0": y0, "y1": y1}
        basis = "scenario" if "scenario" in (cfgmod.epoch(cfg, y0).basis, cfgmod.epoch(cfg, y1).basis) else "observed"
        factor = C_TO_CO2 / (y1 - y0)
        k = w.shape[0]
        coeffs = ((w[None, :, :] - w[:, None, :]) * factor).reshape(k * k, -1)
        pair_centre = ((centre[None, :] - centre[:, None]) * factor).ravel()
        stats = class_statistics(coeffs, pair_centre, params, cfg["uncertainty"])
        layers = {s: _pair_lookup(compact[0], compact[1], v.reshape(k, k)) for s, v in stats.items()}
    approach = ("Monte Carlo" if "monte_carlo" in cfg["uncertainty"]["approaches"] else "Approach 1")
    maps = []
    for stat in UNCERTAINTY_STATS:
        kind = f"{base}_{stat}"
        m = _map(cfg, kind, layers[stat], paths.output(kind, **fields), basis=basis,
                 model=f"uncertainty of {base} by IPCC {approach}, density parameters "
                       f"(seed {cfg['uncertainty']['seed']}, {cfg['uncertainty']['n_draws']} draws)"
                       + (" + the AGB map's pixel error where the map is used"
                          if period is None and uses_biomass_map(cfg, year) else ""),
                 inputs=src + [resolve_densities(cfg)], **fields)
        maps.append(m)
    return write_cogs(maps)


def stage_map_gain_loss_uncertainty(cfg: dict, paths: RunPaths, y0: int, y1: int,
                                    chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Per-pixel sd, 2.5 and 97.5 percentile maps of a period's gain-loss net sink
    (``gain_loss_net_<y0>_<y1>_{sd,p2_5,p97_5}.tif``), IPCC 2006 Vol.1 §3.2.3.2. A pixel's
    rate is its (stratum, class pair) rate plus its conversion-history rate, as in
    :func:`stage_compute_gain_loss`; the statistics are computed from the Monte Carlo draws of
    the registry parameters (the same draws as the table rows) once for every such combination
    present in the map, and looked up per pixel."""
    import dask.array as da

    from sinks.io.outputs import UNCERTAINTY_STATS
    from sinks.uncertainty import interval95

    if "monte_carlo" not in cfg["uncertainty"]["approaches"]:
        raise InputDataError("gain-loss uncertainty maps need uncertainty.approaches to include "
                             "monte_carlo (the rates are products of parameters)")
    src = [epoch_landcover(cfg, paths, y) for y in (y0, y1)]
    cc = compact_classes(cfg, open_raster(src[0], chunks=chunks).dtype)
    compact = [gain_loss_compact(cfg, paths, cc, y, chunks) for y in (y0, y1)]
    grid = compact[0].odc.geobox
    require_same_grid(compact[1], grid, str(src[1]))
    hist = open_raster(paths.conversion_history(y0), chunks=chunks)
    require_same_grid(hist, grid, str(paths.conversion_history(y0)))
    names = gain_loss_names(cfg, cc)
    k, n_soil = len(names), n_soil_strata(cfg)
    n_hist = len(cfgmod.epochs(cfg)) * k * k
    strata = strata_map(cfg, grid, chunks)
    stratum = xr.zeros_like(compact[0], dtype="int64") if strata is None else strata.astype("int64")
    n_pairs = int(np.prod([len(v) for v in strata_levels(cfg).values()])) * k * k
    pair = (stratum * k + compact[0].astype("int64")) * k + compact[1].astype("int64")
    history = (stratum % n_soil) * n_hist + hist.astype("int64")
    managed = apply_lut(compact[1], np.array([n not in (None, LAKE) for n in names]), False)
    combo = (pair * (n_soil * n_hist) + history).where(managed & (compact[0] > 0), -1).astype("int64")
    present = np.unique(da.unique(combo.data).compute())
    present = present[present >= 0]
    draws = gain_loss_rate_draws(cfg, cc, y0, y1)["net"]
    series = (draws[:, present // (n_soil * n_hist)] + draws[:, n_pairs + present % (n_soil * n_hist)]).T
    lo, hi = interval95(series)
    stats = {"sd": series.std(axis=1, ddof=1), "p2_5": lo, "p97_5": hi}
    basis = "scenario" if "scenario" in (cfgmod.epoch(cfg, y0).basis, cfgmod.epoch(cfg, y1).basis) else "observed"
    unc = cfg["uncertainty"]
    maps = []
    for stat in UNCERTAINTY_STATS:
        kind = f"gain_loss_net_{stat}"
        layer = xr.apply_ufunc(functools.partial(_combo_lookup, keys=present, values=stats[stat]),
                               combo, dask="parallelized", output_dtypes=[np.float32])
        m = _map(cfg, kind, layer, paths.output(kind, y0=y0, y1=y1), basis=basis,
                 model=f"uncertainty of gain_loss_net by IPCC Approach 2 (Monte Carlo of the "
                       f"registry parameters, seed {registry_seed(cfg)}, {unc['n_draws']} draws)",
                 inputs=src + ["sinks parameter registry", paths.conversion_history(y0)], y0=y0, y1=y1)
        maps.append(m)
    return write_cogs(maps)


def _combo_lookup(block: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[i]`` where ``block == keys[i]`` (keys sorted), NaN for keys not listed (-1)."""
    out = np.full(block.shape, np.nan, dtype="float32")
    if keys.size:
        i = np.clip(np.searchsorted(keys, block), 0, keys.size - 1)
        hit = keys[i] == block
        out[hit] = values[i[hit]]
    return out


def _with_map_error(cfg, paths, year, compact, cc, params, layers, chunks):
    """Stock uncertainty layers where the AGB map is used: the class-default dead-organic-matter
    and soil densities' sd (Approach 1 or the Monte Carlo sd, as configured), the pixel's AGB
    error as carbon, CF (1 + R) σ, and the carbon factors' error u CF (1 + R) AGB, combined as
    independent: sd = √(sd_other² + (CF (1 + R) σ)² + (u CF (1 + R) AGB)²);
    σ = conformal half-width / z(1 − α/2) (sinks.rs.biomass_model.pixel_sd). The 2.5 and 97.5
    percentiles there are value ∓ 1.96 sd (normal approximation)."""
    from sinks.propagation import class_statistics
    from sinks.rs.biomass_model import pixel_sd

    cf, r = biomass_carbon_factors(cfg)
    side = pd.read_json(paths.biomass_model(cfg["biomass"]["year"]).with_suffix(".json"), typ="series")
    other = params.weights[:, [POOLS.index("dead"), POOLS.index("soc")], :].sum(axis=1)
    centre = sum(cc.density[p] for p in ("dead", "soc"))
    sd_other = _class_lookup(compact, class_statistics(other, centre, params, cfg["uncertainty"])["sd"])
    pools, _ = epoch_stocks(cfg, paths, year, chunks)
    agb = biomass_map(paths, year, compact.odc.geobox, chunks)
    value = total_stock(map_stocks(pools, agb, cf, r))
    u = biomass_factor_sds(cfg)["cf_1r"]  # CF (1 + R): the carbon factors' relative error
    sd = np.sqrt(sd_other ** 2 + (cf * (1 + r) * pixel_sd(side["q"], side["alpha"])) ** 2
                 + (u * cf * (1 + r) * agb) ** 2)
    ok = agb.notnull()
    return {"sd": sd.where(ok, layers["sd"]).astype("float32"),
            "p2_5": (value - 1.96 * sd).where(ok, layers["p2_5"]).astype("float32"),
            "p97_5": (value + 1.96 * sd).where(ok, layers["p97_5"]).astype("float32")}


def _class_lookup(compact: xr.DataArray, per_class: np.ndarray) -> xr.DataArray:
    lut = per_class.astype("float32")
    lut[0] = np.nan
    return apply_lut(compact, lut, np.nan)


def _pair_lookup(c0: xr.DataArray, c1: xr.DataArray, table: np.ndarray,
                 strata: xr.DataArray | None = None) -> xr.DataArray:
    """``table[c0, c1]`` per pixel, or ``table[stratum, c0, c1]`` for a (S, K, K) table (NaN
    where either class is 0 = no data; a (S, K, K) table without strata uses stratum 0)."""
    lut = table.astype("float32").reshape((-1,) + table.shape[-2:])
    lut[:, 0, :] = np.nan
    lut[:, :, 0] = np.nan
    k = lut.shape[-1]
    key = c0.astype("int32") * k + c1.astype("int32")
    if strata is not None:
        key = key + strata.astype("int32") * (k * k)
    return apply_lut(key, lut.ravel(), np.nan)


def strata_map(cfg: dict, grid: GeoBox, chunks: int = DEFAULT_CHUNK) -> xr.DataArray | None:
    """Stratum index per pixel (uint16, :func:`strata_levels`) from the strata rasters
    (``gain_loss.strata``; classes aligned by nearest/mode, codes mapped by the config; nodata
    = the region default), or None without strata rasters. An unmapped code is an error."""
    from sinks.errors import MissingClassError
    from sinks.io.rasters import code_histogram

    st = cfg["gain_loss"]["strata"]
    if not any(st.values()):
        return None
    levels = strata_levels(cfg)
    sizes = [len(v) for v in levels.values()]
    index = None
    for i, (kind, names) in enumerate(levels.items()):
        spec, step = st[kind], int(np.prod(sizes[i + 1:]))
        if not spec:
            continue
        src = open_raster(spec["raster"], chunks=chunks)
        missing = sorted(set(code_histogram(src)) - {int(c) for c in spec["codes"]})
        if missing:
            raise MissingClassError(f"{spec['raster']}: codes {missing} are not in "
                                    f"gain_loss.strata.{kind}.codes; map them to one of "
                                    f"{STRATUM_CLASSES[kind]} or set them to nodata")
        if src.odc.nodata is None:
            src = src.rio.write_nodata(int(np.iinfo(src.dtype).max))
        aligned = align(src, grid, categorical=True, name=f"gain_loss.strata.{kind} ({spec['raster']})",
                        chunks=chunks)
        lut = build_lut({int(c): names.index(v) * step for c, v in spec["codes"].items()},
                        lut_size(src.dtype), 0, dtype="uint16")
        part = apply_lut(aligned, lut, 0)
        index = part if index is None else index + part
    return index


def stage_map_inundation(cfg: dict, paths: RunPaths, chunks: int = DEFAULT_CHUNK) -> Path:
    """Write ``inundation_frequency.tif`` on the run grid (fraction of time flooded, 0-1):
    the given frequency raster (``wetland.inundation``) or the fraction of the water masks
    (``wetland.water_masks``; 1 water, 0 land, nodata = not observed) flagged as water
    (sinks.rs.imagery.inundation_frequency). Inputs are aligned as continuous data (average)."""
    from sinks.rs.imagery import inundation_frequency

    wet = cfg["wetland"]
    grid = run_grid(cfg)
    sources = [wet["inundation"]] if wet["inundation"] else list(wet["water_masks"])
    layers = []
    for path in sources:
        src = open_raster(path, chunks=chunks)
        src = src.astype("float32").where(src != src.odc.nodata) if src.odc.nodata is not None else src.astype("float32")
        layers.append(align(src.rio.write_nodata(np.nan), grid, categorical=False,
                            name=f"wetland inundation input {path}", chunks=chunks))
    freq = layers[0] if wet["inundation"] else inundation_frequency(layers)
    lo, hi = (float(v) for v in dask_min_max(freq))
    if not (0.0 <= lo and hi <= 1.0):
        raise InputDataError(f"{sources[0]}: inundation frequency spans {lo:.3g}-{hi:.3g}; it must "
                             "be a fraction 0-1 (water masks: 1 water, 0 land)")
    mask = _clip_mask(cfg, paths, grid, chunks)
    if mask is not None:
        freq = freq.where(mask)
    basis = "synthetic" if wet["synthetic"] else "observed"
    m = _map(cfg, "inundation_frequency", freq, paths.output("inundation_frequency"), basis=basis,
             model="fraction of observations flooded" if not wet["inundation"] else "given raster",
             inputs=sources)
    if wet["synthetic"]:
        m.description += " (SYNTHETIC)"
    write_cogs([m])
    return paths.output("inundation_frequency")


def dask_min_max(arr: xr.DataArray) -> tuple[float, float]:
    """Minimum and maximum of an array ignoring NaN (a reduction: small result); (0, 0) if empty."""
    import dask

    lo, hi = dask.compute(arr.min(skipna=True), arr.max(skipna=True))
    lo, hi = float(lo), float(hi)
    return (0.0, 0.0) if np.isnan(lo) else (lo, hi)


def inundation(cfg: dict, paths: RunPaths, grid: GeoBox, chunks: int = DEFAULT_CHUNK) -> xr.DataArray:
    """The run's inundation frequency (0-1, NaN = not observed), checked to be on the grid."""
    path = paths.output("inundation_frequency")
    f = open_raster(path, chunks=chunks)
    require_same_grid(f, grid, str(path))
    return f.where(f != f.odc.nodata)


def gain_loss_compact(cfg: dict, paths: RunPaths, cc: CompactClasses, year: int,
                      chunks: int = DEFAULT_CHUNK) -> xr.DataArray:
    """Gain-loss class index map of an epoch: the compact classes, with wetland- or
    water-class pixels flooded at least ``wetland.open_water_threshold`` of the time set to
    ``lake_open_water`` (index K) when ``wetland.enabled`` (sinks.models.wetland.is_lake)."""
    from sinks.models.wetland import is_lake

    path = epoch_landcover(cfg, paths, year)
    compact = apply_lut(open_raster(path, chunks=chunks), cc.lut, 0)
    if not cfg["wetland"]["enabled"]:
        return compact
    names = gain_loss_names(cfg, cc)
    wet = apply_lut(compact, np.array([n in WET_CLASSES for n in names]), False)
    lake = is_lake(wet, inundation(cfg, paths, compact.odc.geobox, chunks),
                   cfg["wetland"]["open_water_threshold"])
    return compact.where(~lake, names.index(LAKE)).astype(compact.dtype)


def history_dtype(cfg: dict, k: int) -> str:
    n = len(cfgmod.epochs(cfg)) * k * k
    if n > 65535:
        raise InputDataError(f"{len(cfgmod.epochs(cfg))} epochs x {k} classes squared = {n} "
                             "conversion-history codes: more than uint16 holds; use fewer codes")
    return "uint16"


def stage_track_conversions(cfg: dict, paths: RunPaths, year: int, chunks: int = DEFAULT_CHUNK) -> Path:
    """Write ``interim/conversion_history_<year>.tif``: per pixel, the last land-use conversion
    whose soil is still moving at ``year`` (Eq. 2.25: D = 20 yr after it), as a code of
    (epoch of the conversion, class before, class after); 0 = none. Computed epoch after epoch
    from the previous epoch's history, so land converted to X stays "land converted" for D
    years and then is "X remaining X"."""
    from sinks.models.gain_loss import next_history

    eps = cfgmod.epochs(cfg)
    years = [e.year for e in eps]
    i = years.index(year)
    first = open_raster(epoch_landcover(cfg, paths, years[0]), chunks=chunks)
    cc = compact_classes(cfg, first.dtype)
    k = len(gain_loss_names(cfg, cc))
    dtype = history_dtype(cfg, k)
    if i == 0:
        hist = xr.zeros_like(first, dtype=dtype)
    else:
        prev = open_raster(paths.conversion_history(years[i - 1]), chunks=chunks)
        require_same_grid(prev, first.odc.geobox, str(paths.conversion_history(years[i - 1])))
        c0, c1 = (gain_loss_compact(cfg, paths, cc, y, chunks) for y in years[i - 1:i + 1])
        keep = history_keep(cfg, gain_loss_names(cfg, cc), year)
        kernel = functools.partial(next_history, epoch_index=i - 1, keep=keep, k=k)
        hist = xr.apply_ufunc(kernel, prev, c0, c1, dask="parallelized", output_dtypes=[np.dtype(dtype)])
    out = paths.conversion_history(year)
    m = MapToWrite(hist, out, dtype, None,
                   f"Land-use conversion history at {year} (epoch, class before, class after)",
                   "code", _tags(cfg, model="conversion tracking, IPCC Eq. 2.25 (D years)",
                                 inputs=[epoch_landcover(cfg, paths, y) for y in years[:i + 1]],
                                 basis=eps[i].basis, kind="conversion_history",
                                 epochs=",".join(map(str, years)), classes=str(k)), "nearest")
    write_cogs([m])
    return out


def stage_compute_gain_loss(cfg: dict, paths: RunPaths, y0: int, y1: int,
                            chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Write the gain-loss net sink, gross removals and gross emissions maps of a period
    (Mg CO2 ha-1 yr-1, net: positive = sink), and with ``wetland.ch4`` the CH4 map
    (Mg CO2e ha-1 yr-1, negative = source). A pixel's rates depend on its class pair and its
    conversion history; pixels of natural lake open water at y1 are nodata (not managed land)."""
    from sinks.io.outputs import GAIN_LOSS_CITATION

    src = [epoch_landcover(cfg, paths, y) for y in (y0, y1)]
    first = open_raster(src[0], chunks=chunks)
    cc = compact_classes(cfg, first.dtype)
    compact = [gain_loss_compact(cfg, paths, cc, y, chunks) for y in (y0, y1)]
    require_same_grid(compact[1], compact[0].odc.geobox, str(src[1]))
    hist = open_raster(paths.conversion_history(y0), chunks=chunks)
    require_same_grid(hist, compact[0].odc.geobox, str(paths.conversion_history(y0)))
    rates = stratified_rates(cfg, cc, y0, y1)
    names = gain_loss_names(cfg, cc)
    strata = strata_map(cfg, compact[0].odc.geobox, chunks)
    managed = apply_lut(compact[1], np.array([n != LAKE for n in names]), False)
    basis = "scenario" if "scenario" in (cfgmod.epoch(cfg, y0).basis, cfgmod.epoch(cfg, y1).basis) else "observed"
    n_hist = rates["history_net"].shape[1]
    hist_key = hist.astype("int32") if strata is None else strata.astype("int32") * n_hist + hist
    layers = {kind: (_pair_lookup(compact[0], compact[1], rates[key], strata)
                     + apply_lut(hist_key, rates[f"history_{key}"].ravel().astype("float32"), np.nan)).where(managed)
              for kind, key in (("gain_loss_net", "net"), ("gross_removals", "removals"),
                                ("gross_emissions", "emissions"))}
    if cfg["wetland"]["enabled"] and cfg["wetland"]["ch4"]:
        layers["ch4_emissions_co2e"] = ch4_map(cfg, paths, cc, compact[1], chunks)
    maps = []
    for kind, layer in layers.items():
        m = _map(cfg, kind, layer, paths.output(kind, y0=y0, y1=y1), basis=basis,
                 model=f"gain_loss (forest growth stratum {cfg['gain_loss']['forest_growth']}, "
                       f"climate zone {cfg['gain_loss']['climate_zone']}"
                       + "".join(f", {k} raster" for k, v in cfg["gain_loss"]["strata"].items() if v) + ")",
                 inputs=src + [resolve_densities(cfg), "sinks parameter registry",
                               paths.conversion_history(y0)], y0=y0, y1=y1)
        m.tags["citation"] = CH4_CITATION if kind == "ch4_emissions_co2e" else GAIN_LOSS_CITATION
        maps.append(m)
    return write_cogs(maps)


CH4_CITATION = ("IPCC 2013 Wetlands Supplement Ch.5 (Tier 1 CH4 = area x EF); GWP100 IPCC AR5 WG1 "
                "Ch.8 Table 8.7 (28) or AR6 WG1 Ch.7 Table 7.15 (27.0, non-fossil)")


def ch4_map(cfg: dict, paths: RunPaths, cc: CompactClasses, compact1: xr.DataArray,
            chunks: int = DEFAULT_CHUNK) -> xr.DataArray:
    """CH4 per pixel as CO2e (Mg CO2e ha-1 yr-1, negative = source): wetland on mineral soil
    at the period's end emits EF × its flooded fraction; other managed land 0; lake open water
    and no data NaN."""
    names = gain_loss_names(cfg, cc)
    per_class = np.array([np.nan if n in (None, LAKE) else (1.0 if n == "wetland" else 0.0) for n in names])
    f = inundation(cfg, paths, compact1.odc.geobox, chunks).fillna(0.0)
    return (apply_lut(compact1, per_class.astype("float32"), np.nan) * f * np.float32(ch4_rate(cfg))).astype("float32")


# --- imagery features (sinks.rs) ----------------------------------------------------------

INDEX_CITATION = "Awesome Spectral Indices (Montero et al. 2023, Sci. Data 10:197) via spyndex"


def scene_spec(scene: dict, key: str) -> tuple[dict, float, float]:
    """Band mapping, scale and offset of a configured scene (preset, then explicit keys)."""
    from sinks.rs.imagery import LANDSAT_C2_L2, SENTINEL2_L2A

    preset = {"sentinel2_l2a": SENTINEL2_L2A, "landsat_c2_l2": LANDSAT_C2_L2}.get(scene["preset"], {})
    bands = scene["bands"] or preset.get("bands")
    scale = scene["scale"] if scene["scale"] is not None else preset.get("scale")
    offset = scene["offset"] if scene["offset"] is not None else preset.get("offset", 0.0)
    if bands is None or scale is None:
        raise InputDataError(f"{key}: no preset, so bands and scale must be given (e.g. bands: "
                             "{R: 3, N: 4}, scale: 1.0e-4)")
    return bands, scale, offset


def stage_extract_features(cfg: dict, paths: RunPaths, year: int, chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Write interim/index_<NAME>_<year>.tif for every imagery.indices name: the epoch's scenes
    read as reflectance (checked: bands, scale, CRS), each checked to overlap the run grid,
    aligned to it and composited (imagery.composite), then the index computed lazily."""
    from sinks.rs.imagery import open_scene
    from sinks.rs.indices import compute_index
    from sinks.rs.scene_grid import composite_on_grid

    img = cfg["imagery"]
    if str(year) not in img["scenes"] or not img["indices"]:
        raise InputDataError(f"{cfg['_source']}: imagery.scenes.{year} or imagery.indices is not "
                             "set; list the scenes of that epoch and the indices to compute")
    grid = run_grid(cfg)
    scenes, sources = [], []
    for i, sc in enumerate(img["scenes"][str(year)]):
        bands, scale, offset = scene_spec(sc, f"{cfg['_source']}: imagery.scenes.{year}[{i}]")
        scenes.append(open_scene(sc["path"], bands, scale, offset, sc["quality_band"],
                                 sc["keep_values"], chunks))
        sources.append(sc["path"])
    comp = composite_on_grid(scenes, grid, img["composite"], sources, chunks)
    maps = []
    for name in img["indices"]:
        m = _map(cfg, "index", compute_index(name, comp).astype("float32"), paths.index(name, year),
                 basis=cfgmod.epoch(cfg, year).basis,
                 model=f"{img['composite']} composite of {len(scenes)} scene(s); index {name}",
                 inputs=sources, name=name, year=year)
        m.tags["citation"] = INDEX_CITATION
        maps.append(m)
    return write_cogs(maps)


# --- plot-calibrated biomass (sinks.rs) ---------------------------------------------------

def synthetic_inputs(cfg: dict, years: list[int]) -> list[str]:
    """What is SYNTHETIC in the biomass maps of ``years``: 'plots' when the model was trained on
    simulated plots, 'features' when a feature raster of those years is tagged SYNTHETIC=true
    (e.g. the demo's derived NDVI epoch)."""
    import rasterio

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


def _label_synthetic(cfg: dict, m: MapToWrite, years: list[int]) -> None:
    """Add '(SYNTHETIC plots, features)' to a biomass-derived map's description and tags."""
    what = synthetic_inputs(cfg, years)
    if what:
        m.description += f" (SYNTHETIC {', '.join(what)})"
        m.tags["synthetic"] = f"true: {' and '.join(what)} simulated (see the README, Remote sensing)"


def feature_paths(cfg: dict, paths: RunPaths, year: int) -> dict[str, Path]:
    """Raster of each biomass feature for an epoch: the configured path, or for 'index:NAME'
    the index made from that year's scenes by stage_extract_features."""
    out = {}
    for name, src in cfgmod.feature_sources(cfg, year).items():
        index = src[len(cfgmod.INDEX_PREFIX):] if src.startswith(cfgmod.INDEX_PREFIX) else None
        out[name] = paths.index(index, year) if index else Path(src)
    return out


def _biomass_inputs(cfg: dict, paths: RunPaths, chunks: int, year: int):
    """Features of an epoch aligned to the run grid (continuous: average/bilinear) and the
    valid-pixel mask (ecosystem of that epoch in ``valid_classes``)."""
    bio = cfg["biomass"]
    legend, _ = load_tables(cfg)
    if year is None or legend is None or not bio["features"]:
        raise InputDataError("biomass: set biomass.year (an epoch), biomass.features and "
                             "landcover.legend to train a biomass model")
    codes = open_raster(epoch_landcover(cfg, paths, year), chunks=chunks)
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


def stage_train_biomass(cfg: dict, paths: RunPaths, chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Plots (given, or SYNTHETIC from the simulator) -> features at the plots -> model with
    spatial-block CV and conformal intervals; writes the model, the CV table and figure."""
    from sinks.rs.biomass_model import fit_biomass_model, save_model
    from sinks.rs.plot_table import read_plot_table
    from sinks.rs.plots import simulate_plots

    bio = cfg["biomass"]
    feats, valid, grid = _biomass_inputs(cfg, paths, chunks, bio["year"])
    feats, valid = feats.load(), valid.load()
    first = next(iter(feats.data_vars))
    if bio["plots"] is None:
        plots = simulate_plots(valid, feats[first], bio["simulate_n"], bio["seed"], bio["year"])
        source = plots.attrs["synthetic"]
        log.warning("biomass: %s", source)
    else:
        source = bio["plots"]
        plots = read_plot_table(source, region_crs=grid.crs.to_wkt(), epoch_year=bio["year"],
                                region_bounds=tuple(grid.boundingbox),
                                max_year_gap=bio["max_year_gap"])
    x, y = plots.geometry.x.to_numpy(), plots.geometry.y.to_numpy()
    table = pd.DataFrame({n: feats[n].sel(x=xr.DataArray(x), y=xr.DataArray(y), method="nearest").values
                          for n in feats.data_vars})
    ok = table.notna().all(axis=1).to_numpy()
    model = fit_biomass_model(table[ok], plots["agb"].to_numpy()[ok], x[ok], y[ok],
                              bio["block_size"], bio["model"], bio["alpha"], seed=bio["seed"])
    year = bio["year"]
    paths.outputs.mkdir(parents=True, exist_ok=True)
    written = [save_model(model, paths.biomass_model(year))]
    cv = model.cv.assign(alpha=bio["alpha"], conformal_half_width=model.q, plots=source,
                         synthetic=bio["plots"] is None)
    cv.to_csv(paths.outputs / f"biomass_cv_{year}.csv", index=False)
    plots.assign(predicted_oof=np.nan).to_file(paths.outputs / f"biomass_plots_{year}.gpkg")
    _cv_figure(model, year, bio["plots"] is None, paths.outputs / f"biomass_cv_{year}.png")
    log.info("biomass model %d: spatial CV RMSE %.1f Mg/ha, R2 %.2f, held-out coverage of the "
             "%.0f %% interval %.2f", year, *model.cv.set_index("fold").loc["all", ["rmse", "r2"]],
             100 * (1 - bio["alpha"]), model.cv.set_index("fold").loc["all", "coverage"])
    return written


def _cv_figure(model, year: int, synthetic: bool, out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    o = model.oof
    ax.scatter(o.observed, o.predicted, s=8, c=o.fold, cmap="tab10")
    lim = [0, max(o.observed.max(), o.predicted.max()) * 1.05]
    ax.plot(lim, lim, "k-", lw=0.8)
    ax.set_xlabel("observed AGB, Mg/ha" + (" (SYNTHETIC plots)" if synthetic else ""))
    ax.set_ylabel("predicted AGB (held-out spatial fold), Mg/ha")
    a = model.cv.set_index("fold").loc["all"]
    ax.set_title(f"biomass model {year}: RMSE {a.rmse:.1f}, bias {a.bias:.1f}, R² {a.r2:.2f},\n"
                 f"{100 * (1 - model.alpha):.0f} % interval coverage {a.coverage:.2f}", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def stage_predict_biomass(cfg: dict, paths: RunPaths, year: int | None = None,
                          chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Write agb_<year>.tif and its interval maps (Mg d.m. ha-1), block by block, for an epoch
    of biomass.years (default the training year) with the model trained at biomass.year."""
    from sinks.rs.biomass_model import load_model, predict_blockwise

    bio = cfg["biomass"]
    year = bio["year"] if year is None else year
    if year not in bio["years"]:
        raise InputDataError(f"{cfg['_source']}: biomass.years {bio['years']} has no {year}; "
                             "add it to map the biomass of that epoch")
    feats, valid, _ = _biomass_inputs(cfg, paths, chunks, year)
    model, side = load_model(paths.biomass_model(bio["year"]), list(feats.data_vars))
    out = predict_blockwise(model, side["q"], feats, valid)
    basis = biomass_basis(cfg, [year])
    inputs = [str(p) for p in feature_paths(cfg, paths, year).values()] + [paths.biomass_model(bio["year"])]
    maps = []
    for kind in ("agb", "agb_low", "agb_high"):
        m = _map(cfg, kind, out[kind], paths.output(kind, year=year), basis=basis,
                 model=f"{bio['model']} on {list(feats.data_vars)} trained at {bio['year']}; "
                       f"conformal {100 * (1 - bio['alpha']):.0f} % interval",
                 inputs=inputs, year=year)
        _label_synthetic(cfg, m, [year])
        maps.append(m)
    return write_cogs(maps)


def stage_compute_rs_sink(cfg: dict, paths: RunPaths, y0: int, y1: int,
                          chunks: int = DEFAULT_CHUNK) -> Path:
    """Write ``rs_net_sink_<y0>_<y1>.tif``: the remote-sensing forest sink (Mg CO2 ha-1 yr-1,
    + = sink), IPCC 2006 Vol.4 Ch.2 Eq. 2.5 on the biomass carbon of the two maps,
    (AGB₁ − AGB₀) × CF × (1 + R) / (t₁ − t₀) × 44/12, on pixels mapped at both ends (NaN
    elsewhere: a pixel mapped at one end only would mix a map with a class default)."""
    years = cfg["biomass"]["years"] if cfg["biomass"]["enabled"] else []
    missing = [y for y in (y0, y1) if y not in years]
    if missing:
        raise InputDataError(f"{cfg['_source']}: rs sink {y0}-{y1}: no biomass map for {missing} "
                             f"(biomass.years = {years}); a biomass-map stock is never differenced "
                             "against a class-default one: add the year to biomass.years")
    grid = run_grid(cfg)
    a0, a1 = (biomass_map(paths, y, grid, chunks) for y in (y0, y1))
    cf, r = biomass_carbon_factors(cfg)
    sink = net_sink(a0 * (cf * (1 + r)), a1 * (cf * (1 + r)), y0, y1)
    basis = biomass_basis(cfg, [y0, y1])
    out = paths.output("rs_net_sink", y0=y0, y1=y1)
    m = _map(cfg, "rs_net_sink", sink, out, basis=basis,
             model=f"stock difference of biomass maps (AGB x CF {cf:g} x (1 + R {r:g})), "
                   f"one model trained at {cfg['biomass']['year']}",
             inputs=[paths.output("agb", year=y) for y in (y0, y1)], y0=y0, y1=y1)
    _label_synthetic(cfg, m, [y0, y1])
    write_cogs([m])
    return out


# --- sink potential -----------------------------------------------------------------------

def stage_map_potential(cfg: dict, paths: RunPaths, chunks: int = DEFAULT_CHUNK) -> list[Path]:
    """Write sink_potential_<scenario>_<year>.tif (Mg CO2 ha-1 yr-1, SCENARIO) for every
    scenario and target year: a look-up of the last epoch's ecosystem class (0 for classes the
    scenario does not grow, nodata outside the land cover)."""
    legend, _ = load_tables(cfg)
    if legend is None:
        raise InputDataError("potential needs landcover.legend (forest and suitable classes)")
    last = cfgmod.epochs(cfg)[-1]
    src = epoch_landcover(cfg, paths, last.year)
    codes = open_raster(src, chunks=chunks)
    eco = apply_lut(codes, ecosystem_lut(legend, lut_size(codes.dtype)), 0)
    names = ["none"] + [ECOSYSTEMS[c] for c in sorted(ECOSYSTEMS)]
    maps = []
    for (scenario, year), per_ha in potential_rates(cfg, names, last.year).items():
        lut = np.zeros(len(names), dtype="float32")
        lut[0] = np.nan
        for c, rate in per_ha.items():
            lut[c] = rate
        m = _map(cfg, "sink_potential", apply_lut(eco, lut, np.nan),
                 paths.output("sink_potential", scenario=scenario, year=year), basis="scenario",
                 model="Chapman-Richards growth curve (sinks.models.potential)",
                 inputs=[src, "sinks parameter registry"], scenario=scenario, year=year)
        maps.append(m)
    return write_cogs(maps)

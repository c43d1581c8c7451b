"""The forest strata map of the inventory year (one stratum code per forest pixel) and the
stand volume and biomass carbon maps made from it. Strata come, in order of preference, from
(a) sub-compartment polygons, (b) a strata raster, (c) area shares per zone from inventory
statistics, applied to the forest pixels of each zone; a pixel takes the first source that
covers it."""

from __future__ import annotations

import logging
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from sinks.errors import InputDataError, MissingClassError
from sinks.forest.rates import strata_values
from sinks.forest.sources import active_strata
from sinks.forest.subcompartments import rasterize_subcompartments, read_subcompartments
from sinks.forest.tables import NO_AGE_TYPES, age_bounds, all_strata, load_shares, shares_path, stratum_codes
from sinks.grid import align
from sinks.io.rasters import code_histogram, open_raster, write_cogs
from sinks.landcover import apply_lut, build_lut, lut_size
from sinks.parameters import value
from sinks.run import Run
from sinks import config as cfgmod
from sinks import tiles
from sinks.grid import pixel_area_ha

log = logging.getLogger(__name__)
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def forest_year(cfg: dict) -> int:
    """The inventory year of the strata: ``forest.year`` or the first epoch."""
    return cfg["forest"]["year"] or cfgmod.epochs(cfg)[0].year


def forest_mask(run: Run, year: int) -> xr.DataArray:
    """Forest pixels of an epoch (ecosystem class forest by the legend)."""
    codes = open_raster(run.landcover_path(year), chunks=run.chunks)
    lut = build_lut({c: 1 for c, e in run.legend.items() if e == "forest"}, lut_size(codes.dtype), 0, "uint8")
    return apply_lut(codes, lut, 0).astype(bool)


def pixel_uniform(shape: tuple[int, int], seed: int, chunks) -> da.Array:
    """A uniform number in [0, 1) per pixel from a hash (SplitMix64) of its row, column and the
    seed: the same for any chunking, so the allocation of shares is reproducible."""

    def block(x, block_info=None):
        (r0, r1), (c0, c1) = block_info[None]["array-location"]
        rows, cols = np.meshgrid(np.arange(r0, r1, dtype="uint64"), np.arange(c0, c1, dtype="uint64"),
                                 indexing="ij")
        with np.errstate(over="ignore"):
            z = (rows * np.uint64(shape[1]) + cols + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)) & _M64
            z = (z + np.uint64(0x9E3779B97F4A7C15)) & _M64
            z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _M64
            z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _M64
            z = z ^ (z >> np.uint64(31))
        return (z >> np.uint64(11)).astype("float64") / float(1 << 53)

    template = da.empty(shape, chunks=chunks, dtype="float64")
    return da.map_blocks(block, template, dtype="float64")


def share_matrix(run: Run) -> tuple[xr.DataArray, np.ndarray]:
    """The zone index map of ``forest.shares_level`` and the cumulative shares of every stratum
    per zone index, (n_zones + 1, S): each zone's own rows, else the ``*`` rows; zone 0
    (outside every zone) takes the ``*`` rows too. A zone without either is an error."""
    cfg = run.cfg
    fc = cfg["forest"]
    path = shares_path(fc["shares"])
    table = load_shares(path)
    level = fc["shares_level"]
    zones = pd.read_csv(run.paths.zones_table(level), dtype={"zone_id": str})
    index = run.open_on_grid(run.paths.zones(level))
    codes = stratum_codes()
    per_zone = {zid: np.zeros(len(codes)) for zid in table["zone_id"].unique()}
    for r in table.itertuples():
        per_zone[r.zone_id][codes[(r.forest_type, r.origin, r.age_class)] - 1] = r.share
    default = per_zone.get("*")
    rows = [default]
    missing = []
    for zid in zones["zone_id"]:
        own = per_zone.get(zid, default)
        if own is None:
            missing.append(zid)
        rows.append(own)
    if missing:
        raise InputDataError(f"{path}: no shares for {level} zone(s) {missing[:10]} and no '*' rows; "
                             "add their rows or a '*' row set for every other zone")
    unknown = sorted(set(per_zone) - set(zones["zone_id"]) - {"*"})
    if unknown:
        raise InputDataError(f"{path}: zone_id(s) {unknown[:10]} are not {level} zones of the run "
                             f"(zones_{level}.csv); check forest.shares_level")
    if default is None:
        rows[0] = np.zeros(len(codes))
    return index, np.cumsum(np.array(rows), axis=1)


def _allocate(zone: np.ndarray, u: np.ndarray, forest: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Stratum code per pixel: the first stratum whose cumulative share in the pixel's zone
    exceeds the pixel's uniform number; 0 off forest (or where the zone has no shares)."""
    z = zone.astype("int64")
    c = cum[z]  # (..., S)
    code = (c <= u[..., None]).sum(axis=-1) + 1
    ok = forest & (c[..., -1] > 0)
    return np.where(ok, np.minimum(code, cum.shape[1]), 0).astype("uint16")


def strata_from_raster(run: Run, grid) -> xr.DataArray:
    """(b) Stratum codes from ``forest.raster`` (classes aligned by nearest/mode; its codes
    mapped to ``type/origin/age_class`` ids by ``forest.raster.codes``; nodata = no stratum)."""
    spec = run.cfg["forest"]["raster"]
    src = open_raster(spec["raster"], chunks=run.chunks)
    ids = {s.id: code for code, s in enumerate(all_strata(), start=1)}
    bad = sorted({v for v in spec["codes"].values() if v not in ids})
    if bad:
        raise InputDataError(f"forest.raster.codes: {bad} are not strata; use type/origin/age_class "
                             f"ids such as {list(ids)[:3]}")
    missing = sorted(set(code_histogram(src)) - {int(c) for c in spec["codes"]})
    if missing:
        raise MissingClassError(f"{spec['raster']}: codes {missing} are not in forest.raster.codes; "
                                "map them to strata or set them to nodata")
    if src.odc.nodata is None:
        src = src.rio.write_nodata(int(np.iinfo(src.dtype).max))
    aligned = align(src, grid, categorical=True, name=f"forest.raster ({spec['raster']})", chunks=run.chunks)
    lut = build_lut({int(c): ids[v] for c, v in spec["codes"].items()}, lut_size(src.dtype), 0, dtype="uint16")
    return apply_lut(aligned, lut, 0)


def strata_and_volume(run: Run) -> tuple[xr.DataArray, xr.DataArray | None, list[str]]:
    """The stratum code map of the inventory year's forest (0 = no stratum), the stand volume
    of the sub-compartments where they give one (m3 ha-1, NaN elsewhere; None without them)
    and the sources used, first source first."""
    cfg = run.cfg
    fc = cfg["forest"]
    year = forest_year(cfg)
    forest = forest_mask(run, year)
    grid = forest.odc.geobox
    code, volume, used = None, None, []
    if fc["subcompartments"]:
        sc = fc["subcompartments"]
        gdf = read_subcompartments(sc["path"], sc["fields"], sc["codes"], age_bounds, layer=sc["layer"],
                                    encoding=sc["encoding"])
        code, volume = rasterize_subcompartments(gdf, grid, stratum_codes(), run.chunks)
        used.append(f"sub-compartments {sc['path']} ({len(gdf)} polygons)")
    if fc["raster"]:
        part = strata_from_raster(run, grid)
        code = part if code is None else xr.where(code > 0, code, part)
        used.append(f"strata raster {fc['raster']['raster']}")
    if fc["shares"]:
        index, cum = share_matrix(run)
        u = pixel_uniform(grid.shape.yx, fc["seed"], forest.data.chunks)
        part = forest.copy(data=da.map_blocks(_allocate, index.data, u, forest.data, cum, dtype="uint16"))
        code = part if code is None else xr.where(code > 0, code, part)
        used.append(f"inventory shares {shares_path(fc['shares'])} per {fc['shares_level']} (seed {fc['seed']})")
    if code is None:
        raise InputDataError(f"{cfg['_source']}: forest.enabled needs a strata source: "
                             "forest.subcompartments, forest.raster or forest.shares")
    code = code.where(forest, 0).astype("uint16")
    if volume is not None:
        volume = volume.where(code > 0)
    return code, volume, used


def stratum_table(run: Run, reg=None) -> pd.DataFrame:
    """Per stratum code: id, Chinese name, volume and increment (m3 ha-1 (yr-1)), biomass
    (t d.m. ha-1), AGB and BGB carbon (Mg C ha-1) and gain (Mg C ha-1 yr-1) of the registry."""
    reg = run.registry if reg is None else reg
    out = []
    strata = all_strata()
    for code, (s, v) in enumerate(zip(strata, strata_values(reg, strata, active_strata(run.cfg))), start=1):
        out.append({"code": code, "stratum": s.id, "name_zh": s.name_zh, "forest_type": s.forest_type,
                    "origin": s.origin, "age_class": s.age_class, "volume_m3_ha": float(v.volume),
                    "increment_m3_ha_yr": float(v.increment), "biomass_t_ha": float(v.biomass),
                    "agb_c": float(v.agb_c), "bgb_c": float(v.bgb_c), "gain_c": float(v.gain_c)})
    return pd.DataFrame(out)


TYPE_COLOURS = {"chinese_fir": (27, 120, 55), "masson_pine": (140, 81, 10), "other_conifer": (1, 102, 94),
                "broadleaf": (102, 189, 99), "mixed": (166, 97, 26), "bamboo": (184, 225, 134),
                "economic": (223, 194, 125)}


AGE_SHADES = {"young": 0.55, "middle": 0.35, "near_mature": 0.15, "mature": 0.0, "over_mature": -0.2}


def strata_colours(strata: list) -> dict[int, tuple[int, int, int, int]]:
    """Colour of each stratum code (the QGIS legend of forest_strata.tif): its forest type's,
    mixed with white for young stands and with black for over-mature ones (AGE_SHADES),
    natural stands a little greyer than planted ones."""
    out = {}
    for code, s in enumerate(strata, start=1):
        rgb = np.array(TYPE_COLOURS[s.forest_type], dtype=float)
        shade = AGE_SHADES.get(s.age_class, 0.0)
        rgb = rgb + (255 - rgb) * shade if shade >= 0 else rgb * (1 + shade)
        if s.origin == "natural":
            rgb = 0.8 * rgb + 0.2 * rgb.mean()
        out[code] = (*(int(round(v)) for v in rgb), 255)
    return out


def map_forest_strata(run: Run) -> list[Path]:
    """Write ``forest_strata.tif`` (stratum code per forest pixel of the inventory year; the
    code table in its tags and ``forest_strata_codes.csv``), ``forest_volume.tif`` (stand
    volume, m3 ha-1: the sub-compartment's where given, else the stratum's yield-curve volume)
    and ``forest_biomass_carbon.tif`` (AGB + BGB carbon from volume, Mg C ha-1)."""
    cfg = run.cfg
    year = forest_year(cfg)
    code, volume, used = strata_and_volume(run)
    table = stratum_table(run)
    strata = all_strata()
    lut_v = np.concatenate([[np.nan], table["volume_m3_ha"].to_numpy()]).astype("float32")
    vol = apply_lut(code, lut_v, np.nan)  # 0 for bamboo and economic forest
    if volume is not None:
        vol = xr.where(volume.notnull(), volume, vol).astype("float32")
    reg = run.registry
    cf = value(reg, "carbon_fraction")
    # per stratum: B = a V + b (Fang); bamboo and economic forest: a = 0, b = their biomass
    a = np.zeros(len(strata) + 1)
    b = np.zeros(len(strata) + 1)
    active = set(active_strata(cfg))
    for i, s in enumerate(strata, start=1):
        if s not in active:
            continue
        if s.forest_type in NO_AGE_TYPES:
            b[i] = table.loc[i - 1, "biomass_t_ha"]
        else:
            a[i], b[i] = value(reg, f"fang_a_{s.forest_type}"), value(reg, f"fang_b_{s.forest_type}")
    biomass = apply_lut(code, a.astype("float32"), np.nan) * vol.fillna(0) + apply_lut(code, b.astype("float32"), np.nan)
    carbon = (biomass * cf).where(code > 0).astype("float32")
    basis = forest_basis(cfg)
    inputs = [run.landcover_path(year), *used]
    m_code = run.map("forest_strata", code, basis=basis, model="; ".join(used), inputs=inputs,
                     colormap=strata_colours(strata), year=year)
    m_code.class_labels = {c: f"{s.name_zh} ({s.id})" for c, s in enumerate(strata, start=1)}
    m_code.tags.update({f"CLASS_{c}": f"{s.id} ({s.name_zh})" for c, s in enumerate(strata, start=1)})
    maps = [m_code,
            run.map("forest_volume", vol.where(code > 0).astype("float32"), basis=basis,
                    model="sub-compartment volume, else the stratum's yield-curve volume", inputs=inputs, year=year),
            run.map("forest_biomass_carbon", carbon, basis=basis,
                    model=f"Fang BEF B = aV + b (bamboo, economic: per-hectare biomass) x CF {cf:g}",
                    inputs=inputs, year=year)]
    written = write_cogs(maps)
    table.to_csv(run.paths.output("forest_strata_codes"), index=False)
    for line in used:
        log.info("forest strata %d: %s", year, line)
    return written + [run.paths.output("forest_strata_codes")]


def forest_basis(cfg: dict) -> str:
    """Basis of the forest outputs: the inventory epoch's, plus 'synthetic sub-compartments'
    when the polygons are SYNTHETIC (``forest.subcompartments.synthetic``)."""
    basis = cfgmod.epoch(cfg, forest_year(cfg)).basis
    sc = cfg["forest"]["subcompartments"]
    return basis + ("; synthetic sub-compartments" if sc and sc.get("synthetic") else "")


def stratum_areas(run: Run) -> np.ndarray:
    """Area (ha) of each stratum (code order) in the run region's strata map (the whole grid,
    also in a tile's job: the region's mean rates weigh them), read once per run."""
    cached = run.__dict__.get("_forest_stratum_areas")
    if cached is not None:
        return cached
    with tiles.active(None):
        code = run.open_on_grid(run.paths.output("forest_strata"))
    area = pixel_area_ha(code.odc.geobox, run.chunks)
    n = len(all_strata()) + 1
    sums = da.bincount(code.data.ravel().astype("int64"), weights=area.data.ravel(), minlength=n)
    out = np.asarray(sums.compute())[1:n]
    run.__dict__["_forest_stratum_areas"] = out
    return out

"""Preparation stages: the resolved config, zones on the run grid, land cover aligned (observed
epochs) or derived (scenario epochs), and the ecosystem class maps. One function per rule."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import pandas as pd
from odc.geo.xr import wrap_xr

from sinks import config as cfgmod
from sinks import tiles
from sinks.constants import REGION_LEVEL
from sinks.errors import EmptyDataError, InputDataError
from sinks.grid import align, describe, on_grid
from sinks.inputs import check_epoch_raster
from sinks.io.outputs import LEGEND_CITATION
from sinks.io.rasters import (MapToWrite, code_histogram, map_spec_path, open_raster, read_map_spec,
                              write_cogs)
from sinks.io.vectors import read_zone_entry
from sinks.landcover import ECOSYSTEM_COLOURS, ECOSYSTEMS, apply_lut, ecosystem_lut, lut_size
from sinks.run import Run
from sinks.scenario import derive_epoch
from sinks.zones import rasterize_zones as rasterize

log = logging.getLogger(__name__)

def write_run_config(run: Run) -> Path:
    """Write the resolved config (provenance) atomically, and keep a copy under its hash.

    A config edit reruns only the jobs it affects, so the maps of one run folder may carry
    several ``config_hash`` tags: each names its config in ``configs/<hash>.yaml``."""
    cfg, paths = run.cfg, run.paths
    text = cfgmod.resolved_yaml(cfg)
    for out in (paths.config_archive(cfgmod.config_hash(cfg)), paths.run_config()):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    return paths.run_config()


def rasterize_zones(run: Run) -> list[Path]:
    """Rasterize every zone level once onto the run grid (index raster + id/name table)."""
    cfg, paths, chunks = run.cfg, run.paths, run.chunks
    grid = run.grid
    log.info("run grid: %s", describe(grid))
    written = []
    layers = cfg["zones"] or [None]
    for zone in layers:
        if zone is None:
            level, table = REGION_LEVEL, pd.DataFrame({"zone_id": ["region"], "zone_name": ["whole grid"]})
            index = on_grid(np.ones(grid.shape.yx, dtype="uint32"), grid).chunk(chunks)
        else:
            level = zone["level"]
            gdf = read_zone_entry(zone)
            table = pd.DataFrame(gdf.drop(columns="geometry"))
            index = rasterize(gdf, grid, chunks)
            log.info("zones %s: %d polygons from %s", level, len(gdf), zone["path"])
        table.insert(0, "index", np.arange(1, len(table) + 1))
        m = MapToWrite(index, paths.zones(level), "uint32", 0, f"Zone index, level {level}",
                       "index", {"level": level, "run_name": cfg["run"]["name"]}, "nearest",
                       compression=cfg["outputs"]["compression"])
        write_cogs([m])
        table.to_csv(paths.zones_table(level), index=False)
        written.append(paths.zones(level))
    return written


def align_landcover(run: Run, year: int) -> Path:
    """Check an observed epoch's raster and bring it onto the run grid (classes: nearest/mode)."""
    cfg, paths, chunks = run.cfg, run.paths, run.chunks
    ep = run.epoch(year)
    if ep.path is None:
        raise InputDataError(f"landcover.epochs.{year} is a scenario, not a raster to align")
    grid = run.grid
    nodata_rule = cfg["landcover"]["nodata"]
    src, hist = check_epoch_raster(ep.path, grid, run.legend, run.densities, chunks, nodata_rule)
    declared = src.odc.nodata
    nodata = _free_code(src.dtype, set(hist) | set(run.legend or {}) | _table_codes(run))
    src = src.rio.write_nodata(declared if declared is not None else nodata)
    aligned = align(src, grid, categorical=True, name=str(ep.path), chunks=chunks)
    if declared is not None and int(declared) != nodata:  # the fill may be a class code (IGBP 0)
        aligned = aligned.where(aligned != declared, nodata).astype(src.dtype).rio.write_nodata(nodata)
    aligned, rules = reclassify(run, aligned, year)
    mask = run.clip_mask(grid)
    if mask is not None:
        aligned = aligned.where(mask, nodata).astype(src.dtype)
    if not code_histogram(aligned.rio.write_nodata(nodata)):  # raises EmptyDataError if empty
        raise EmptyDataError(f"{ep.path}: no data left on the run grid")
    out = paths.landcover(year)
    m = MapToWrite(aligned, out, str(src.dtype), int(nodata), f"Land-cover codes {year} on the run grid",
                   "class", run.tags(model="alignment", inputs=[ep.path], basis="observed",
                                     kind="landcover", source_grid=describe(src.odc.geobox),
                                     reclassified="; ".join(rules) or "none",
                                     citation=LEGEND_CITATION.format(legend=cfg["landcover"]["legend"])),
                   "nearest", compression=cfg["outputs"]["compression"])
    write_cogs([m])
    return out


def _free_code(dtype, used: set[int]) -> int:
    """The nodata code of an aligned epoch: 0 or the type's maximum, whichever no class uses, so
    that no legend or table look-up can read a fill pixel as a class."""
    info = np.iinfo(dtype)
    for v in (0, int(info.max), int(info.min)):
        if v not in used:
            return v
    raise InputDataError(f"land cover uses every candidate nodata code of {dtype} (0, {info.max}, "
                         f"{info.min}); store it in a wider integer type")


def _table_codes(run: Run) -> set[int]:
    dens = run.densities
    return {int(c) for c in dens.values.index} if dens.kind == "invest" else set()


def reclassify(run: Run, codes, year: int):
    """Apply ``landcover.reclassify`` to an aligned epoch: pixels of a rule's ``from_codes``
    whose raster value (aligned by average) is >= ``min`` take ``to_code``. Returns the codes
    and one line per rule (written into the tags); each rule's changed pixels are logged."""
    lines = []
    for rule in run.cfg["landcover"]["reclassify"]:
        src = open_raster(rule["raster"], chunks=run.chunks)
        src = src.astype("float32").where(src != src.odc.nodata) if src.odc.nodata is not None else src.astype("float32")
        value = align(src.rio.write_nodata(np.nan), codes.odc.geobox, categorical=False,
                      name=f"landcover.reclassify {rule['name']} ({rule['raster']})", chunks=run.chunks)
        hit = codes.isin(rule["from_codes"]) & (value >= rule["min"])
        n_hit, n_from = (int(x) for x in dask.compute(hit.sum(), codes.isin(rule["from_codes"]).sum()))
        log.info("landcover %d: rule %s: %d of %d px of codes %s -> %d (%s >= %g)", year, rule["name"],
                 n_hit, n_from, rule["from_codes"], rule["to_code"], rule["raster"], rule["min"])
        codes = codes.where(~hit, rule["to_code"]).astype(codes.dtype)
        lines.append(f"{rule['name']}: codes {rule['from_codes']} -> {rule['to_code']} where "
                     f"{Path(rule['raster']).name} >= {rule['min']:g} ({n_hit} of {n_from} px; {rule['note']})")
    return codes, lines


def make_scenario(run: Run, year: int) -> Path:
    """Derive a SCENARIO epoch from an earlier epoch's aligned land cover (seeded)."""
    paths, chunks = run.paths, run.chunks
    ep = run.epoch(year)
    sc = ep.scenario
    base_path = run.landcover_path(sc["from"])
    base = open_raster(base_path, chunks=chunks)
    grid = base.odc.geobox
    nodata = base.odc.nodata
    codes, report = derive_epoch(base.values, nodata, sc["changes"], year - sc["from"], sc["seed"],
                                 abs(grid.resolution.x))
    for r in report:
        log.info("scenario %d: %s %s -> %s: %d of %d candidate px", year, r["change"],
                 r["from_codes"], r["to_code"], r["changed_px"], r["candidates_px"])
    pd.DataFrame(report).assign(year_start=sc["from"], year_end=year, seed=sc["seed"],
                                basis="scenario").to_csv(paths.output("scenario_changes", year=year), index=False)
    out = paths.landcover(year, scenario=True)
    data = on_grid(codes, grid).chunk(chunks)
    m = MapToWrite(data, out, str(codes.dtype), int(nodata), f"Land-cover codes {year} (SCENARIO)",
                   "class", run.tags(model="scenario generator (sinks.scenario)", inputs=[base_path],
                                     basis="scenario", kind="landcover", seed=sc["seed"],
                                     citation="sinks.scenario (seeded change rules of the config)"), "nearest",
                   compression=run.cfg["outputs"]["compression"])
    write_cogs([m])
    return out


def classify_ecosystem(run: Run, year: int) -> Path:
    """Write ``ecosystem_<year>.tif``: land-cover codes mapped to ecosystem classes (legend)."""
    cfg, paths, chunks = run.cfg, run.paths, run.chunks
    legend = run.legend
    if legend is None:
        raise InputDataError("landcover.legend is not set: no ecosystem map can be made")
    ep = run.epoch(year)
    src_path = run.landcover_path(year)
    codes = open_raster(src_path, chunks=chunks)
    eco = apply_lut(codes, ecosystem_lut(legend, lut_size(codes.dtype)), 0)
    out = paths.output("ecosystem", year=year)
    m = run.map("ecosystem", eco, basis=ep.basis, model="legend look-up",
                inputs=[src_path, cfg["landcover"]["legend"]], colormap=ECOSYSTEM_COLOURS, year=year)
    m.tags.update({f"CLASS_{c}": n for c, n in ECOSYSTEMS.items()})
    write_cogs([m])
    return out


def mosaic(run: Run, path: str) -> Path:
    """Rule ``mosaic`` of a tiled run (sinks.tiles): the map ``path`` (relative to the run
    folder) of the whole grid from its tiles, each checked to be on its tile's grid, written as
    one COG in one blockwise pass (overviews and style fitted to the whole map: no seams)."""
    target = (run.paths.root / path).resolve()
    if run.paths.root.resolve() not in target.parents:
        raise InputDataError(f"{path}: not a file of the run folder {run.paths.root}")
    grid = run.full_grid
    layout = tiles.tiling(grid, run.cfg["grid"]["tile_size"])
    rows: dict[int, list] = {}
    for name, r, c in layout:
        part = run.open_on_grid(run.paths.tile(name) / path, grid[r, c])
        rows.setdefault(r.start, []).append(part.data)
    spec = map_spec_path(run.paths.tile(layout[0][0]) / path)
    m = read_map_spec(spec, wrap_xr(da.block(list(rows.values())), grid))
    m.path = run.paths.root / path
    return write_cogs([m])[0]

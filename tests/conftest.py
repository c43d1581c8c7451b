"""Test factories: small rasters, zones and configs whose totals can be worked out by hand."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import yaml
from rasterio.transform import from_origin
from shapely.geometry import box

ORIGIN = (500000.0, 3000000.0)  # UTM 50N (EPSG:32650), inside Jiangxi's zone


def make_raster(path: Path, array, crs="EPSG:32650", res=30.0, nodata=None, origin=ORIGIN,
                dtype=None) -> Path:
    """Write a single-band GeoTIFF (north-up) and return its path."""
    array = np.asarray(array)
    dtype = dtype or array.dtype
    profile = {"driver": "GTiff", "width": array.shape[1], "height": array.shape[0], "count": 1,
               "dtype": str(np.dtype(dtype)), "transform": from_origin(*origin, res, res)}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array.astype(dtype), 1)
    return path


def make_halves(path: Path, width_px: int, height_px: int, res=30.0, crs="EPSG:32650",
                id_field="code", name_field="name") -> Path:
    """Two zones: west half 'W' (id 1) and east half 'E' (id 2) of a raster footprint."""
    x0, y1 = ORIGIN
    x1, y0 = x0 + width_px * res, y1 - height_px * res
    xm = x0 + (width_px // 2) * res
    gdf = gpd.GeoDataFrame({id_field: ["1", "2"], name_field: ["W", "E"]},
                           geometry=[box(x0, y0, xm, y1), box(xm, y0, x1, y1)], crs=crs)
    gdf.to_file(path, driver="GPKG")
    return path


# CLCD codes: 1 cropland, 2 forest, 3 shrub, 5 water, 8 impervious.
LC_2000 = np.array([[2, 2, 1, 1],
                    [2, 3, 1, 5],
                    [8, 3, 1, 5]], dtype="uint8")
LC_2020 = np.array([[2, 2, 2, 1],
                    [2, 2, 8, 5],
                    [8, 3, 1, 5]], dtype="uint8")

# InVEST table (Mg C/ha): c_above, c_below, c_soil, c_dead
INVEST_TABLE = """lucode,c_above,c_below,c_soil,c_dead
1,5,0,40,0
2,30,7,55,2
3,2,5,50,0
5,0,0,0,0
8,0,0,20,0
"""


@pytest.fixture
def tiny(tmp_path):
    """A tiny two-epoch case (CLCD codes, 4 x 3 px of 30 m, InVEST table, two zones)."""
    return build_tiny(tmp_path)


def build_tiny(tmp_path: Path) -> Path:
    """Write the tiny case's files and config.yaml into ``tmp_path`` (paths relative to it)."""
    make_raster(tmp_path / "lc_2000.tif", LC_2000, nodata=0)
    make_raster(tmp_path / "lc_2020.tif", LC_2020, nodata=0)
    (tmp_path / "carbon_pools.csv").write_text(INVEST_TABLE)
    make_halves(tmp_path / "townships.gpkg", 4, 3)
    cfg = {
        "run": {"name": "my_county"},
        "grid": {"crs": "EPSG:32650", "resolution": 30},
        "landcover": {"legend": "clcd", "epochs": {2000: "lc_2000.tif", 2020: "lc_2020.tif"}},
        "carbon": {"densities": "carbon_pools.csv"},
        "zones": [{"path": "townships.gpkg", "id_field": "code", "name_field": "name",
                   "level": "township"}],
    }
    write_config(tmp_path / "config.yaml", cfg)
    return tmp_path


# The rules whose outputs the summary reads, and the gain-loss maps its figure shows when there
# is no stock-difference sink: what the tiny runs compute before summarizing.
SUMMARY_INPUTS = ("rasterize_zones", "align_landcover", "make_scenario", "map_inundation",
                  "track_conversions", "compute_sink")


def run_tiny_stages(root: Path, edit=None, chunks: int = 2048, before_summary=None):
    """Edit the tiny case's config (``edit(cfg)``), then run in-process, in the plan's order
    (sinks.plan.stage_order), the jobs the zone tables need, ``before_summary(cfg, paths)`` if
    given, and summarize. Returns (cfg, paths, zonal summary)."""
    from sinks import plan
    from sinks.config import load_config
    from sinks.paths import run_paths
    from sinks.run import Run
    from sinks.summary import summarize

    cfg = yaml.safe_load((root / "config.yaml").read_text())
    if edit:
        edit(cfg)
    write_config(root / "config.yaml", cfg)
    cfg = load_config(root / "config.yaml")
    paths = run_paths(cfg)
    run = Run(cfg, paths, chunks)
    wanted = SUMMARY_INPUTS + (() if "stock_difference" in plan.methods(cfg) else ("compute_gain_loss",))
    for rule, wildcards in plan.stage_order(cfg):
        if rule in wanted:
            plan.RULES[rule].load()(run, **wildcards)
    if before_summary:
        before_summary(cfg, paths)
    return cfg, paths, summarize(Run(cfg, paths, chunks))


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture
def chdir(monkeypatch):
    """Change the working directory for one test."""
    def _chdir(path):
        monkeypatch.chdir(path)
        return path
    return _chdir

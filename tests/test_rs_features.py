"""Imagery features as a workflow step (issue 6): reflectance scenes declared in the config ->
composite on the run grid -> spectral-index COGs in interim/, usable as biomass features
('index:NAME'); bad scenes stop the CLI with exit 2 and one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from conftest import make_raster, write_config
from test_rs_imagery import make_scene
from sinks.methods.biomass_map.maps import extract_features
from sinks.methods.biomass_map.maps import predict_biomass
from sinks.methods.biomass_map.maps import train_biomass
from sinks.paths import run_paths
from sinks.prepare import align_landcover
from sinks.prepare import rasterize_zones
from sinks.run import Run

REPO = Path(__file__).resolve().parents[1]
S2 = REPO / "data/raw/sentinel2/sentinel2_patagonia_10m.tif"
S2_BANDS = {"B": 1, "G": 2, "R": 3, "N": 4}


def sinks(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sinks", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def s2_case(root: Path, **scene) -> Path:
    """A config on the Sentinel-2 subset's own grid (UTM 19S, 10 m, 300 x 200 px): an all-forest
    WorldCover land cover (code 10) and the scene for epoch 2020 (Patagonia: I/O check only)."""
    make_raster(root / "lc_2020.tif", np.full((200, 300), 10, dtype="uint8"), crs="EPSG:32719",
                res=10.0, nodata=0, origin=(600000.0, 4700020.0))
    import geopandas as gpd
    from shapely.geometry import box
    gpd.GeoDataFrame({"id": ["1"]}, geometry=[box(600000, 4698020, 603000, 4700020)],
                     crs="EPSG:32719").to_file(root / "site.gpkg")
    cfg = {"run": {"name": "s2"}, "grid": {"crs": "EPSG:32719", "resolution": 10},
           "zones": [{"path": "site.gpkg", "id_field": "id", "level": "site"}],
           "landcover": {"legend": "worldcover", "epochs": {2020: "lc_2020.tif", 2021: "lc_2020.tif"}},
           "uncertainty": {"enabled": False},
           "imagery": {"scenes": {2020: [{"path": str(S2), "bands": S2_BANDS, "scale": 1e-4, **scene}]},
                       "indices": ["NDVI", "EVI"]}}
    return write_config(root / "config.yaml", cfg)


@pytest.mark.workflow
def test_extract_features_rule_on_the_sentinel2_grid(tmp_path):
    s2_case(tmp_path)
    res = sinks("run", "config.yaml", "--cores", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    interim = tmp_path / "data/processed/s2/interim"
    with rasterio.open(interim / "index_NDVI_2020.tif") as src:
        ndvi = src.read(1)
        tags, unit = src.tags(), src.units[0]
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    # Pixel row 10, column 20 (as in test_rs): DN R 1303, N 1424 x 1e-4 ->
    # NDVI = (0.1424 - 0.1303) / (0.1424 + 0.1303) = 0.0121 / 0.2727; the run grid is the scene's.
    assert ndvi[10, 20] == pytest.approx(0.0121 / 0.2727, rel=1e-5)
    assert ndvi.shape == (200, 300) and unit == "1"
    assert "Awesome Spectral Indices" in tags["citation"] and "sentinel2_patagonia" in tags["inputs"]
    assert (interim / "index_EVI_2020.tif").is_file()
    assert (tmp_path / "data/processed/s2/logs/extract_features_2020.log").is_file()


def test_bad_scene_through_the_cli_exits_2_with_one_line(tmp_path):
    s2_case(tmp_path, scale=1.0)  # DNs taken as reflectance
    res = sinks("extract-features", "--config", "config.yaml", "--year", "2020", cwd=tmp_path)
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("sinks: error")]
    assert len(lines) == 1 and "sentinel2_patagonia_10m.tif" in lines[0] and "check the scale" in lines[0]
    s2_case(tmp_path, bands={"R": 3, "N": 4, "S1": 11})  # a band the file lacks
    res = sinks("extract-features", "--config", "config.yaml", "--year", "2020", cwd=tmp_path)
    assert res.returncode == 2 and "missing" in res.stderr and "'S1': 11" in res.stderr
    res = sinks("run", "config.yaml", cwd=tmp_path)  # stopped by the checks before any job
    assert res.returncode == 2 and "'S1': 11" in res.stderr and not (tmp_path / "data").exists()
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    cfg["imagery"]["scenes"] = {2030: cfg["imagery"]["scenes"][2020]}  # not an epoch
    write_config(tmp_path / "config.yaml", cfg)
    res = sinks("validate", "config.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "imagery.scenes.2030: not an epoch year" in res.stderr


def test_no_overlap_is_one_line(tmp_path, chdir):
    from sinks.config import load_config
    from sinks.errors import EmptyDataError
    chdir(tmp_path)
    make_scene(tmp_path / "far.tif", [np.full((4, 4), 1000)] * 2, origin=(900000.0, 3000000.0))
    make_raster(tmp_path / "lc.tif", np.full((4, 4), 2, dtype="uint8"), res=10.0, nodata=0)
    write_config(tmp_path / "config.yaml", {
        "run": {"name": "far"}, "landcover": {"legend": "clcd", "epochs": {2000: "lc.tif", 2001: "lc.tif"}},
        "imagery": {"scenes": {2000: [{"path": "far.tif", "bands": {"R": 1, "N": 2}, "scale": 1e-4}]},
                    "indices": ["NDVI"]}})
    cfg = load_config(tmp_path / "config.yaml")
    with pytest.raises(EmptyDataError, match="does not overlap the run grid") as err:
        extract_features(Run(cfg, run_paths(cfg)), 2000)
    assert "\n" not in str(err.value)


def test_index_feature_feeds_the_biomass_model(tmp_path, chdir):
    """Two synthetic scenes (median composite) -> NDVI by hand -> biomass features 'index:NDVI'
    -> SYNTHETIC plots, model and map of the epoch."""
    from sinks.config import load_config
    chdir(tmp_path)
    n = 40
    yy, xx = np.mgrid[0:n, 0:n]
    red = np.full((n, n), 400)
    nir = (400 * (1 + 0.8 + 0.1 * xx / (n - 1)) / (1 - 0.8 - 0.1 * xx / (n - 1))).round()  # NDVI 0.8-0.9
    make_scene(tmp_path / "a.tif", [red, nir], res=30.0)
    make_scene(tmp_path / "b.tif", [red, nir + 200], res=30.0)  # brighter NIR
    make_scene(tmp_path / "c.tif", [red, nir - 200], res=30.0)  # darker: the median is scene a
    make_raster(tmp_path / "lc.tif", np.full((n, n), 2, dtype="uint8"), res=30.0, nodata=0)
    scenes = [{"path": f"{s}.tif", "bands": {"R": 1, "N": 2}, "scale": 1e-4} for s in "abc"]
    write_config(tmp_path / "config.yaml", {
        "run": {"name": "idx"}, "landcover": {"legend": "clcd", "epochs": {2000: "lc.tif", 2001: "lc.tif"}},
        "imagery": {"scenes": {2000: scenes}, "indices": ["NDVI"]},
        "biomass": {"enabled": True, "year": 2000, "features": {"ndvi": "index:NDVI"},
                    "simulate_n": 100, "block_size": 300}})
    cfg = load_config(tmp_path / "config.yaml")
    paths = run_paths(cfg)
    rasterize_zones(Run(cfg, paths))
    align_landcover(Run(cfg, paths), 2000)
    extract_features(Run(cfg, paths), 2000)
    with rasterio.open(paths.index("NDVI", 2000)) as src:
        ndvi = src.read(1)
    expected = (nir - red) / (nir + red)
    np.testing.assert_allclose(ndvi, expected, rtol=1e-5)
    train_biomass(Run(cfg, paths))
    predict_biomass(Run(cfg, paths), 2000)
    with rasterio.open(paths.output("agb", year=2000)) as src:
        agb = src.read(1, masked=True)
        assert "index_NDVI_2000.tif" in src.tags()["inputs"]
    # simulator: AGB = -800 + 1100 NDVI (+ noise): 80-190 Mg/ha over NDVI 0.8-0.9
    assert 60 < float(agb.mean()) < 200 and agb.count() == n * n
    cv = pd.read_csv(paths.outputs / "biomass_cv_2000.csv")
    assert cv["synthetic"].all()

"""GIS hand-over: named CRS in every map, legends with units, ramps fitted to the data, and the
QGIS project of a run (parsed; loaded with PyQGIS when the system Python has it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import rasterio
from odc.geo.geobox import GeoBox
from pyproj import CRS

from conftest import build_tiny, check_cog
from sinks.grid import named_crs, on_grid, pixel_area_ha, reference_grid
from sinks.io.outputs import OUTPUTS
from sinks.io.rasters import MapToWrite, write_cogs
from sinks.io.styles import MapSample

ALBERS = "+proj=aea +lat_0=0 +lat_1=25 +lat_2=47 +lon_0=105 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
SYSTEM_PYTHON = "/usr/bin/python3"


def test_a_proj_string_grid_writes_a_named_wkt_without_the_pyproj_warning(tmp_path):
    template = GeoBox.from_bbox((113, 25, 114, 26), "EPSG:4326", resolution=0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grid = reference_grid(template, ALBERS, 1000, crs_name="China Albers Equal Area (test grid)")
        float(pixel_area_ha(grid).sum())
        spec = OUTPUTS["carbon_stock"]
        path = tmp_path / "carbon_stock_2000.tif"
        write_cogs([MapToWrite(on_grid(np.full(grid.shape.yx, 50.0, "float32"), grid), path, spec.dtype,
                               spec.nodata, "long text", spec.unit, {}, "average", style=spec.style,
                               title="carbon stock 2000 (Mg C/ha)", notes_from=len("long text"))])
    assert not [w for w in caught if "lose important projection" in str(w.message)]
    with rasterio.open(path) as src:
        crs = CRS.from_wkt(src.crs.to_wkt())
        assert src.descriptions[0] == "carbon stock 2000 (Mg C/ha)"
        assert src.tags()["long_description"] == "long text"
    assert crs.name == "China Albers Equal Area (test grid)" and crs.to_wkt().startswith("PROJCRS")
    assert crs == CRS(ALBERS)


def test_a_crs_with_an_authority_code_gets_it():
    assert named_crs("+proj=utm +zone=50 +datum=WGS84 +units=m").to_string() == "EPSG:32650"
    assert named_crs(ALBERS).name == "Albers Equal Area (sinks run grid)"


def test_the_ramp_of_a_map_of_few_values_spans_them_all():
    # a class look-up map (soil carbon): most pixels 55 or 56.1, a few 0 and 135
    data = np.full((1000, 1000), 55.0, "float32")
    data[:400] = 56.1
    data[0, :3000 // 300] = 135.0
    data[-1, :10] = 0.0
    sample = MapSample(data.shape, -9999.0, classes=False)
    sample.add(data)
    assert sample.value_range(symmetric=False) == (0.0, pytest.approx(135.0))
    many = MapSample(data.shape, -9999.0, classes=False)
    many.add(np.random.default_rng(0).normal(0, 5, (1000, 1000)))
    assert many.value_range(symmetric=True)[1] == pytest.approx(5 * 2.326, rel=0.05)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Every stage of the tiny case, then the QGIS project."""
    from sinks import plan
    from sinks.config import load_config
    from sinks.paths import run_paths
    from sinks.run import Run

    root = build_tiny(tmp_path_factory.mktemp("gis"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        cfg = load_config(root / "config.yaml")
        run = Run(cfg, run_paths(cfg, root))
        for rule, wildcards in plan.stage_order(cfg):
            plan.RULES[rule].load()(run, **wildcards)
    finally:
        os.chdir(cwd)
    return cfg, run.paths


def test_qgis_project_names_every_map_and_only_existing_files(tiny_run):
    from sinks import plan

    cfg, paths = tiny_run
    project = paths.output("qgis_project")
    root = ET.parse(project).getroot()
    assert root.find("properties/Paths/Absolute").text == "false"
    sources = [ml.find("datasource").text for ml in root.iter("maplayer")]
    files = {s.split("|")[0] for s in sources}
    assert all(s.startswith("./") for s in sources)
    assert all((project.parent / f).exists() for f in files)
    maps = {f"./{t.name}" for t in plan.targets(cfg, paths) if t.suffix == ".tif" and t.parent == paths.outputs}
    assert maps and maps <= files
    assert "./zones_summary.gpkg" in files
    groups = {g.get("name") for g in root.iter("layer-tree-group") if g.get("name")}
    assert {"Stocks", "Land cover", "Zones"} <= groups
    for kind in plan.kinds(cfg):  # every map: named CRS, short band name, unit legends
        if OUTPUTS[kind].is_map and OUTPUTS[kind].folder == "outputs":
            for fields in plan.INSTANCES[OUTPUTS[kind].each](cfg):
                check_cog(paths.output(kind, **fields), kind)

def _has_pyqgis() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "from qgis.core import QgsApplication"],
                          capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_pyqgis(), reason="PyQGIS is not importable by the system Python")
def test_qgis_loads_the_project_with_named_crs_and_unit_legends(tiny_run, tmp_path):
    cfg, paths = tiny_run
    moved = tmp_path / "handed_over"
    shutil.copytree(paths.outputs, moved)  # relative paths: the folder can move
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    out = subprocess.run([SYSTEM_PYTHON, str(Path(__file__).parent / "qgis_load_project.py"),
                          str(moved / "project.qgs")], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert rows[0]["project_crs"] not in ("", "unknown")
    layers = rows[1:]
    assert len(layers) >= 10
    for lay in layers:
        assert lay["valid"], lay
        assert lay["source"].startswith(str(moved)), lay
        assert lay["crs"] and lay["crs"] != "unknown", lay
    by_name = {lay["name"]: lay for lay in layers}
    stock = by_name["carbon stock 2000 (Mg C/ha)"]
    assert all("Mg C ha⁻¹" in t for t in stock["legend"][1:])
    sink = next(lay for name, lay in by_name.items() if name.startswith("LUC stock change"))
    assert sink["legend"][1].endswith("(source)") and sink["legend"][-1].endswith("(sink)")
    eco = by_name["ecosystem class 2000"]
    assert "林地 forest" in eco["legend"]

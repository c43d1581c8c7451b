"""COG conformance: every output opens as QGIS would see it (CRS, dtype, nodata, LAYOUT=COG,
overviews, description, unit, tags)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import rasterio
from odc.geo.geobox import GeoBox

from sinks.grid import on_grid
from sinks.io.outputs import OUTPUTS
from sinks.io.rasters import MapToWrite, write_cogs

import dask.array as da

REQUIRED_TAGS = {"units", "sign_convention", "sinks_version", "config_hash", "run_name",
                 "created", "inputs", "model", "citation", "scenario"}


def check_cog(path, kind):
    spec = OUTPUTS[kind]
    with rasterio.open(path) as src:
        assert src.crs is not None
        assert src.dtypes[0] == spec.dtype
        assert src.nodata == spec.nodata
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert src.block_shapes[0] == (512, 512) or max(src.shape) <= 512
        if max(src.shape) > 512:
            assert src.overviews(1), "no overviews"
        assert src.descriptions[0]
        assert src.units[0] == spec.unit
        assert REQUIRED_TAGS <= set(src.tags())
        if kind == "ecosystem":
            assert src.colormap(1)[1][:3] == (34, 120, 51)
    check_qml(path, kind)


def check_qml(path, kind):
    """The QGIS style sidecar parses and matches the map: class names, or a ramp (sinks: centred on 0)."""
    root = ET.parse(path.with_suffix(".qml")).getroot()
    renderer = root.find("pipe/rasterrenderer")
    style = OUTPUTS[kind].style
    if style == "classes":
        assert renderer.get("type") == "paletted"
        labels = {e.get("value"): e.get("label") for e in renderer.iter("paletteEntry")}
        assert labels["1"] == "forest" and labels["5"] == "water"
    else:
        assert renderer.get("type") == "singlebandpseudocolor"
        vmin, vmax = float(renderer.get("classificationMin")), float(renderer.get("classificationMax"))
        assert vmin < vmax
        if style == "diverging":
            assert vmin == -vmax


def test_write_cogs_large_map_has_overviews_and_metadata(tmp_path):
    grid = GeoBox.from_bbox((0, 0, 1300 * 30, 1100 * 30), "EPSG:32650", resolution=30)
    rng = np.random.default_rng(0)
    data = rng.normal(0, 5, grid.shape.yx).astype("float32")
    data[:10, :10] = np.nan
    arr = on_grid(da.from_array(data, chunks=512), grid)
    spec = OUTPUTS["net_sink"]
    tags = {t: "x" for t in REQUIRED_TAGS} | {"units": spec.unit}
    path = tmp_path / "net_sink_2000_2020.tif"
    write_cogs([MapToWrite(arr, path, spec.dtype, spec.nodata, "d", spec.unit, tags,
                           spec.overview_resampling, style=spec.style)])
    check_cog(path, "net_sink")
    with rasterio.open(path) as src:
        out = src.read(1)
    assert (out[:10, :10] == -9999.0).all()  # NaN -> nodata, never 0
    np.testing.assert_array_equal(out[10:, 10:], data[10:, 10:])
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    # N(0, 5): the diverging ramp's limit is the 98th percentile of |value| = 5 x 2.33 = 11.6
    lim = float(ET.parse(path.with_suffix(".qml")).getroot().find("pipe/rasterrenderer").get("classificationMax"))
    assert lim == pytest.approx(5 * 2.326, rel=0.1)


def test_every_workflow_output_conforms(tmp_path):
    pytest.importorskip("snakemake")
    import shutil
    import subprocess
    import sys

    from conftest import build_tiny
    root = build_tiny(tmp_path)
    res = subprocess.run([sys.executable, "-m", "sinks", "run", "config.yaml", "--cores", "2"],
                         cwd=root, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    out = root / "data/processed/my_county/outputs"
    kinds = {"ecosystem": "ecosystem_", "carbon_stock": "carbon_stock_", "net_sink": "net_sink_",
             **{k: k + "_" for k in OUTPUTS if k.startswith("carbon_") and k != "carbon_stock"}}
    checked = 0
    for tif in sorted(out.glob("*.tif")):
        kind = next(k for k, prefix in kinds.items() if tif.name.startswith(prefix))
        check_cog(tif, kind)
        checked += 1
    assert checked == 3 + 2 * 5
    shutil.rmtree(root / ".snakemake", ignore_errors=True)


def test_run_without_zones_writes_a_region_layer(tmp_path, chdir):
    # No zone layers: one zone 'region' (the whole grid) in the tables and in the GeoPackage,
    # whose polygon is the grid footprint (4 x 3 px of 30 m = 120 m x 90 m).
    import geopandas as gpd

    from conftest import build_tiny, run_tiny_stages

    root = chdir(build_tiny(tmp_path))
    _, paths, df = run_tiny_stages(root, lambda c: c.pop("zones"))
    gdf = gpd.read_file(paths.zones_gpkg(), layer="region")
    assert list(gdf.zone_id) == ["region"]
    assert gdf.geometry.iloc[0].area == pytest.approx(120 * 90)
    total = df[(df.quantity == "carbon_stock") & (df.ecosystem == "all") & (df.year_start == 2000)
               & (df.method == "stock_difference")].value.iloc[0]
    assert gdf["carbon_stock_MgC_2000"].iloc[0] == pytest.approx(total)


def test_a_map_outside_its_valid_range_is_not_written(tmp_path):
    # valid_range of the registry is enforced block by block before anything is renamed into
    # place: a stock of 1e30 Mg C/ha stops the stage with an error naming the map.
    from sinks.errors import OutputRangeError

    spec = OUTPUTS["carbon_stock"]
    grid = GeoBox.from_bbox((500000, 2999000, 501024, 3000024), "EPSG:32650", resolution=1.0)
    data = np.full(grid.shape.yx, 100.0, dtype="float32")
    data[700, 900] = 1e30
    m = MapToWrite(on_grid(data, grid).chunk(512), tmp_path / "carbon_stock_2000.tif", spec.dtype,
                   spec.nodata, "stock", spec.unit, {}, "average", valid_range=spec.valid_range)
    with pytest.raises(OutputRangeError, match="carbon_stock_2000.tif.*1e\\+30.*0 to 2000"):
        write_cogs([m])
    assert not list(tmp_path.iterdir())  # neither the map nor a temporary file
    data[700, 900] = 2000.0  # the bound itself is valid
    assert write_cogs([MapToWrite(on_grid(data, grid).chunk(512), m.path, spec.dtype, spec.nodata,
                                  "stock", spec.unit, {}, "average",
                                  valid_range=spec.valid_range)]) == [m.path]

"""Writing maps (sinks.io.rasters.write_cogs): COG conformance of a large map (overviews,
metadata, NaN as nodata, the style ramp) and the valid range enforced before writing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import dask.array as da
import numpy as np
import pytest
import rasterio
from odc.geo.geobox import GeoBox

from conftest import REQUIRED_TAGS, check_cog
from sinks.grid import on_grid
from sinks.io.outputs import OUTPUTS
from sinks.io.rasters import MapToWrite, write_cogs


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

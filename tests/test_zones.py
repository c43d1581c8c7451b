"""Zonal totals (sinks.zones): by zone and class and transition matrices, worked out by hand on
numpy and on dask with blocks of every shape."""

from __future__ import annotations

import json

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from shapely.geometry import box

from conftest import ORIGIN, assert_backends_agree, build_tiny, make_halves, run_tiny_stages
from sinks.zones import zonal_totals


def test_zonal_totals_by_zone_and_class_hand_computed():
    # 2 x 3 grid, zone 1 = left column pair, zone 2 = right column; class = code.
    z = np.array([[1, 1, 2], [1, 0, 2]], dtype="uint32")
    cls = np.array([[1, 2, 1], [2, 2, 1]])
    v = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    # zone 1: class 1 -> 1.0; class 2 -> 2.0 + 4.0 = 6.0; zone 2: class 1 -> 3 + 6 = 9;
    # zone 0 (outside): class 2 -> NaN counted as 0.
    expected = [[0, 0, 0], [0, 1.0, 6.0], [0, 9.0, 0]]

    def totals(zi, ci, vi):
        return zonal_totals({"lv": zi}, {"lv": 2}, [ci], [3], {"v": vi})["lv"]["v"]

    wrap = lambda a, ch: xr.DataArray(da.from_array(a, chunks=ch), coords=None, dims=("y", "x"))
    for ch in [(1, 1), (2, 3), (1, 2)]:
        out = totals(wrap(z, ch), wrap(cls, ch), wrap(v, ch))
        np.testing.assert_allclose(out, expected)
    for ch in [(1, 1), (1, 2)]:  # numpy = dask, exactly
        eager, _ = assert_backends_agree(totals, z, cls, v, chunks=ch)
    np.testing.assert_allclose(eager, expected)


def test_zonal_transition_matrix_hand_computed():
    # 2 x 3 grid, one zone; classes 1, 2 at t0 and t1; pixel areas 1..6 ha.
    # (1 -> 1): pixel 0 (1 ha); (1 -> 2): pixels 1, 3 (2 + 4 = 6 ha); (2 -> 2): pixel 2 (3 ha);
    # (2 -> 1): pixels 4, 5 (5 + 6 = 11 ha). Rows sum to the t0 areas, columns to the t1 areas.
    z = np.ones((2, 3), dtype="uint32")
    c0 = np.array([[1, 1, 2], [1, 2, 2]])
    c1 = np.array([[1, 2, 2], [2, 1, 1]])
    area = np.arange(1.0, 7.0).reshape(2, 3)
    expected = [[0, 0, 0], [0, 1, 6], [0, 11, 3]]

    def matrix(zi, a0, a1, ai):
        return zonal_totals({"lv": zi}, {"lv": 1}, [a0, a1], [3, 3], {"area": ai})["lv"]["area"][1]

    wrap = lambda a, ch: xr.DataArray(da.from_array(a, chunks=ch), dims=("y", "x"))
    for ch in [(1, 1), (2, 3), (1, 2)]:
        np.testing.assert_allclose(matrix(wrap(z, ch), wrap(c0, ch), wrap(c1, ch), wrap(area, ch)), expected)
    for ch in [(1, 1), (1, 2)]:  # numpy = dask, exactly
        eager, _ = assert_backends_agree(matrix, z, c0, c1, area, chunks=ch)
    np.testing.assert_allclose(eager, expected)


# --- zones read without guessing (issue 16, point 6) and covering the land cover (point 2) ---

def test_multi_layer_geopackage_needs_its_layer(tmp_path):
    from sinks.errors import InputDataError
    from sinks.io.vectors import read_zones
    path = tmp_path / "zones.gpkg"
    halves = gpd.read_file(make_halves(tmp_path / "h.gpkg", 4, 3))
    halves.to_file(path, layer="townships")
    halves.iloc[:1].to_file(path, layer="villages")
    with pytest.raises(InputDataError, match=r"has 2 layers \['townships', 'villages'\]"):
        read_zones(path, "code", "name")
    assert len(read_zones(path, "code", "name", layer="townships")) == 2
    assert len(read_zones(path, "code", "name", layer="villages")) == 1


def test_overlapping_zones_are_refused(tmp_path):
    from sinks.errors import InputDataError
    from sinks.io.vectors import read_zones
    x0, y1 = ORIGIN
    gdf = gpd.GeoDataFrame({"code": ["1", "2"]}, geometry=[box(x0, y1 - 90, x0 + 90, y1),
                                                          box(x0 + 30, y1 - 90, x0 + 120, y1)],
                           crs="EPSG:32650")
    gdf.to_file(tmp_path / "z.gpkg")
    with pytest.raises(InputDataError, match=r"'1' and '2' share 66.7% of the smaller"):
        read_zones(tmp_path / "z.gpkg", "code")


def test_geojson_in_metres_without_crs_is_refused(tmp_path):
    from sinks.errors import CRSMismatchError
    from sinks.io.vectors import read_zones
    x0, y1 = ORIGIN
    feature = {"type": "Feature", "properties": {"code": "1"},
               "geometry": box(x0, y1 - 90, x0 + 90, y1).__geo_interface__}
    (tmp_path / "z.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(CRSMismatchError, match="not degrees.*crs member"):
        read_zones(tmp_path / "z.geojson", "code")


def test_zones_outside_the_land_cover_stop_the_summary(tmp_path, chdir):
    from sinks.errors import EmptyDataError
    root = chdir(build_tiny(tmp_path))
    far = gpd.read_file(root / "townships.gpkg")
    far["geometry"] = far.geometry.translate(xoff=5000)
    far.to_file(root / "townships.gpkg")
    with pytest.raises(EmptyDataError, match="level 'township' cover none"):
        run_tiny_stages(root)

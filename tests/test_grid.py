"""Pixel area (computed, never assumed) and grid alignment."""

from __future__ import annotations

import numpy as np
import pytest
from odc.geo.geobox import GeoBox

from sinks.grid import align, is_equal_area, pixel_area_ha, reference_grid, same_grid
from sinks.io.rasters import open_raster

from conftest import make_raster


def test_geographic_pixel_area_matches_spherical_band_formula():
    # One 0.05 deg cell at 24.4-24.45 N. On a sphere of the authalic radius R = 6371007.2 m the
    # area is R^2 x dlon x (sin(lat2) - sin(lat1)); the ellipsoid differs by < 0.5 %.
    g = GeoBox.from_bbox((113.5, 24.4, 113.55, 24.45), "EPSG:4326", resolution=0.05)
    area = float(pixel_area_ha(g)[0, 0])
    r = 6371007.2
    sphere = r**2 * np.radians(0.05) * (np.sin(np.radians(24.45)) - np.sin(np.radians(24.4))) / 1e4
    assert area == pytest.approx(sphere, rel=5e-3)
    assert area == pytest.approx(2800, rel=0.05)  # about 5.07 km x 5.56 km


def test_equal_area_projection_gives_nominal_area():
    g = GeoBox.from_bbox((0, 0, 3000, 3000), "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84",
                         resolution=30)
    assert is_equal_area(g)
    np.testing.assert_allclose(pixel_area_ha(g, chunks=40).values, 0.09)


def test_utm_area_uses_areal_scale():
    # UTM at its central meridian has scale k0 = 0.9996, so true area = nominal / k0^2.
    g = GeoBox.from_bbox((499970, 2999970, 500030, 3000030), "EPSG:32650", resolution=30)
    assert not is_equal_area(g)
    assert float(pixel_area_ha(g).mean()) == pytest.approx(0.09 / 0.9996**2, rel=1e-6)


def test_reference_grid_keeps_alignment_of_same_crs_input(tmp_path):
    p = make_raster(tmp_path / "a.tif", np.ones((3, 4), dtype="uint8"), origin=(500005, 3000000))
    template = open_raster(p).odc.geobox
    assert same_grid(reference_grid(template, "EPSG:32650", 30), template)


def test_align_categorical_uses_nearest_and_keeps_codes(tmp_path, caplog):
    codes = np.array([[1, 2], [3, 4]], dtype="uint8")
    p = make_raster(tmp_path / "c.tif", codes, res=60, nodata=0)
    src = open_raster(p)
    target = GeoBox.from_bbox((500000, 2999880, 500120, 3000000), "EPSG:32650", resolution=30,
                             tight=True)
    out = align(src, target, categorical=True, name=str(p)).values
    np.testing.assert_array_equal(out, np.kron(codes, np.ones((2, 2), dtype="uint8")))
    assert "resampled onto the run grid" in caplog.text and "nearest" in caplog.text


def test_interpolated_utm_area_matches_exact_per_pixel_scale():
    # Far from the central meridian (x = 800 km) the scale varies most; a 100 x 90 grid in
    # blocks of 40 px exercises the lattice, block edges and a one-column last block.
    from sinks.grid import _areal_scale_block

    g = GeoBox.from_bbox((800000, 3000000, 802700, 3003000), "EPSG:32650", resolution=30)
    exact = 0.09 / _areal_scale_block(np.arange(g.height), np.arange(g.width), g.affine, g.crs.to_wkt())
    got = pixel_area_ha(g, chunks=40).values
    assert got.shape == exact.shape
    np.testing.assert_allclose(got, exact, rtol=1e-8)
    assert exact.max() - exact.min() > 1e-7  # the scale does vary over the grid

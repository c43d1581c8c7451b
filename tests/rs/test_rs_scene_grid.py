"""Scenes on the run grid (sinks.rs.scene_grid, issue 6 item 1): overlap, resampling onto a
coarser grid, and the median and max-NDVI composites worked out by hand, lazily and equal to
the in-memory composite."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from odc.geo.geobox import GeoBox

from conftest import ORIGIN, S2, S2_BANDS, assert_backends_agree, make_scene, one_line
from sinks.errors import EmptyDataError, InputDataError
from sinks.rs.imagery import open_scene
from sinks.rs.scene_grid import composite, composite_on_grid, overlap_fraction, scene_to_grid

X0, Y1 = ORIGIN  # UTM 50N


def test_composites_hand_computed():
    import xarray as xr

    def scene(n, r):
        return xr.Dataset({"N": ("x", np.array(n, dtype=float)), "R": ("x", np.array(r, dtype=float))})
    a, b, c = scene([0.5, 0.3], [0.1, 0.1]), scene([0.4, np.nan], [0.2, 0.1]), scene([0.6, 0.5], [0.3, 0.05])
    med = composite([a, b, c], "median")
    np.testing.assert_allclose(med["N"], [0.5, 0.4])  # pixel 2: median of 0.3, 0.5
    best = composite([a, b, c], "max_ndvi")
    # pixel 1 NDVI: a 0.667, b 0.333, c 0.333 -> a; pixel 2: a 0.5, b NaN, c 0.818 -> c
    np.testing.assert_allclose(best["N"], [0.5, 0.5])


def test_scene_without_overlap_is_refused():
    scene = open_scene(S2, S2_BANDS, scale=1e-4)  # Patagonia, UTM 19S
    jiangxi = GeoBox.from_bbox((113.5, 24.4, 118.55, 30.15), "EPSG:4326", resolution=0.05)
    assert overlap_fraction(scene, jiangxi) == 0.0
    with pytest.raises(EmptyDataError, match="does not overlap the run grid") as err:
        scene_to_grid(scene, jiangxi, str(S2))
    assert "sentinel2_patagonia_10m.tif" in one_line(err)


def test_real_scene_onto_a_coarser_grid_averages_reflectance():
    # 20 m grid on the scene's own pixel edges: each output pixel averages 2 x 2 input pixels.
    scene = open_scene(S2, S2_BANDS, scale=1e-4, chunks=64)
    grid = GeoBox.from_bbox((600000, 4698020, 603000, 4700020), "EPSG:32719", resolution=20)
    on = scene_to_grid(scene, grid, "s2", chunks=64)
    assert isinstance(on["N"].data, da.Array) and on["N"].shape == (100, 150)
    assert overlap_fraction(scene, grid) == pytest.approx(1.0)
    n10 = scene["N"].values
    expected = n10[:2, :2].mean()  # top-left output pixel
    assert float(on["N"][0, 0]) == pytest.approx(expected, rel=1e-5)
    assert float(on["N"].mean()) == pytest.approx(float(n10.mean()), rel=1e-4)


@pytest.fixture
def three_scenes(tmp_path):
    """Three scenes on a 4 x 4, 10 m grid. A: N 0.40, R 0.10 (NDVI 0.6) everywhere. B: N 0.30,
    R 0.20 (NDVI 0.2), cloud at pixel (0, 0). C: N 0.50, R 0.05 (NDVI 0.818) on the west half
    only, with 20 m pixels (a different grid)."""
    def dn(v, shape):
        return np.full(shape, round(v * 1e4))
    qa = np.zeros((4, 4))
    qa[0, 0] = 1
    a = make_scene(tmp_path / "a.tif", [dn(0.10, (4, 4)), dn(0.40, (4, 4))])
    b = make_scene(tmp_path / "b.tif", [dn(0.20, (4, 4)), dn(0.30, (4, 4)), qa])
    c = make_scene(tmp_path / "c.tif", [dn(0.05, (2, 1)), dn(0.50, (2, 1))], res=20.0)
    scenes = [open_scene(a, {"R": 1, "N": 2}, scale=1e-4),
              open_scene(b, {"R": 1, "N": 2}, scale=1e-4, quality_band=3, keep_values=[0]),
              open_scene(c, {"R": 1, "N": 2}, scale=1e-4)]
    grid = GeoBox.from_bbox((X0, Y1 - 40, X0 + 40, Y1), "EPSG:32650", resolution=10)
    return scenes, grid


def test_median_composite_on_the_grid_by_hand(three_scenes):
    scenes, grid = three_scenes
    med = composite_on_grid(scenes, grid, "median", sources=["a", "b", "c"], chunks=2)
    assert isinstance(med["N"].data, da.Array)
    n = med["N"].values
    # west half, A B C: median(0.4, 0.3, 0.5) = 0.4; east half, A B: (0.4 + 0.3) / 2 = 0.35;
    # pixel (0, 0), B clouded, A C: (0.4 + 0.5) / 2 = 0.45
    expected = np.array([[0.45, 0.40, 0.35, 0.35]] + [[0.40, 0.40, 0.35, 0.35]] * 3)
    np.testing.assert_allclose(n, expected, rtol=1e-6)


def test_max_ndvi_composite_on_the_grid_by_hand(three_scenes):
    scenes, grid = three_scenes
    best = composite_on_grid(scenes, grid, "max_ndvi", chunks=2)
    assert isinstance(best["N"].data, da.Array)  # stays lazy
    # west half: C has the highest NDVI (0.818) -> N 0.5, R 0.05; east half: A (0.6) -> 0.4, 0.1
    np.testing.assert_allclose(best["N"].values, np.array([[0.5, 0.5, 0.4, 0.4]] * 4), rtol=1e-6)
    np.testing.assert_allclose(best["R"].values, np.array([[0.05, 0.05, 0.1, 0.1]] * 4), rtol=1e-5)
    # same answer on in-memory scenes; the composite itself is the same on numpy and on dask
    # with 2 x 2 blocks of the 4 x 4 grid
    eager, _ = assert_backends_agree(lambda *s: composite(list(s), "max_ndvi"),
                                     *[scene_to_grid(s, grid, "s").load() for s in scenes], chunks=2)
    np.testing.assert_allclose(best["N"].values, eager["N"].values)


def test_composite_refuses_a_scene_off_the_grid_and_mismatched_bands(three_scenes, tmp_path):
    scenes, grid = three_scenes
    far = make_scene(tmp_path / "far.tif", [np.full((4, 4), 1000)] * 2, origin=(X0 + 1e5, Y1))
    with pytest.raises(EmptyDataError, match="far.tif: scene .* does not overlap"):
        composite_on_grid(scenes + [open_scene(far, {"R": 1, "N": 2}, scale=1e-4)], grid,
                          sources=["a", "b", "c", str(far)])
    renamed = scenes[2].rename({"N": "NIR"})
    with pytest.raises(InputDataError, match="same band mapping"):
        composite_on_grid([scenes[0], renamed], grid, sources=["a", "c"])
    with pytest.raises(InputDataError, match="no scenes"):
        composite_on_grid([], grid)
    with pytest.raises(InputDataError, match="unknown"):
        composite_on_grid(scenes, grid, "mean")

"""Imagery ingest (issue 6 item 1): bad inputs raise one-line InputDataErrors naming the file and
the fix; cloud/quality masking; scenes on the run grid and composites worked out by hand."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.transform import from_origin

from sinks.errors import CRSMismatchError, EmptyDataError, InputDataError
from sinks.rs.imagery import open_scene
from sinks.rs.scene_grid import composite, composite_on_grid, overlap_fraction, scene_to_grid

REPO = Path(__file__).resolve().parents[1]
S2 = REPO / "data/raw/sentinel2/sentinel2_patagonia_10m.tif"
S2_BANDS = {"B": 1, "G": 2, "R": 3, "N": 4}
X0, Y1 = 500000.0, 3000000.0  # UTM 50N


def make_scene(path: Path, bands, crs="EPSG:32650", res=10.0, origin=(X0, Y1), nodata=0,
               dtype="uint16") -> Path:
    """A multi-band GeoTIFF from a list of 2-D arrays (band 1 first)."""
    bands = [np.asarray(b) for b in bands]
    profile = {"driver": "GTiff", "width": bands[0].shape[1], "height": bands[0].shape[0],
               "count": len(bands), "dtype": dtype, "transform": from_origin(*origin, res, res)}
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        for i, b in enumerate(bands, start=1):
            dst.write(b.astype(dtype), i)
    return path


def one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg
    return msg


def test_missing_band_names_file_and_mapping():
    with pytest.raises(InputDataError, match="missing") as err:
        open_scene(S2, {"R": 3, "N": 4, "S1": 11}, scale=1e-4)
    assert "sentinel2_patagonia_10m.tif" in one_line(err) and "'S1': 11" in one_line(err)


def test_wrong_scale_is_refused():
    # DNs 659-3041 read as reflectance (scale 1) are > 1.5: the scale 1e-4 was forgotten
    with pytest.raises(InputDataError, match="check the scale") as err:
        open_scene(S2, S2_BANDS, scale=1.0)
    assert "sentinel2_patagonia_10m.tif" in one_line(err)
    # Landsat C2 L2 scale on Sentinel-2 DNs: 3041 x 2.75e-5 = 0.08, plausible, so accepted
    open_scene(S2, S2_BANDS, scale=2.75e-5)


def test_no_crs_is_refused(tmp_path):
    path = make_scene(tmp_path / "nocrs.tif", [np.full((4, 4), 1000)] * 2, crs=None)
    with pytest.raises(CRSMismatchError, match="no CRS") as err:
        open_scene(path, {"R": 1, "N": 2}, scale=1e-4)
    assert "nocrs.tif" in one_line(err) and "gdal_edit" in one_line(err)


def test_quality_band_and_nodata_mask_pixels(tmp_path):
    # red 1000 (0.1), nir 3000 (0.3); pixel (0, 0) DN 0 = nodata; quality band: 0 clear,
    # 8 cloud at (1, 1), 9 shadow at (2, 3); keep_values [0] keeps the clear pixels only.
    red = np.full((3, 4), 1000)
    red[0, 0] = 0
    qa = np.zeros((3, 4))
    qa[1, 1], qa[2, 3] = 8, 9
    path = make_scene(tmp_path / "qa.tif", [red, np.full((3, 4), 3000), qa])
    ds = open_scene(path, {"R": 1, "N": 2}, scale=1e-4, quality_band=3, keep_values=[0], chunks=2)
    assert isinstance(ds["R"].data, da.Array)
    r = ds["R"].values
    assert np.isnan(r[0, 0]) and np.isnan(r[1, 1]) and np.isnan(r[2, 3])
    assert np.isnan(ds["N"].values[1, 1]) and ds["N"].values[0, 0] == pytest.approx(0.3)
    assert np.nansum(r) == pytest.approx(0.1 * 9, rel=1e-6)  # 12 px - 3 masked


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
    # same answer on in-memory scenes
    eager = composite([scene_to_grid(s, grid, "s").load() for s in scenes], "max_ndvi")
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

"""Imagery ingest (sinks.rs.imagery, issue 6 item 1): bad inputs raise one-line InputDataErrors
naming the file and the fix; cloud/quality masking; inundation frequency from water masks."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from conftest import S2, S2_BANDS, make_scene, one_line
from sinks.errors import CRSMismatchError, InputDataError
from sinks.rs.imagery import open_scene
from sinks.rs.indices import compute_index


def test_imagery_errors():
    with pytest.raises(InputDataError, match="reflectance"):
        open_scene(S2, S2_BANDS, scale=1.0)  # DNs taken as reflectance
    with pytest.raises(InputDataError, match="missing"):
        open_scene(S2, {"R": 3, "S1": 11}, scale=1e-4)
    with pytest.raises(InputDataError, match="needs band 'S1'"):
        compute_index("MNDWI", open_scene(S2, S2_BANDS, scale=1e-4))


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


def test_inundation_frequency_hand_computed():
    import xarray as xr

    from sinks.rs.imagery import inundation_frequency

    masks = [xr.DataArray([1.0, 0.0, np.nan]), xr.DataArray([1.0, 1.0, np.nan]), xr.DataArray([0.0, 1.0, np.nan])]
    freq = inundation_frequency(masks).values
    np.testing.assert_allclose(freq[:2], [2 / 3, 2 / 3])
    assert np.isnan(freq[2])

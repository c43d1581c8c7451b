"""Spectral indices (issue 6 item 2): values on a real Sentinel-2 pixel worked out by hand, the
SWIR indices on a small scene with the L2A offset, and spyndex working without a network."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap

import dask.array as da
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from conftest import S2, S2_BANDS
from sinks.errors import InputDataError
from sinks.rs.imagery import open_scene
from sinks.rs.indices import compute_index

# S2: the 314 kB real scene, already in the repo with its provenance README (copied from
# shared/data/README.md §8); read from there rather than duplicated under tests/data/.
S2_SHA256 = "1828e0e856df059e3bc5d8f1422cfdb0245b3111ea2da6605658c203067c2326"


def test_the_real_scene_is_the_documented_file():
    assert hashlib.sha256(S2.read_bytes()).hexdigest() == S2_SHA256


def test_indices_on_a_real_sentinel2_pixel_by_hand():
    # Pixel row 10, column 20: DN B 1318, G 1147, R 1303, N 1424 -> reflectance x 1e-4.
    # NDVI = (0.1424 - 0.1303) / (0.1424 + 0.1303) = 0.0121 / 0.2727 = 0.044371
    # EVI = 2.5 x 0.0121 / (0.1424 + 6 x 0.1303 - 7.5 x 0.1318 + 1) = 0.03025 / 0.9357 = 0.032329
    # NDWI = (0.1147 - 0.1424) / (0.1147 + 0.1424) = -0.107740
    bands = open_scene(S2, S2_BANDS, scale=1e-4, chunks=64)
    got = {n: float(compute_index(n, bands).isel(y=10, x=20)) for n in ("NDVI", "EVI", "NDWI")}
    assert got["NDVI"] == pytest.approx(0.0121 / 0.2727, rel=1e-5)
    assert got["EVI"] == pytest.approx(0.03025 / 0.9357, rel=1e-4)
    assert got["NDWI"] == pytest.approx(-0.0277 / 0.2571, rel=1e-5)


def test_indices_on_the_greenest_real_sentinel2_pixel_by_hand():
    # Pixel row 40, column 47 (the scene's highest NDVI). DNs read with rasterio:
    #   B2 1355, B3 1362, B4 1367, B8 2602; reflectance = DN x 1e-4 (README: DN = refl x 10000)
    #   B = 0.1355, G = 0.1362, R = 0.1367, N = 0.2602
    # NDVI  = (N - R) / (N + R) = 0.1235 / 0.3969 = 0.311162
    # GNDVI = (N - G) / (N + G) = 0.1240 / 0.3964 = 0.312815
    # NDWI  = (G - N) / (G + N) = -0.1240 / 0.3964 = -0.312815   (McFeeters 1996)
    # EVI   = 2.5 (N - R) / (N + 6 R - 7.5 B + 1)
    #       = 0.30875 / (0.2602 + 0.8202 - 1.01625 + 1) = 0.30875 / 1.06415 = 0.290138
    # SAVI  = (1 + L)(N - R) / (N + R + L) with the catalogue's default L = 1.0 (NOT Huete's 0.5)
    #       = 2 x 0.1235 / 1.3969 = 0.176820
    # NIRv  = NDVI x N = 0.311162 x 0.2602 = 0.080964
    bands = open_scene(S2, S2_BANDS, scale=1e-4, chunks=64)
    assert all(isinstance(bands[n].data, da.Array) for n in bands.data_vars)  # lazy
    pix = {n: float(bands[n].isel(y=40, x=47)) for n in bands.data_vars}
    assert pix == pytest.approx({"B": 0.1355, "G": 0.1362, "R": 0.1367, "N": 0.2602}, rel=1e-6)
    expected = {"NDVI": 0.1235 / 0.3969, "GNDVI": 0.1240 / 0.3964, "NDWI": -0.1240 / 0.3964,
                "EVI": 0.30875 / 1.06415, "SAVI": 0.2470 / 1.3969, "NIRv": 0.1235 / 0.3969 * 0.2602}
    for name, value in expected.items():
        idx = compute_index(name, bands)
        assert isinstance(idx.data, da.Array), name
        assert float(idx.isel(y=40, x=47)) == pytest.approx(value, rel=2e-5), name


def test_ndvi_of_the_whole_real_scene_matches_the_readme_summary():
    # shared/data/README.md §8: NDVI min -0.010, mean 0.077, max 0.311 (sparse steppe)
    ndvi = compute_index("NDVI", open_scene(S2, S2_BANDS, scale=1e-4, chunks=64)).compute()
    assert float(ndvi.min()) == pytest.approx(-0.010, abs=5e-4)
    assert float(ndvi.mean()) == pytest.approx(0.077, abs=5e-4)
    assert float(ndvi.max()) == pytest.approx(0.311, abs=5e-4)


def test_swir_indices_with_the_sentinel2_l2a_offset(tmp_path):
    # Sentinel-2 L2A (baseline >= 04.00): reflectance = DN x 1e-4 - 0.1.
    # DN G 1800, N 4000, S1 (B11) 2600, S2 (B12) 2000 -> G 0.08, N 0.30, S1 0.16, S2 0.10
    # MNDWI = (G - S1) / (G + S1) = -0.08 / 0.24 = -1/3
    # NBR   = (N - S2) / (N + S2) = 0.20 / 0.40 = 0.5
    # NDMI  = (N - S1) / (N + S1) = 0.14 / 0.46 = 0.304348
    dns = [1800, 4000, 2600, 2000]
    path = tmp_path / "l2a.tif"
    with rasterio.open(path, "w", driver="GTiff", width=3, height=2, count=4, dtype="uint16",
                       crs="EPSG:32650", transform=from_origin(500000, 3000000, 20, 20), nodata=0) as dst:
        for i, dn in enumerate(dns, start=1):
            dst.write(np.full((2, 3), dn, dtype="uint16"), i)
    bands = open_scene(path, {"G": 1, "N": 2, "S1": 3, "S2": 4}, scale=1e-4, offset=-0.1)
    got = {n: float(compute_index(n, bands).isel(y=1, x=2)) for n in ("MNDWI", "NBR", "NDMI")}
    assert got == pytest.approx({"MNDWI": -1 / 3, "NBR": 0.5, "NDMI": 0.14 / 0.46}, rel=1e-5)


def test_unknown_index_and_missing_band_are_input_errors():
    bands = open_scene(S2, S2_BANDS, scale=1e-4)
    with pytest.raises(InputDataError, match="not in the Awesome Spectral Indices"):
        compute_index("NDVII", bands)
    with pytest.raises(InputDataError, match="needs band 'S2'"):
        compute_index("NBR", bands)  # the 10 m subset has no SWIR band


def test_spyndex_catalogue_is_bundled_and_works_without_network():
    # Fresh interpreter with sockets disabled before spyndex is imported: the catalogue
    # (spyndex/data/spectral-indices-dict.json) must load from the installed package.
    code = textwrap.dedent("""
        import socket
        def refuse(*a, **k):
            raise OSError("network disabled by the test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        import numpy as np, xarray as xr, spyndex
        assert len(spyndex.indices) > 200
        out = spyndex.computeIndex("NDVI", params={"N": xr.DataArray(np.array([0.3])),
                                                   "R": xr.DataArray(np.array([0.1]))})
        print(round(float(out[0]), 6))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "0.5"

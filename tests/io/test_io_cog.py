"""The one-pass COG writer (sinks.io.cog behind sinks.io.rasters.write_cogs): a valid COG
layout (checked by rio-cogeo, independently of GDAL's LAYOUT flag), every metadata item, pixels
and overviews equal to an independent computation, the compression option, and a failed write
leaving nothing behind."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import rasterio
from odc.geo.geobox import GeoBox
from rio_cogeo.cogeo import cog_validate

import sinks.io.cog as cog
from sinks.grid import on_grid
from sinks.io.rasters import MapToWrite, write_cogs

GRID = GeoBox.from_bbox((400000, 3000000, 400000 + 1300 * 30, 3000000 + 1100 * 30), "EPSG:32650",
                        resolution=30)  # 1100 x 1300 px: 2 overviews (650 x 550, 325 x 275)
COLOURS = {1: (34, 120, 51, 255), 2: (250, 230, 90, 255), 3: (200, 30, 30, 255)}


def _float_map(rng):
    data = rng.normal(50, 20, GRID.shape.yx).astype("float32")
    data[:37, :] = np.nan  # a band of no data (NaN -> nodata), across block and tile edges
    data[500:700, 900:1111] = -9999.0
    return data


def _ref_overviews(data, nodata, method, n):
    """Each overview from the one before: the mean of a 2 x 2 window's valid pixels, or its
    upper-left pixel (written without sinks.io.cog)."""
    out, a = [], data
    for _ in range(n):
        if method == "nearest":
            a = a[::2, ::2]
        else:
            f = a.astype("float64")
            f[(a == nodata) | np.isnan(f)] = np.nan
            f = np.pad(f, ((0, a.shape[0] % 2), (0, a.shape[1] % 2)), constant_values=np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m = np.nanmean(f.reshape(f.shape[0] // 2, 2, f.shape[1] // 2, 2), axis=(1, 3))
            a = np.where(np.isnan(m), nodata, m).astype(data.dtype)
        out.append(a)
    return out


CASES = {
    "float32 average": ("float32", -9999.0, "average", None),
    "uint8 classes": ("uint8", 0, "nearest", COLOURS),
    "uint32 zones": ("uint32", 0, "nearest", None),
}


@pytest.mark.parametrize("compression", ["deflate", "zstd"])
@pytest.mark.parametrize("case", list(CASES))
def test_cog_is_valid_keeps_metadata_and_pixels(tmp_path, case, compression):
    dtype, nodata, resampling, colormap = CASES[case]
    rng = np.random.default_rng(1)
    if dtype == "float32":
        data = _float_map(rng)
        stored = np.where(np.isnan(data), nodata, data)
    else:
        data = rng.integers(0, 4 if colormap else 70000, GRID.shape.yx).astype(dtype)
        stored = data
    path = tmp_path / "map.tif"
    tags = {"units": "Mg C ha-1", "sign_convention": "+ = sink", "model": "test"}
    m = MapToWrite(on_grid(da.from_array(data, chunks=512), GRID), path, dtype, nodata,
                   "Long description of the map, 中文", "Mg C ha-1", tags, resampling,
                   colormap=colormap, title="Short title (Mg C ha-1)", notes_from=31, compression=compression)
    write_cogs([m])

    valid, errors, cog_warnings = cog_validate(str(path))
    assert valid and not errors, errors
    with rasterio.open(path) as src:
        structure = src.tags(ns="IMAGE_STRUCTURE")
        assert structure["LAYOUT"] == "COG"
        assert structure["COMPRESSION"] == compression.upper()
        assert structure["PREDICTOR"] == ("3" if dtype == "float32" else "2")
        assert src.crs.to_epsg() == 32650 and src.transform == GRID.affine
        assert src.dtypes[0] == dtype and src.nodata == nodata
        assert src.descriptions[0] == "Short title (Mg C ha-1)" and src.units[0] == "Mg C ha-1"
        assert tags.items() <= src.tags().items()
        assert src.tags()["long_description"] == "Long description of the map, 中文"
        assert src.block_shapes[0] == (512, 512)
        assert src.overviews(1) == [2, 4]
        np.testing.assert_array_equal(src.read(1), stored)
        if colormap:
            assert all(src.colormap(1)[c] == rgba for c, rgba in COLOURS.items())
    for level, ref in enumerate(_ref_overviews(stored, nodata, resampling, 2)):
        with rasterio.open(path, overview_level=level) as ovr:
            assert ovr.block_shapes[0] == (512, 512)
            np.testing.assert_allclose(ovr.read(1), ref, rtol=1e-6)


def test_unaligned_chunks_and_numpy_data_give_the_same_file(tmp_path):
    # chunks of 700 px do not lie on the 512 tile grid: the blocks are rechunked, not refused
    data = _float_map(np.random.default_rng(2))
    outs = []
    for name, arr in (("dask", on_grid(da.from_array(data, chunks=700), GRID)), ("numpy", on_grid(data, GRID))):
        path = tmp_path / f"{name}.tif"
        write_cogs([MapToWrite(arr, path, "float32", -9999.0, "d", "u", {}, "average")])
        outs.append(path.read_bytes())
        with rasterio.open(path) as src:
            np.testing.assert_array_equal(src.read(1), np.where(np.isnan(data), -9999.0, data))
    assert outs[0] == outs[1]  # the same bytes, whatever the chunks


def test_default_is_deflate_and_a_bigtiff_is_written_when_needed(tmp_path, monkeypatch):
    data = _float_map(np.random.default_rng(3))
    path = tmp_path / "a.tif"
    write_cogs([MapToWrite(on_grid(data, GRID), path, "float32", -9999.0, "d", "u", {}, "average")])
    assert path.read_bytes()[:4] == b"II*\x00"  # classic TIFF while it fits in 4 GiB
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
    monkeypatch.setattr(cog, "CLASSIC_MAX_BYTES", 0)
    big = tmp_path / "big.tif"
    write_cogs([MapToWrite(on_grid(data, GRID), big, "float32", -9999.0, "d", "u", {}, "average")])
    assert big.read_bytes()[:4] == b"II+\x00"
    assert cog_validate(str(big))[0]
    with rasterio.open(big) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and src.overviews(1) == [2, 4]
        np.testing.assert_array_equal(src.read(1), np.where(np.isnan(data), -9999.0, data))


def test_a_failed_write_leaves_the_previous_map_and_no_temporary_file(tmp_path):
    data = _float_map(np.random.default_rng(4))
    path = tmp_path / "map.tif"
    write_cogs([MapToWrite(on_grid(data, GRID), path, "float32", -9999.0, "d", "u", {}, "average")])
    before = path.read_bytes()

    def fail_late(block, block_info=None):
        if block_info[0]["chunk-location"] == (2, 2):  # after other blocks were compressed
            raise RuntimeError("disk pulled out")
        return block

    arr = da.from_array(data * 2, chunks=512).map_blocks(fail_late, dtype="float32")
    other = tmp_path / "other.tif"
    with pytest.raises(RuntimeError, match="disk pulled out"):
        write_cogs([MapToWrite(on_grid(arr, GRID), path, "float32", -9999.0, "d", "u", {}, "average"),
                    MapToWrite(on_grid(data, GRID), other, "float32", -9999.0, "d", "u", {}, "average")])
    assert path.read_bytes() == before  # the old map, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.tif"]  # no .tiles, no .cog.tif


def test_unknown_compression_or_resampling_is_refused_before_writing(tmp_path):
    data = _float_map(np.random.default_rng(5))
    with pytest.raises(ValueError, match="compression 'lzw'"):
        write_cogs([MapToWrite(on_grid(data, GRID), tmp_path / "a.tif", "float32", -9999.0, "d", "u", {},
                               "average", compression="lzw")])
    with pytest.raises(ValueError, match="resampling 'cubic'"):
        write_cogs([MapToWrite(on_grid(data, GRID), tmp_path / "a.tif", "float32", -9999.0, "d", "u", {},
                               "cubic")])
    assert not list(tmp_path.iterdir())


def test_config_compression_reaches_the_run_maps(tmp_path):
    import yaml

    from conftest import build_tiny
    from sinks.config import load_config
    from sinks.errors import ConfigError
    from sinks.paths import run_paths
    from sinks.run import Run

    root = build_tiny(tmp_path)
    cfg_path = root / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    assert load_config(cfg_path)["outputs"]["compression"] == "deflate"
    cfg["outputs"] = {"compression": "zstd"}
    cfg_path.write_text(yaml.safe_dump(cfg))
    loaded = load_config(cfg_path)
    run = Run(loaded, run_paths(loaded), 512)
    m = run.map("net_sink", on_grid(np.zeros(GRID.shape.yx, "float32"), GRID), basis="observed",
                model="test", inputs=[], y0=2000, y1=2020)
    assert m.compression == "zstd"
    cfg["outputs"] = {"compression": "lzw"}
    cfg_path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="outputs.compression"):
        load_config(cfg_path)

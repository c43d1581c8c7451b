"""Tiled runs (grid.tile_size, sinks.tiles): a tiled run equals the untiled one, map for map
and total for total; the tiling, the tile windows and the summed zone totals by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox

from conftest import make_halves, make_raster, sinks_cli, write_config
from sinks import tiles
from sinks.errors import InputDataError
from sinks.zones import load_totals, recorded_totals, save_totals, summed_totals, zonal_totals

ROOT = Path(__file__).resolve().parents[1]
W, H = 700, 600  # px: tiles of 512 cut the grid into 2 x 2 tiles, the last row and column smaller


def _compare_runs():
    spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "scripts" / "compare_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _case(root: Path) -> None:
    """Two epochs of CLCD codes (seeded), two zones, both methods, uncertainty maps."""
    rng = np.random.default_rng(7)
    lc0 = rng.choice(np.array([1, 2, 3, 5, 8], dtype="uint8"), size=(H, W), p=[.3, .4, .1, .1, .1])
    lc1 = np.where(rng.random((H, W)) < 0.1, rng.choice(np.array([1, 2, 8], dtype="uint8"), size=(H, W)), lc0)
    make_raster(root / "lc_2000.tif", lc0, nodata=0)
    make_raster(root / "lc_2020.tif", lc1.astype("uint8"), nodata=0)
    make_halves(root / "townships.gpkg", W, H)
    for name, tile_size in (("untiled", None), ("tiled", 512)):
        write_config(root / f"{name}.yaml", {
            "run": {"name": name},
            "grid": {"crs": "EPSG:32650", "resolution": 30, "tile_size": tile_size},
            "landcover": {"legend": "clcd", "epochs": {2000: "lc_2000.tif", 2020: "lc_2020.tif"}},
            "carbon": {"method": ["stock_difference", "gain_loss"]},
            "uncertainty": {"maps": True, "n_draws": 200},
            "zones": [{"path": "townships.gpkg", "id_field": "code", "name_field": "name",
                       "level": "township"}],
        })


def test_tiled_run_equals_untiled(tmp_path, capsys):
    """The user's side: the same case run untiled and in 2 x 2 tiles gives the same maps (pixel
    for pixel, as COGs with overviews and styles) and the same tables: the zone sums are added
    tile by tile, in another order, so the Monte Carlo figures agree to 1e-9 relative and a
    written value may differ by one unit in its last digit."""
    _case(tmp_path)
    for name in ("untiled", "tiled"):
        res = sinks_cli("run", f"{name}.yaml", "--cores", "2", cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
    runs = tmp_path / "data" / "processed"
    assert sorted(p.name for p in (runs / "tiled" / "tiles").iterdir()) == ["r0c0", "r0c1", "r1c0", "r1c1"]
    assert (runs / "tiled" / "tiles" / "r1c1" / "outputs" / "carbon_stock_2000.tif").exists()
    assert _compare_runs().main(runs / "untiled", runs / "tiled", rtol=1e-9, last_digit=True) == 0, \
        capsys.readouterr().out
    from conftest import check_cog
    check_cog(runs / "tiled" / "outputs" / "gain_loss_net_2000_2020.tif", "gain_loss_net")


def test_tiling_covers_the_grid_once():
    grid = GeoBox.from_bbox((0, 0, 700 * 30, 600 * 30), "EPSG:32650", resolution=30)
    layout = tiles.tiling(grid, 512)
    assert [n for n, _, _ in layout] == ["r0c0", "r0c1", "r1c0", "r1c1"]
    assert [(r.start, r.stop, c.start, c.stop) for _, r, c in layout] == [
        (0, 512, 0, 512), (0, 512, 512, 700), (512, 600, 0, 512), (512, 600, 512, 700)]
    assert tiles.tiling(grid, None) == []
    with pytest.raises(InputDataError, match="no tile 'r2c0'"):
        tiles.tile(grid, 512, "r2c0", Path("run"), Path("run/tiles/r2c0"))


def test_active_tile_crops_run_grid_arrays_and_redirects_run_files(tmp_path):
    grid = GeoBox.from_bbox((0, 0, 700 * 30, 600 * 30), "EPSG:32650", resolution=30)
    other = GeoBox.from_bbox((0, 0, 30 * 30, 20 * 30), "EPSG:32650", resolution=30)
    from odc.geo.xr import xr_zeros
    arr, small = xr_zeros(grid, dtype="uint8"), xr_zeros(other, dtype="uint8")
    t = tiles.tile(grid, 512, "r1c1", tmp_path, tmp_path / "tiles" / "r1c1")
    with tiles.active(t):
        assert tiles.crop(arr).shape == (88, 188)
        assert tiles.crop(arr).odc.geobox == grid[512:600, 512:700]
        assert tiles.crop(small).shape == (20, 30)  # not on the run grid: unchanged
        assert tiles.redirect(tmp_path / "outputs" / "a.tif") == tmp_path / "tiles" / "r1c1" / "outputs" / "a.tif"
        assert tiles.redirect(Path("/elsewhere/a.tif")) == Path("/elsewhere/a.tif")
        with tiles.active(None):  # the whole grid again
            assert tiles.crop(arr).shape == (600, 700)
    assert tiles.crop(arr).shape == (600, 700)


def test_summed_tile_totals_equal_whole_grid_totals(tmp_path):
    """Zone totals of a 5 x 7 grid cut into row bands, summed, equal the whole grid's; by hand
    for one cell."""
    rng = np.random.default_rng(3)
    zone = xr.DataArray(rng.integers(0, 3, (5, 7)).astype("uint32"), dims=("y", "x"))
    cls = xr.DataArray(rng.integers(0, 4, (5, 7)), dims=("y", "x"))
    val = xr.DataArray(rng.random((5, 7)), dims=("y", "x"))
    whole = zonal_totals({"z": zone}, {"z": 2}, [cls], [4], {"v": val})
    parts = {}
    for name, rows in (("r0c0", slice(0, 2)), ("r1c0", slice(2, 5))):
        with recorded_totals() as results:
            zonal_totals({"z": zone[rows]}, {"z": 2}, [cls[rows]], [4], {"v": val[rows]})
        save_totals(results, tmp_path / name / "zone_sums.npz")
        parts[name] = load_totals(tmp_path / name / "zone_sums.npz")
    with summed_totals(parts):
        replayed = zonal_totals({"z": zone}, {"z": 2}, [cls], [4], {"v": val})
    np.testing.assert_allclose(replayed["z"]["v"], whole["z"]["v"], rtol=1e-12)
    hand = val.values[(zone.values == 1) & (cls.values == 2)].sum()
    assert replayed["z"]["v"][1, 2] == pytest.approx(hand, rel=1e-12)
    with summed_totals(parts), pytest.raises(InputDataError, match="do not match"):
        zonal_totals({"z": zone}, {"z": 2}, [cls], [5], {"v": val})  # another question


def test_stage_on_an_unknown_tile_is_one_line(tmp_path):
    _case(tmp_path)
    res = sinks_cli("compute-stock", "--config", "tiled.yaml", "--year", "2000", "--tile", "r5c0",
                    cwd=tmp_path)
    assert res.returncode != 0
    assert "no tile 'r5c0'" in res.stderr and "Traceback" not in res.stderr


def test_mosaic_of_a_file_outside_the_run_folder_is_refused(tmp_path):
    _case(tmp_path)
    res = sinks_cli("mosaic", "--config", "tiled.yaml", "--path", "../../elsewhere.tif", cwd=tmp_path)
    assert res.returncode != 0
    assert "not a file of the run folder" in res.stderr and "Traceback" not in res.stderr

"""`sinks init DIR`: a commented config from land-cover rasters and a zones file, that validates
and runs; user errors are one line."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from conftest import LC_2000, LC_2020, make_halves, make_raster, sinks_cli


def _folder(root):
    make_raster(root / "clcd_2000.tif", LC_2000, nodata=0)
    make_raster(root / "clcd_2020.tif", LC_2020, nodata=0)
    halves = make_halves(tmp := root.parent / f"{root.name}_halves.gpkg", 4, 3, id_field="adcode")
    gpd.read_file(halves).to_file(root / "county.geojson", driver="GeoJSON")
    tmp.unlink()
    return root


def test_init_guesses_and_says_them_and_never_overwrites(tmp_path):
    root = _folder(tmp_path)
    done = sinks_cli("init", ".", cwd=root)
    assert done.returncode == 0, done.stderr
    text = (root / "sinks.yaml").read_text()
    assert "legend: clcd  # guessed" in text and '2020: "clcd_2020.tif"' in text
    assert 'crs: "EPSG:32650"' in text and "resolution: 30" in text
    assert "id_field: adcode" in text and "name_field: name" in text
    assert "legend 'clcd'" in done.stdout and "id field 'adcode'" in done.stdout
    ok = sinks_cli("validate", "sinks.yaml", cwd=root)
    assert ok.returncode == 0, ok.stderr
    again = sinks_cli("init", ".", cwd=root)
    assert again.returncode == 2 and "--force" in again.stderr
    assert sinks_cli("init", ".", "--force", cwd=root).returncode == 0


@pytest.mark.parametrize("case, message", [
    ("empty", "no land-cover rasters"),
    ("no_year", "cannot tell its year"),
    ("unknown_codes", "fit none of the known legends"),
])
def test_init_errors_are_one_line(tmp_path, case, message):
    if case == "no_year":
        make_raster(tmp_path / "landcover.tif", LC_2000, nodata=0)
    elif case == "unknown_codes":
        make_raster(tmp_path / "lc_2000.tif", np.full((3, 4), 250, dtype="uint8"))
    failed = sinks_cli("init", ".", cwd=tmp_path)
    assert failed.returncode == 2
    assert len(failed.stderr.strip().splitlines()) == 1 and message in failed.stderr


@pytest.mark.workflow
def test_init_config_runs(tmp_path):
    root = _folder(tmp_path)
    assert sinks_cli("init", ".", cwd=root).returncode == 0
    done = sinks_cli("run", "sinks.yaml", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "all " in done.stderr and "steps done" in done.stderr

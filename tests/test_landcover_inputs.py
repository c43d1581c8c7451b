"""Legal but unusual land-cover files give the right numbers or one clear line: any integer type,
a declared nodata that is also a legend code, an undeclared fill value (issue 16, point 3)."""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml

from conftest import LC_2000, LC_2020, PX_HA, build_tiny, make_raster, run_tiny_stages, write_config
from sinks.cli import main


def township_areas(df, year=2000) -> dict[str, float]:
    rows = df[(df.zone_level == "township") & (df.quantity == "area") & (df.year_start == year)]
    return rows.groupby("ecosystem").value.sum().to_dict()


def township_totals(df) -> dict[str, float]:
    rows = df[(df.zone_level == "township") & (df.ecosystem == "all")]
    return rows.groupby(["quantity", "year_start", "year_end"]).value.sum().to_dict()


@pytest.fixture(scope="module")
def uint8_totals(tmp_path_factory):
    root = build_tiny(tmp_path_factory.mktemp("uint8"))
    here = os.getcwd()
    os.chdir(root)  # the tiny config's paths are relative to its folder
    try:
        return township_totals(run_tiny_stages(root)[2])
    finally:
        os.chdir(here)


@pytest.mark.parametrize("dtype,fill", [("int32", -1), ("uint32", 4294967295), ("int16", -9999)])
def test_wide_integer_land_cover_gives_the_byte_numbers(tmp_path, chdir, dtype, fill, uint8_totals):
    # A GIS's Int32 export with nodata -1 used to end in MemoryError (a 2**32-bin histogram).
    root = chdir(build_tiny(tmp_path))
    for year, codes in ((2000, LC_2000), (2020, LC_2020)):
        data = codes.astype("int64")
        data[0, 0] = fill
        make_raster(root / f"lc_{year}.tif", data, nodata=fill, dtype=dtype)
    expected = dict(uint8_totals)
    totals = township_totals(run_tiny_stages(root)[2])
    # one forest pixel (the corner) is nodata in both epochs: its stock is gone, nothing else moves
    assert totals[("area", 2000, 2000)] == pytest.approx(expected[("area", 2000, 2000)] - PX_HA, rel=1e-9)
    assert totals[("net_sink", 2000, 2020)] == pytest.approx(expected[("net_sink", 2000, 2020)], rel=1e-9)


def test_declared_nodata_that_is_a_legend_code_is_not_counted(tmp_path, chdir):
    # CLCD 5 is water; a file that declares nodata 5 says those pixels are not data.
    root = chdir(build_tiny(tmp_path))
    for year, codes in ((2000, LC_2000), (2020, LC_2020)):
        make_raster(root / f"lc_{year}.tif", codes, nodata=5)
    areas = township_areas(run_tiny_stages(root)[2])
    assert "water" not in areas or areas["water"] == 0
    assert areas["all"] == pytest.approx(10 * PX_HA, rel=1e-9)  # 12 px less the two of code 5


def padded(codes: np.ndarray, fill: int = 0) -> np.ndarray:
    out = np.full((codes.shape[0] + 2, codes.shape[1] + 2), fill, dtype=codes.dtype)
    out[1:-1, 1:-1] = codes
    return out


def fill_case(root):
    """The tiny case framed by an undeclared 0 fill, with a legend in which 0 is water."""
    build_tiny(root)
    (root / "legend.csv").write_text("code,ecosystem\n0,water\n1,cropland\n2,forest\n3,shrub\n"
                                     "5,water\n8,settlement\n")
    (root / "carbon_pools.csv").write_text((root / "carbon_pools.csv").read_text() + "0,0,0,0,0\n")
    for year, codes in ((2000, LC_2000), (2020, LC_2020)):
        make_raster(root / f"lc_{year}.tif", padded(codes), origin=(500000.0 - 30, 3000000.0 + 30))
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    cfg["landcover"]["legend"] = "legend.csv"
    write_config(root / "config.yaml", cfg)
    return cfg


def validate(capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(["validate", "config.yaml"])
    return exc.value.code, capsys.readouterr().err


def test_undeclared_fill_is_refused_with_the_fix(tmp_path, chdir, capsys):
    root = chdir(tmp_path)
    fill_case(root)
    code, err = validate(capsys)
    assert code == 2 and "Traceback" not in err
    line, = [ln for ln in err.splitlines() if ln.startswith("sinks: error:")]
    assert "lc_2000.tif" in line and "landcover.nodata: 0" in line and "gdal_edit.py -a_nodata 0" in line


def test_declaring_the_fill_in_the_config_masks_it(tmp_path, chdir, capsys):
    root = chdir(tmp_path)
    cfg = fill_case(root)
    cfg["landcover"]["nodata"] = 0
    write_config(root / "config.yaml", cfg)
    assert validate(capsys)[0] == 0
    areas = township_areas(run_tiny_stages(root)[2])
    assert areas["all"] == pytest.approx(12 * PX_HA, rel=1e-9)  # the frame is not water
    assert areas["water"] == pytest.approx(2 * PX_HA, rel=1e-9)


def test_saying_there_is_no_fill_counts_the_code(tmp_path, chdir, capsys):
    root = chdir(tmp_path)
    cfg = fill_case(root)
    cfg["landcover"]["nodata"] = "none"
    write_config(root / "config.yaml", cfg)
    assert validate(capsys)[0] == 0


def test_codes_beyond_the_lookup_range_are_refused(tmp_path, chdir, capsys):
    root = chdir(build_tiny(tmp_path))
    data = LC_2020.astype("int32")
    data[0, 0] = 70000
    make_raster(root / "lc_2020.tif", data, nodata=-1, dtype="int32")
    code, err = validate(capsys)
    assert code == 2 and "70000" in err and "outside 0..65535" in err


def test_identical_runs_write_identical_map_bytes(tmp_path, monkeypatch):
    # issue 16, point 8: with SOURCE_DATE_EPOCH the 'created' tag is fixed, so maps repeat byte for byte
    import hashlib
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    digests = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        root = build_tiny(tmp_path / name)
        monkeypatch.chdir(root)
        _, paths, _ = run_tiny_stages(root)
        maps = sorted(paths.output("carbon_stock", year=2000).parent.glob("*.tif"))
        assert maps
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in maps})
    assert digests[0] == digests[1]

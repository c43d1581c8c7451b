"""Checks of the biomass-map inputs (sinks.methods.biomass_map.checks): a bad scene stops the
CLI with exit 2 and one line, before any job; a scene year that is not an epoch is refused."""

from __future__ import annotations

import yaml

from conftest import s2_case, sinks_cli, write_config


def test_bad_scene_through_the_cli_exits_2_with_one_line(tmp_path):
    s2_case(tmp_path, scale=1.0)  # DNs taken as reflectance
    res = sinks_cli("extract-features", "--config", "config.yaml", "--year", "2020", cwd=tmp_path)
    assert res.returncode == 2
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("sinks: error")]
    assert len(lines) == 1 and "sentinel2_patagonia_10m.tif" in lines[0] and "check the scale" in lines[0]
    s2_case(tmp_path, bands={"R": 3, "N": 4, "S1": 11})  # a band the file lacks
    res = sinks_cli("extract-features", "--config", "config.yaml", "--year", "2020", cwd=tmp_path)
    assert res.returncode == 2 and "missing" in res.stderr and "'S1': 11" in res.stderr
    res = sinks_cli("run", "config.yaml", cwd=tmp_path)  # stopped by the checks before any job
    assert res.returncode == 2 and "'S1': 11" in res.stderr and not (tmp_path / "data").exists()
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    cfg["imagery"]["scenes"] = {2030: cfg["imagery"]["scenes"][2020]}  # not an epoch
    write_config(tmp_path / "config.yaml", cfg)
    res = sinks_cli("validate", "config.yaml", cwd=tmp_path)
    assert res.returncode == 2 and "imagery.scenes.2030: not an epoch year" in res.stderr

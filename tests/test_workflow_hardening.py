"""`sinks run` from the user's side when things are odd or go wrong (issue 16): a folder name full
of shell and YAML characters, a rerun that fails after Snakemake removed the old outputs, a lock
left by a killed run."""

from __future__ import annotations

import hashlib
import shutil

import pytest
import yaml

from conftest import build_tiny, sinks_cli, write_config

pytestmark = pytest.mark.workflow

HOSTILE = "John's 项目 $(touch PWNED) `touch PWNED2` #x: y"


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """The tiny case run from a folder whose name holds quotes, $(...), backticks, spaces, '#',
    ': ' and Chinese characters (and the config file's name too)."""
    base = tmp_path_factory.mktemp("hostile")
    root = base / HOSTILE
    root.mkdir()
    build_tiny(root)
    (root / "config.yaml").rename(root / "my config #1.yaml")
    res = sinks_cli("run", "my config #1.yaml", "--cores", "2", cwd=root)
    return base, root, res


def test_a_hostile_folder_name_runs_and_runs_nothing_else(hostile_run):
    base, root, res = hostile_run
    assert res.returncode == 0, res.stderr[-3000:]
    assert (root / "data/processed/my_county/outputs/zonal_summary.csv").is_file()
    assert not list(base.rglob("PWNED*")) and not list(root.parent.parent.glob("PWNED*"))


def copy_run(hostile_run, tmp_path):
    _, root, res = hostile_run
    assert res.returncode == 0, res.stderr[-3000:]
    dst = tmp_path / "run"
    shutil.copytree(root, dst, symlinks=True)
    return dst


def run_files(run) -> dict[str, str]:
    return {str(p.relative_to(run)): digest(p) for p in run.rglob("*")
            if p.is_file() and p.relative_to(run).parts[0] not in ("logs", "benchmarks")}


def test_a_failed_rerun_keeps_the_earlier_maps(hostile_run, tmp_path):
    root = copy_run(hostile_run, tmp_path)
    run = root / "data/processed/my_county"
    before = run_files(run)
    # a new 2020 file that fails in its alignment job, after Snakemake removed the job's old output
    (root / "lc_2020.tif").write_bytes(b"II*\x00 not a raster any more")
    res = sinks_cli("run", "my config #1.yaml", "--cores", "1", "--skip-validation", cwd=root)
    assert res.returncode == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("sinks: error:")]
    assert len(errors) == 1 and "align_landcover" in errors[0] and "were put back" in errors[0], res.stderr
    assert run_files(run) == before  # every earlier map, table and interim file, byte for byte
    assert not (run / ".kept").exists()


def test_a_stale_lock_is_explained_and_cleared(hostile_run, tmp_path):
    root = copy_run(hostile_run, tmp_path)
    locks = root / ".snakemake" / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    (locks / "0.input.lock").write_text("left by kill -9\n")
    res = sinks_cli("run", "my config #1.yaml", cwd=root)
    assert res.returncode == 2
    line, = [ln for ln in res.stderr.splitlines() if ln.startswith("sinks: error:")]
    assert "locked" in line and "sinks run 'my config #1.yaml' --unlock" in line
    res = sinks_cli("run", "my config #1.yaml", "--unlock", cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    assert not locks.exists() or not any(locks.iterdir())
    res = sinks_cli("run", "my config #1.yaml", "--cores", "2", cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]


def test_temporaries_of_a_killed_run_are_gone_after_the_next(hostile_run, tmp_path):
    root = copy_run(hostile_run, tmp_path)
    out = root / "data/processed/my_county/outputs"
    stale = out / ".carbon_stock_2000.deadbeef.tiled.tif"
    stale.write_bytes(b"partial")
    cfg = yaml.safe_load((root / "my config #1.yaml").read_text())
    write_config(root / "my config #1.yaml", cfg)
    res = sinks_cli("run", "my config #1.yaml", "--cores", "2", cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    assert not stale.exists()

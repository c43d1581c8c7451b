"""The existing engines, for real (`make test-cluster`; collected only with pytest --cluster):
the tiny case run through the SLURM profile on the single-node SLURM of
scripts/cluster/start_slurm.sh, and through `sinks run --scheduler` on a dask.distributed
cluster of worker processes, each gives the outputs of a local run: every map pixel for pixel,
every table row (scripts/compare_runs.py), every style. An unreachable scheduler is one line.

Needs a running SLURM (`scripts/cluster/start_slurm.sh start`, as root) and the cluster extra
(pip install -e '.[test,cluster]'); `make test-cluster` sees to both."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, build_tiny, sinks_cli

pytestmark = pytest.mark.cluster

RUN = Path("data/processed/my_county")
PROFILE = REPO / "profiles" / "slurm"


def _compare_runs():
    spec = importlib.util.spec_from_file_location("compare_runs", REPO / "scripts" / "compare_runs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def _products(run_dir: Path) -> set[Path]:
    return {p.relative_to(run_dir) for p in run_dir.rglob("*")
            if p.suffix in (".csv", ".tif", ".gpkg", ".qml") and "logs" not in p.parts
            and not p.name.startswith(".")}


def assert_same_outputs(a: Path, b: Path) -> None:
    """The same files, every map pixel for pixel, every table row, every style."""
    assert _products(a) == _products(b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = _compare_runs()(str(a), str(b))
    assert code == 0, out.getvalue()
    assert "0 differ" in out.getvalue() and " 0 files compared" not in out.getvalue()
    for rel in _products(a):
        if rel.suffix == ".qml":
            assert (a / rel).read_text() == (b / rel).read_text(), rel


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The tiny case run locally (threads, the stage server): the reference."""
    root = build_tiny(tmp_path_factory.mktemp("local"))
    res = sinks_cli("run", "config.yaml", "--cores", "2", cwd=root)
    assert res.returncode == 0, res.stderr[-3000:]
    return root / RUN


@pytest.fixture
def slurm():
    res = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    if res.returncode != 0 or not {"idle", "mix", "alloc"} & set(res.stdout.split()):
        pytest.fail("SLURM is not running here: start it with scripts/cluster/start_slurm.sh start "
                    f"(as root), or run make test-cluster ({res.stderr.strip() or res.stdout.strip()})")


@contextlib.contextmanager
def stage_server_trap():
    """A Unix socket posing as a stage server: a job that connects to it took the local run's
    stage server into SLURM (a cluster job must start its own interpreter). In a short folder:
    socket paths are limited to about 100 characters."""
    folder = Path(tempfile.mkdtemp(prefix="sinks-trap-"))
    path = folder / "trap.sock"
    calls = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.bind(str(path))
        srv.listen()
        srv.settimeout(0.2)
        stop = threading.Event()

        def accept():
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                except OSError:
                    continue
                calls.append(True)
                conn.close()  # the client then runs the stage itself: the run still completes

        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            yield str(path), calls
        finally:
            stop.set()
            t.join()
            shutil.rmtree(folder, ignore_errors=True)


def test_tiny_case_through_the_slurm_profile_is_identical(local_run, slurm, tmp_path):
    root = build_tiny(tmp_path)
    with stage_server_trap() as (trap, calls):
        env = {**os.environ, "SINKS_STAGE_SERVER": trap}
        start = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "sinks", "run", "config.yaml", "--cores", "2",
                              "--", "--profile", str(PROFILE)], cwd=root, env=env,
                             capture_output=True, text=True, timeout=1200)
        took = time.monotonic() - start
    assert res.returncode == 0, res.stderr[-3000:]
    print(f"tiny case through SLURM: {took:.0f} s")
    log = (root / RUN / "logs" / "snakemake.log").read_text()
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    assert len(submitted) >= 10, "the jobs were not submitted to SLURM"
    assert not calls, "a SLURM job tried the local run's stage server socket"
    assert not (root / RUN / "logs" / "stage_server.log").exists()
    assert_same_outputs(local_run, root / RUN)


def test_tiny_case_on_a_dask_distributed_cluster_is_identical(local_run, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    root = build_tiny(tmp_path)
    monkeypatch.chdir(root)  # the worker processes start in the run's folder
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        res = sinks_cli("run", "config.yaml", "--cores", "2", "--scheduler",
                        cluster.scheduler_address, cwd=root)
        assert res.returncode == 0, res.stderr[-3000:]
        ran = set(cluster.scheduler.task_prefixes)
    assert {"open_rasterio", "where"} <= ran, f"no map was computed on the workers: {ran}"
    said = (root / RUN / "logs" / "compute_stock_2000.log").read_text()
    assert f"computing on the dask.distributed scheduler at {cluster.scheduler_address} (2 workers)" in said
    assert_same_outputs(local_run, root / RUN)


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    root = build_tiny(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    env = {**os.environ, "DASK_SINKS__SCHEDULER_TIMEOUT": "2s"}
    res = subprocess.run([sys.executable, "-m", "sinks", "run", "config.yaml", "--scheduler", address],
                         cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert f"cannot reach the dask scheduler at {address}" in lines[0]
    assert not (root / RUN / "outputs").exists()  # nothing ran

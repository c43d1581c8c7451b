"""dask.distributed through the workflow, the fast part (the real runs are in tests/cluster/,
`make test-cluster`): `sinks run --scheduler` puts the address in SINKS_DASK_SCHEDULER before the
stage server starts, a stage uses the variable when it has no --scheduler, the COGs written under
a distributed client are the ones written with local threads, and a scheduler that cannot be
used gives one line and exit 2. `distributed` is in the `test` extra (light, pure Python) so
that these run in the default suite; an in-process cluster (processes=False) keeps them fast."""

from __future__ import annotations

import os
import socket

import dask.array as da
import numpy as np
import pytest
import rasterio
from odc.geo.geobox import GeoBox

from conftest import REQUIRED_TAGS, build_tiny, sinks_cli
from sinks import cli
from sinks.grid import on_grid
from sinks.io.outputs import OUTPUTS
from sinks.io.rasters import MapToWrite, write_cogs

distributed = pytest.importorskip("distributed")


@pytest.fixture
def in_process_cluster():
    """A dask.distributed scheduler with two in-process workers (their folder is this process's),
    on TCP so that a `sinks` subprocess can reach it."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        yield cluster


@pytest.fixture
def no_scheduler_variable(monkeypatch):
    # set first, so that monkeypatch records the variable's absence and removes whatever a
    # `sinks run --scheduler` called in this process sets (it would reach later tests' runs)
    monkeypatch.setenv(cli.SCHEDULER_VARIABLE, "")
    monkeypatch.delenv(cli.SCHEDULER_VARIABLE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line_error(res, *words):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_run_sets_the_variable_before_the_stage_server_starts(tmp_path, chdir, monkeypatch,
                                                              in_process_cluster, no_scheduler_variable):
    import sinks.workflow_runner as wr
    root = chdir(build_tiny(tmp_path))
    seen = {}

    class Server:  # records what the real server (a subprocess) would inherit
        def __init__(self, log_path):
            seen["server"] = os.environ.get(cli.SCHEDULER_VARIABLE)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    def run_workflow(*args, **kwargs):
        seen["workflow"] = os.environ.get(cli.SCHEDULER_VARIABLE)
        return wr.Outcome(0)

    monkeypatch.setattr(wr, "StageServer", Server)
    monkeypatch.setattr(wr, "run_workflow", run_workflow)
    address = in_process_cluster.scheduler_address
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", str(root / "config.yaml"), "--skip-validation", "--scheduler", address])
    assert exit_.value.code == 0
    assert seen == {"server": address, "workflow": address}


def test_a_stage_uses_the_variable_when_it_has_no_scheduler_option(in_process_cluster, monkeypatch):
    address = in_process_cluster.scheduler_address
    monkeypatch.setenv(cli.SCHEDULER_VARIABLE, address)
    with cli._compute(threads=2, scheduler=None):
        assert distributed.default_client().scheduler.address == address
    with pytest.raises(ValueError):  # closed on leaving: later computations are local again
        distributed.default_client()
    monkeypatch.delenv(cli.SCHEDULER_VARIABLE)
    with cli._compute(threads=2, scheduler=None):
        with pytest.raises(ValueError):
            distributed.default_client()


def _maps(folder, data_a, data_b, grid):
    tags = {t: "x" for t in REQUIRED_TAGS}
    out = []
    for kind, name, data in (("net_sink", "net_sink_2000_2020.tif", data_a),
                             ("carbon_stock", "carbon_stock_2000.tif", data_b)):
        spec = OUTPUTS[kind]
        # several chunks, and a shared input, as a stage's maps have
        arr = on_grid(da.from_array(data, chunks=512), grid)
        out.append(MapToWrite(arr, folder / name, spec.dtype, spec.nodata, "d", spec.unit,
                              tags | {"units": spec.unit}, spec.overview_resampling, style=spec.style))
    return out


def test_cogs_written_under_a_distributed_client_are_identical(tmp_path, in_process_cluster):
    grid = GeoBox.from_bbox((0, 0, 1100 * 30, 700 * 30), "EPSG:32650", resolution=30)
    rng = np.random.default_rng(1)
    sink = rng.normal(0, 5, grid.shape.yx).astype("float32")
    sink[:7, :9] = np.nan
    stock = rng.uniform(0, 300, grid.shape.yx).astype("float32")
    (tmp_path / "local").mkdir()
    (tmp_path / "distributed").mkdir()
    write_cogs(_maps(tmp_path / "local", sink, stock, grid))
    with distributed.Client(in_process_cluster):
        write_cogs(_maps(tmp_path / "distributed", sink, stock, grid))
    assert in_process_cluster.scheduler.task_prefixes, "no task ran on the distributed workers"
    for name in ("net_sink_2000_2020.tif", "carbon_stock_2000.tif"):
        with rasterio.open(tmp_path / "local" / name) as a, rasterio.open(tmp_path / "distributed" / name) as b:
            assert a.profile == b.profile and a.tags() == b.tags() and a.overviews(1) == b.overviews(1)
            np.testing.assert_array_equal(a.read(1), b.read(1))
            small = (a.height // 4, a.width // 4)  # read from the overviews
            np.testing.assert_array_equal(a.read(1, out_shape=small), b.read(1, out_shape=small))
        assert ((tmp_path / "local" / name).with_suffix(".qml").read_text()
                == (tmp_path / "distributed" / name).with_suffix(".qml").read_text())
    assert not list((tmp_path / "distributed").glob(".*"))


def test_an_unreachable_scheduler_is_one_line_before_anything_runs(tmp_path, no_scheduler_variable):
    root = build_tiny(tmp_path)
    address = f"tcp://127.0.0.1:{_free_port()}"
    os.environ["DASK_SINKS__SCHEDULER_TIMEOUT"] = "1s"
    try:
        res = sinks_cli("run", "config.yaml", "--scheduler", address, cwd=root)
        line = _one_line_error(res, "cannot reach the dask scheduler", address, "--scheduler")
        assert not (root / "data" / "processed").exists() or not any((root / "data" / "processed").rglob("*.tif"))
        # a stage command given the address only through the environment says the same
        os.environ[cli.SCHEDULER_VARIABLE] = address
        res = sinks_cli("compute-stock", "--config", "config.yaml", "--year", "2000", cwd=root)
        assert _one_line_error(res, "cannot reach the dask scheduler", address) == line
    finally:
        os.environ.pop("DASK_SINKS__SCHEDULER_TIMEOUT", None)
        os.environ.pop(cli.SCHEDULER_VARIABLE, None)


def test_workers_in_another_folder_are_one_line(tmp_path, in_process_cluster, no_scheduler_variable):
    root = build_tiny(tmp_path)  # the workers are in this process, whose folder is not root
    assert os.path.realpath(os.getcwd()) != os.path.realpath(root)
    res = sinks_cli("run", "config.yaml", "--scheduler", in_process_cluster.scheduler_address, cwd=root)
    _one_line_error(res, "runs in", "not in this folder", "dask worker")


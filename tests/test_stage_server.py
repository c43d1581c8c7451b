"""The warm stage server of a local run: a job handed to it behaves as ``python -m sinks`` would
(exit code, streams, folder, environment), runs as a fork of the server, and a client falls back
to its own interpreter when there is no server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from sinks.stage_client import ADDRESS_VARIABLE
from sinks.workflow_runner import StageServer, runs_locally


def client(*args, cwd, env):
    return subprocess.run([sys.executable, "-m", "sinks.stage_client", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


@pytest.fixture
def server(tmp_path):
    with StageServer(tmp_path / "logs" / "stage_server.log") as s:
        env = s.environment()
        assert env, "the stage server did not start listening"
        yield s, env


def test_a_job_through_the_server_is_the_sinks_command(server, tmp_path):
    _, env = server
    ok = client("--version", cwd=tmp_path, env=env)
    assert ok.returncode == 0 and "sinks, version" in ok.stdout
    (tmp_path / "sub").mkdir()
    bad = client("validate", "missing.yaml", cwd=tmp_path / "sub", env={**env, "SINKS_TEST_MARK": "1"})
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip().startswith("sinks: error:") and "missing.yaml" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_server_runs_the_job_with_the_streams_folder_and_environment_sent(server, tmp_path):
    # the protocol spoken directly: fds 0, 1, 2 sent with the request, pid then exit code back
    s, env = server
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(env[ADDRESS_VARIABLE])
    (tmp_path / "here").mkdir()
    out = tmp_path / "out.txt"
    with out.open("w") as fh:
        request = json.dumps({"argv": ["validate", "cfg.yaml"], "cwd": str(tmp_path / "here"),
                              "env": dict(os.environ)}).encode()
        socket.send_fds(sock, [len(request).to_bytes(8, "big")], [0, fh.fileno(), fh.fileno()])
        sock.sendall(request)
        reply = sock.makefile("r")
        assert int(reply.readline()) not in (s.proc.pid, os.getpid())
        assert int(reply.readline()) == 2
    assert "cfg.yaml" in out.read_text()  # the error, on the stream sent, for the folder sent


def test_without_a_server_the_client_runs_the_command_itself(tmp_path):
    gone = client("--version", cwd=tmp_path, env={ADDRESS_VARIABLE: str(tmp_path / "no.sock")})
    assert gone.returncode == 0 and "sinks, version" in gone.stdout
    bad = client("validate", "missing.yaml", cwd=tmp_path, env={ADDRESS_VARIABLE: ""})
    assert bad.returncode == 2 and "missing.yaml" in bad.stderr


def test_cluster_runs_do_not_use_the_server():
    assert runs_locally([]) and runs_locally(["--forceall"])
    assert not runs_locally(["--executor", "slurm"]) and not runs_locally(["--profile=profiles/slurm"])


def test_a_quiet_server_leaves_no_log_and_its_messages_reach_the_run_log(tmp_path):
    log = tmp_path / "logs" / "stage_server.log"
    with StageServer(log) as s:
        assert s.environment()
    assert not log.parent.exists()  # inputs that fail the checks leave no run folder
    with StageServer(log) as s:
        assert s.environment()
        s.own_log.write_text("a message of the server\n")
    assert log.read_text() == "a message of the server\n"

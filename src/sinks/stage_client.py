"""The command a workflow rule runs: one ``sinks`` stage command, handed to the warm stage server
of a local ``sinks run`` (:mod:`sinks.stage_server`) when there is one, else run here as
``python -m sinks ...`` (a cluster job, a rule run by hand, a plain ``snakemake`` call).

Standard library only, so that starting it costs milliseconds: the point is not to import numpy,
dask and GDAL once per job. Its exit code, standard streams and signals are the stage's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

ADDRESS_VARIABLE = "SINKS_STAGE_SERVER"  # the server's Unix socket, set by `sinks run`


def _connect(address: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(address)
    except OSError:  # the server is gone (sinks run ended) or on another machine
        sock.close()
        return None
    return sock


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    address = os.environ.get(ADDRESS_VARIABLE)
    sock = _connect(address) if address else None
    if sock is None:
        os.execv(sys.executable, [sys.executable, "-m", "sinks", *argv])
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    # the standard streams travel as file descriptors with the length of the request
    socket.send_fds(sock, [len(request).to_bytes(8, "big")], [0, 1, 2])
    sock.sendall(request)
    reply = sock.makefile("r", encoding="ascii")
    first = reply.readline()
    if not first.strip():  # the server failed before it started the job: run it here
        os.execv(sys.executable, [sys.executable, "-m", "sinks", *argv])
    pid = int(first)

    def forward(signum, _frame):
        try:
            os.killpg(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    status = reply.readline()
    if not status.strip():
        sys.exit("sinks: error: the stage server stopped while running this step; run it again")
    sys.exit(int(status))


if __name__ == "__main__":
    main()

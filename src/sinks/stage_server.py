"""The warm stage server of a local ``sinks run``: one interpreter that has imported sinks and
every method's libraries once, and forks a child per stage command (:mod:`sinks.stage_client`).

A stage process spent about 3 s importing numpy, dask, GDAL, scikit-learn and matplotlib; a
fork of this server starts in milliseconds with all of them loaded. Each job is still its own
process (own memory, log file, dask pool, exit code, and a crash that cannot take the run down),
with the client's standard streams, working folder and environment. The server starts no thread
and computes nothing, so a fork inherits no thread pool and no open dataset.

Protocol on a Unix socket, per job: the client sends an 8-byte length with its fds 0, 1, 2
attached, then a JSON request ``{"argv", "cwd", "env"}``; the server answers the child's pid and,
when the child ends, its exit code, one line each. A client that disconnects (its job killed)
gets its child terminated. ``python -m sinks.stage_server SOCKET`` prints ``listening`` once the socket
takes connections (before its imports) and stops on SIGTERM or when its standard input closes (the ``sinks run`` that started it ended).
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import sys
import traceback


def _preload() -> None:
    """Import what the stage commands use, so that no child pays for it."""
    import sinks.cli  # on demand: what the children run  # noqa: F401
    from sinks.plan import RULES  # on demand, as above
    for spec in RULES.values():
        spec.load()


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    head, fds, _flags, _addr = socket.recv_fds(conn, 8, 3)
    size, body = int.from_bytes(head, "big"), b""
    while len(body) < size:
        part = conn.recv(size - len(body))
        if not part:
            raise ConnectionError("client left before sending its request")
        body += part
    return json.loads(body), fds


def _child(request: dict, fds: list[int], inherited: list) -> None:
    """In the forked child: take the client's streams, folder and environment, run the
    ``sinks`` command, and leave with its exit code (never return into the server loop)."""
    code = 1
    try:
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        for thing in inherited:
            thing.close()
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["sinks", *request["argv"]]
        from sinks.cli import main  # on demand: loaded by _preload before the fork
        main(request["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - a child must never fall back into the server loop
        traceback.print_exc()
    finally:
        try:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(address: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)  # clients may connect now: they wait in the backlog during the imports
    print("listening", flush=True)
    _preload()
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that SIGCHLD wakes select
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    jobs: dict[int, socket.socket] = {}  # child pid -> its client connection
    try:
        while not stopping:
            try:
                readable, _, _ = select.select([listener, wake_r, sys.stdin, *jobs.values()], [], [])
            except InterruptedError:
                continue
            if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
                break  # the sinks run that started us has ended
            if wake_r in readable:
                while True:
                    try:
                        if not wake_r.recv(512):
                            break
                    except BlockingIOError:
                        break
            for pid, conn in list(jobs.items()):
                if conn in readable and not conn.recv(1, socket.MSG_PEEK):
                    _kill(pid)  # the client went away: its job was cancelled
            _reap(jobs)
            if listener in readable:
                conn, _ = listener.accept()
                try:
                    request, fds = _receive(conn)
                except (OSError, ValueError, ConnectionError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(request, fds, [listener, wake_r, wake_w, conn, *jobs.values()])
                try:
                    os.setpgid(pid, pid)
                except OSError:
                    pass  # the child did it first, or has already ended
                for fd in fds:
                    os.close(fd)
                jobs[pid] = conn
                try:
                    conn.sendall(f"{pid}\n".encode())
                except OSError:
                    _kill(pid)
    finally:
        for pid in jobs:
            _kill(pid)
        listener.close()
        try:
            os.unlink(address)
        except OSError:
            pass


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        pass


def _reap(jobs: dict[int, socket.socket]) -> None:
    """Tell each client whose child has ended its exit code."""
    while jobs:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = jobs.pop(pid, None)
        if conn is None:
            continue
        try:
            code = os.waitstatus_to_exitcode(status)
            conn.sendall(f"{code if code >= 0 else 128 - code}\n".encode())  # shell convention
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])

"""Run the Snakemake workflow for a config (what ``sinks run`` does), with a quiet console.

Snakemake's whole output (its job listing and every stage's messages) goes to the run's log file;
the console shows one progress line (updated in place on a terminal, a line per tenth of the jobs
otherwise), each distinct warning once, and a failure as one line naming the failed step and its
log. ``verbose`` shows everything as Snakemake prints it. Ctrl-C is passed on to Snakemake, which is
waited for, so that it stops its jobs and releases its lock on the working directory.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import os
import re
import shutil
import signal
import subprocess
import select
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sinks.errors import SinksError
from sinks.stage_client import ADDRESS_VARIABLE


def snakefile() -> Path:
    """The workflow's Snakefile: ``$SINKS_SNAKEFILE``, else the source checkout's root one."""
    env = os.environ.get("SINKS_SNAKEFILE")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "Snakefile")
    for c in candidates:
        if c.is_file():
            return c
    raise SinksError("cannot find the sinks Snakefile; install sinks from its source checkout "
                     "(pip install -e .) or set SINKS_SNAKEFILE to its path")


@dataclass
class Outcome:
    """How a workflow run ended: Snakemake's exit code, the one-line reason if it failed, and
    whether the user interrupted it."""
    code: int
    error: str | None = None
    interrupted: bool = False


_PROGRESS = re.compile(r"^(\d+) of (\d+) steps \((\d+)%\) done")
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_ERROR_RULE = re.compile(r"^Error in rule (\w+):$")
_FIELD = re.compile(r"^ {4}(\w+):(?: (.*))?$")
_FINISHED = re.compile(r"^Finished job(?:id)?:? (\d+)")
_LOG_WARNING = re.compile(r"^\d\d:\d\d:\d\d WARNING [\w.]+: (.*)$")
_PY_WARNING = re.compile(r"^(?:.*):\d+: (\w*Warning): (.*)$")
_PLAIN_WARNING = re.compile(r"^(?:Warning|WARNING):? (.*)$")
_STAGE_ERROR = re.compile(r"^sinks: (?:internal )?error: (.*)$")
_SNAKEMAKE_ERROR = re.compile(r"^(?:\w+(?:Error|Exception)|Error):? ?(.*)$")


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}" if m >= 60 else f"{m}:{s:02d}"


class QuietConsole:
    """Reads Snakemake's output line by line and shows the short form of it on ``stream``."""

    def __init__(self, stream: TextIO, tty: bool | None = None, clock=time.monotonic):
        self.stream, self.clock, self.start = stream, clock, clock()
        self.tty = stream.isatty() if tty is None else tty
        self.done = self.total = 0
        self.tenth = -1                      # last tenth of the jobs reported (not a TTY)
        self.jobs: dict[str, dict] = {}      # jobid -> fields of its "rule X:" block
        self.running: dict[str, dict] = {}   # jobid -> fields, started and not finished
        self.block: dict | None = None       # the block whose indented fields are being read
        self.finished: dict | None = None    # the last finished job
        self.warnings: set[str] = set()
        self.failed: list[dict] = []         # "Error in rule X:" blocks
        self.stage_errors: list[str] = []    # one-line errors of the stage commands
        self.tail: collections.deque[str] = collections.deque(maxlen=6)
        self.drawn = False                   # a progress line is on the TTY

    # --- reading ---------------------------------------------------------------------------
    def feed(self, line: str) -> None:
        """Take one line of Snakemake's output (without its newline)."""
        field = _FIELD.match(line)
        if field and self.block is not None:
            self.block[field[1]] = field[2] or ""
            if field[1] == "jobid" and self.block.get("kind") == "rule":
                self.jobs[field[2]] = self.running[field[2]] = self.block
            return
        if line.startswith(" " * 8) and self.block is not None:
            return  # continuation lines of a block (e.g. its shell command)
        self.block = None
        if line.strip():
            self.tail.append(line.strip())
        if m := _RULE.match(line):
            self.block = {"kind": "rule", "rule": m[1]}
        elif m := _ERROR_RULE.match(line):
            self.block = {"kind": "error", "rule": m[1]}
            self.failed.append(self.block)
        elif m := _FINISHED.match(line):
            self.finished = self.running.pop(m[1], self.jobs.get(m[1]))
        elif m := _PROGRESS.match(line):
            self.done, self.total = int(m[1]), int(m[2])
            self._progress()
        elif m := _STAGE_ERROR.match(line):
            self.stage_errors.append(m[1])
        elif (m := _LOG_WARNING.match(line)) or (m := _PLAIN_WARNING.match(line)):
            self._warn(m[1])
        elif m := _PY_WARNING.match(line):
            self._warn(f"{m[1]}: {m[2]}")
        elif self.tty and self.drawn:
            self._draw()  # keep the elapsed time moving

    # --- showing ---------------------------------------------------------------------------
    @staticmethod
    def label(job: dict | None) -> str:
        """A job as the user knows it: its rule and wildcards, e.g. ``compute_stock (year=2020)``."""
        if not job:
            return ""
        wildcards = job.get("wildcards")
        return f"{job['rule']} ({wildcards})" if wildcards else job["rule"]

    def _line(self) -> str:
        head = f"[{self.done:>{len(str(self.total))}}/{self.total}] {_clock(self.clock() - self.start)}"
        if self.done == self.total:
            return f"{head} all {self.total} steps done"
        if self.tty and self.running:
            now = [self.label(j) for j in self.running.values()]
            return f"{head} running {now[0]}" + (f" +{len(now) - 1} more" if len(now) > 1 else "")
        return f"{head} done {self.label(self.finished)}"

    def _draw(self) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write("\r\x1b[K" + self._line()[:width])
        self.stream.flush()
        self.drawn = True

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False

    def _progress(self) -> None:
        if self.tty:
            self._draw()
            return
        tenth = self.done * 10 // max(self.total, 1)
        if tenth > self.tenth or self.done == self.total:
            self.tenth = tenth
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def _warn(self, text: str) -> None:
        if text in self.warnings:
            return
        self.warnings.add(text)
        self._clear()
        self.stream.write(f"warning: {text}\n")
        if self.tty and self.total:
            self._draw()
        self.stream.flush()

    def close(self) -> None:
        """End the progress line (a TTY's last line is left standing)."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False

    def error(self, log_path: Path | None) -> str:
        """The failure in one line: the failed step, the stage's own message, its log file."""
        see = f"; Snakemake's full output: {log_path}" if log_path else ""
        if self.failed:
            job = {**self.jobs.get(self.failed[0].get("jobid"), {}), **self.failed[0]}
            job_log = job.get("log", "").replace(" (check log file(s) for error details)", "")
            why = f": {self.stage_errors[-1]}" if self.stage_errors else ""
            more = f" (and {len(self.failed) - 1} more)" if len(self.failed) > 1 else ""
            return (f"step {self.label(job)} failed{more}{why}; its log: {job_log or 'none'}{see}")
        for line in self.tail:
            if (m := _SNAKEMAKE_ERROR.match(line)) and m[1]:
                return f"Snakemake failed: {m[1]}{see}"
        return f"Snakemake failed: {self.tail[-1] if self.tail else 'no output'}{see}"


class StageServer:
    """The warm stage server (:mod:`sinks.stage_server`) of one local run, started early so that
    its imports overlap the input checks. :meth:`environment` is what the jobs need to use it;
    empty if it did not come up (the jobs then start their own interpreters, as on a cluster)."""

    def __init__(self, log_path: Path):
        self.folder = tempfile.mkdtemp(prefix="sinks-")  # a short path: socket names are limited
        self.address = os.path.join(self.folder, "stage.sock")
        # the server's own messages wait in the temporary folder: a run whose inputs fail the
        # checks leaves no run folder behind
        self.log_path, self.own_log = log_path, Path(self.folder) / "server.log"
        with self.own_log.open("w", encoding="utf-8") as log:
            # own process group: a Ctrl-C at the terminal reaches Snakemake, which stops the jobs
            self.proc = subprocess.Popen([sys.executable, "-m", "sinks.stage_server", self.address],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, text=True, process_group=0,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.ready: bool | None = None

    def environment(self, timeout: float = 30) -> dict[str, str]:
        if self.ready is None:  # listening comes before the imports: jobs queue until they end
            up, _, _ = select.select([self.proc.stdout], [], [], timeout)
            self.ready = bool(up) and self.proc.stdout.readline().strip() == "listening"
        return {ADDRESS_VARIABLE: self.address} if self.ready else {}

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # the server stops when its standard input closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        said = self.own_log.read_text(encoding="utf-8", errors="replace") if self.own_log.exists() else ""
        if said:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(said)
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "StageServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def runs_locally(snakemake_args) -> bool:
    """Whether Snakemake runs the jobs on this machine (no executor or profile of a cluster)."""
    return not any(a.split("=")[0] in ("--executor", "-e", "--profile", "--workflow-profile")
                   for a in snakemake_args)


def _command(config_path, cores, extra, dry_run) -> list[str]:
    # the config path goes in SINKS_CONFIG (see _environment), never through --config, whose
    # values Snakemake parses as YAML ("#" or ": " in a folder name would change the path)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile()),
           "--directory", os.getcwd(), "--cores", str(cores),
           "--rerun-incomplete", "--show-failed-logs"]
    if dry_run:
        cmd.append("--dry-run")
    return cmd + list(extra)


def is_locked(workdir: str | Path = ".") -> bool:
    """Whether a Snakemake run holds (or a killed one left) the lock of ``workdir``."""
    locks = Path(workdir) / ".snakemake" / "locks"
    return locks.is_dir() and any(locks.iterdir())


def run_workflow(config_path: str | Path, cores: int, extra: list[str] = (), dry_run: bool = False,
                 log_path: str | Path | None = None, verbose: bool = False,
                 server: StageServer | None = None) -> Outcome:
    """Run Snakemake on ``config_path`` in the working directory, its jobs forked from
    ``server`` if given. Every line it prints is appended to ``log_path``; the console gets them
    all if ``verbose`` or ``dry_run``, else the :class:`QuietConsole` form."""
    log_path = Path(log_path) if log_path else None
    console = None if verbose or dry_run else QuietConsole(sys.stderr)
    log = None
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("a", encoding="utf-8")
        log.write(f"=== sinks run {datetime.datetime.now().isoformat(timespec='seconds')}: "
                  f"{' '.join(_command(config_path, cores, extra, dry_run))}\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "SINKS_CONFIG": str(Path(config_path).resolve()),
           **(server.environment() if server else {})}
    if not server:
        env.pop(ADDRESS_VARIABLE, None)
    # A shell starts background jobs with SIGINT ignored, and Snakemake would inherit that; with
    # Python's own handler here, the child starts with the default and an interrupt always works.
    main = threading.current_thread() is threading.main_thread()
    if main:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # Own process group: a Ctrl-C reaches only sinks, which passes it on once and then waits.
    proc = subprocess.Popen(_command(config_path, cores, extra, dry_run), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", bufsize=1,
                            env=env, process_group=0)
    interrupted = []

    def interrupt(_signum, _frame):  # a handler, not an exception: no line read is cut short
        if not interrupted:
            interrupted.append(True)
            os.killpg(proc.pid, signal.SIGINT)
            if console:
                console.close()
            sys.stderr.write("sinks: interrupted; waiting for Snakemake to stop its jobs "
                             "and release its lock ...\n")

    previous = signal.signal(signal.SIGINT, interrupt) if main else None
    try:
        for line in proc.stdout:
            if log:
                log.write(line)
            if console:
                console.feed(line.rstrip("\n"))
            else:  # a dry run's plan is the command's result: stdout
                (sys.stdout if dry_run else sys.stderr).write(line)
        code = proc.wait()
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        if proc.poll() is None:  # only if sinks itself failed while reading
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait()
        if log:
            log.close()
    if console:
        console.close()
    if code == 0 or interrupted:
        return Outcome(code, interrupted=bool(interrupted))
    error = console.error(log_path) if console else f"Snakemake exited with code {code}"
    return Outcome(code, error)

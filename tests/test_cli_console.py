"""What `sinks run` prints: a progress line, each warning once, a failure in one line naming the
step and its log; Snakemake's full output in the run's logs/snakemake.log."""

from __future__ import annotations

import re

import io
import signal
import subprocess
import sys

import pytest
from conftest import build_tiny, sinks_cli

from sinks.workflow_runner import QuietConsole

SNAKEMAKE_LINES = """\
Building DAG of jobs...
localrule align_landcover:
    input: lc_2020.tif
    jobid: 5
    wildcards: year=2020
Shell command: python -m sinks align-landcover --year 2020
/x/grid.py:12: UserWarning: You will likely lose important projection information
  warnings.warn(
Finished jobid: 5 (Rule: align_landcover)
1 of 2 steps (50%) done
localrule compute_sink:
    jobid: 7
    wildcards: y0=2000, y1=2020
/x/grid.py:12: UserWarning: You will likely lose important projection information
12:00:01 INFO sinks.io.rasters: wrote something.tif
12:00:02 WARNING sinks.run: no sd column
12:00:03 WARNING sinks.run: no sd column
sinks: error: lc_2020.tif: cannot be read as a raster
Error in rule compute_sink:
    message: None
    jobid: 7
    log: logs/compute_sink_2000_2020.log (check log file(s) for error details)
    shell:
        python -m sinks compute-sink
        (command exited with non-zero exit code)
Exiting because a job execution failed. Look above for error messages
"""


def _feed(tty: bool):
    out = io.StringIO()
    console = QuietConsole(out, tty=tty, clock=lambda: 0.0)
    for line in SNAKEMAKE_LINES.splitlines():
        console.feed(line)
    console.close()
    return console, out.getvalue()


def test_quiet_console_progress_warnings_once_and_one_line_error():
    console, text = _feed(tty=False)
    assert text.splitlines() == [
        "warning: UserWarning: You will likely lose important projection information",
        "[1/2] 0:00 done align_landcover (year=2020)",
        "warning: no sd column",
    ]
    error = console.error("logs/snakemake.log")
    assert "\n" not in error
    assert error.startswith("step compute_sink (y0=2000, y1=2020) failed: lc_2020.tif: cannot be read")
    assert "its log: logs/compute_sink_2000_2020.log;" in error and "logs/snakemake.log" in error


def test_quiet_console_on_a_terminal_redraws_one_line():
    _, text = _feed(tty=True)
    assert text.count("\n") == 3  # two warnings and the closing newline of the progress line
    assert "\r\x1b[K[1/2] 0:00 running compute_sink (y0=2000, y1=2020)" in text


def test_snakemake_failing_without_a_rule_says_its_error():
    console = QuietConsole(io.StringIO(), tty=False)
    for line in ["Building DAG of jobs...", "LockException:", "Error: Directory cannot be locked."]:
        console.feed(line)
    assert console.error(None) == "Snakemake failed: Directory cannot be locked."


@pytest.mark.workflow
def test_sinks_run_is_quiet_fails_in_one_line_and_verbose_shows_all(tmp_path):
    root = build_tiny(tmp_path)
    done = sinks_cli("run", "config.yaml", cwd=root)
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert len(lines) <= 40, lines
    assert any(re.search(r"all \d+ steps done", x) for x in lines) and done.stdout.startswith("done: outputs in")
    assert sum("no sd column" in x for x in lines) == 1
    full = (root / "data/processed/my_county/logs/snakemake.log").read_text()
    assert "localrule compute_sink:" in full and re.search(r"(\d+) of \1 steps \(100%\) done", full)

    (root / "lc_2020.tif").write_text("not a raster")  # after validation: skip it
    (root / "data").rename(root / "old")
    failed = sinks_cli("run", "config.yaml", "--skip-validation", cwd=root)
    assert failed.returncode == 1
    errors = [x for x in (failed.stdout + failed.stderr).splitlines() if "error" in x]
    assert len(errors) == 1, errors
    assert "step align_landcover (year=2020) failed: lc_2020.tif: cannot be read" in errors[0]
    assert "logs/align_landcover_2020.log" in errors[0]
    assert "cannot be read" in (root / "data/processed/my_county/logs/align_landcover_2020.log").read_text()

    verbose = sinks_cli("-v", "run", "config.yaml", "--skip-validation", cwd=root)
    assert verbose.returncode == 1 and "Error in rule align_landcover:" in verbose.stderr
    assert len(verbose.stderr.splitlines()) > 40


@pytest.mark.workflow
def test_ctrl_c_stops_snakemake_and_a_rerun_goes_on(tmp_path):
    root = build_tiny(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "sinks", "run", "config.yaml"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:  # interrupt once the first step has finished
        if re.match(r"\[ *1/\d+\]", line):
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    assert proc.wait(timeout=120) == 130, rest
    assert "Snakemake stopped and released its lock" in rest
    again = sinks_cli("run", "config.yaml", cwd=root)  # not locked: it goes on
    assert again.returncode == 0, again.stderr
    total = int(re.search(r"all (\d+) steps done", again.stderr)[1])
    assert f"[ 1/{total}]" in again.stderr and total < 13  # fewer steps: the finished one is kept

"""Run the Snakemake workflow for a config (what ``sinks run`` does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sinks.errors import SinksError


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


def run_workflow(config_path: str | Path, cores: int, extra: list[str] = (), dry_run: bool = False) -> int:
    """Run Snakemake on ``config_path`` in the working directory; returns its exit code."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile()),
           "--directory", os.getcwd(), "--cores", str(cores),
           "--config", f"sinks_config={Path(config_path).resolve()}",
           "--rerun-incomplete", "--show-failed-logs"]
    if dry_run:
        cmd.append("--dry-run")
    cmd += list(extra)
    return subprocess.call(cmd)

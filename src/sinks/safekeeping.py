"""Nothing lost when a run fails: earlier outputs kept through a failed rerun, and the hidden
temporaries of a killed run removed.

Snakemake deletes a job's old outputs before it runs the job, so a rerun that fails (a full
disk, a bad edit) would lose maps a bureau had. :class:`KeptOutputs` hard-links every file of
the run folder into ``.kept/`` before the workflow starts (no data is copied) and, if the
workflow fails, links back every file that is missing; files that succeeding jobs rewrote stay
new. On success the links are dropped.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

KEPT = ".kept"
NOT_KEPT = {KEPT, "logs", "benchmarks", "configs"}  # logs are appended, configs never deleted
TEMPORARY_PATTERNS = (".*.tiled.tif", ".*.cog.tif", ".*.tmp", ".*.tmp.*")  # sinks.io, atomic writes


def stale_temporaries(run_dir: Path) -> list[Path]:
    """Hidden temporary files a killed job left in the run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    return sorted({p for pattern in TEMPORARY_PATTERNS for p in run_dir.rglob(pattern)
                   if p.is_file() and KEPT not in p.relative_to(run_dir).parts})


def remove_stale_temporaries(run_dir: Path) -> int:
    """Remove them (call only when no workflow is running in the folder); returns how many."""
    found = stale_temporaries(run_dir)
    for p in found:
        p.unlink(missing_ok=True)
    if found:
        log.info("removed %d temporary file(s) a stopped run left in %s", len(found), run_dir)
    return len(found)


class KeptOutputs:
    """Hard links of a run folder's files for the time of one workflow run (module docstring)."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.store = self.run_dir / KEPT
        self.kept: list[Path] = []

    def __enter__(self) -> "KeptOutputs":
        shutil.rmtree(self.store, ignore_errors=True)  # from a run that was killed
        if not self.run_dir.is_dir():
            return self
        for path in self._files():
            rel = path.relative_to(self.run_dir)
            target = self.store / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError as exc:  # a file system without hard links: keep what was linked
                log.warning("cannot keep earlier outputs through a failed rerun (%s)", exc)
                break
            self.kept.append(rel)
        return self

    def _files(self):
        for entry in sorted(self.run_dir.iterdir()):
            if entry.name in NOT_KEPT:
                continue
            if entry.is_file():
                yield entry
            elif entry.is_dir():
                yield from (p for p in sorted(entry.rglob("*")) if p.is_file())

    def restore(self) -> list[Path]:
        """Link back every kept file that is now missing; returns their paths (relative)."""
        restored = []
        for rel in self.kept:
            path = self.run_dir / rel
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.link(self.store / rel, path)
                restored.append(rel)
        return restored

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.store, ignore_errors=True)

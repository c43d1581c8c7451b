"""Figures are reproducible byte for byte across processes (issue 16, point 8)."""

from __future__ import annotations

import hashlib
import subprocess
import sys

SCRIPT = """
import sys
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sinks.io.figures import save_figure
fig, ax = plt.subplots()
ax.plot([1, 2, 3], label="stock")
ax.legend()
save_figure(fig, Path(sys.argv[1]) / "f.png", Path(sys.argv[1]) / "f.svg")
"""


def test_the_same_figure_twice_is_the_same_bytes(tmp_path):
    digests = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        subprocess.run([sys.executable, "-c", SCRIPT, str(folder)], check=True)
        digests.append({n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in ("f.png", "f.svg")})
        assert "<dc:date>" not in (folder / "f.svg").read_text()
    assert digests[0] == digests[1]

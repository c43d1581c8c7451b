"""Writing figures atomically."""

from __future__ import annotations

from pathlib import Path


def save_figure(fig, *outs: Path) -> None:
    """Save a matplotlib figure to each path (temporary name, then rename) and close it."""
    import matplotlib.pyplot as plt
    for out in outs:
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
        fig.savefig(tmp, dpi=110)
        tmp.replace(out)
    plt.close(fig)

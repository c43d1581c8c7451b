"""Writing figures atomically."""

from __future__ import annotations

from pathlib import Path


def save_figure(fig, *outs: Path) -> None:
    """Save a matplotlib figure to each path (temporary name, then rename) and close it.

    Byte for byte reproducible: no creation date in SVG or PNG metadata, SVG element ids from a
    fixed salt (matplotlib otherwise salts them with a random value per process)."""
    import matplotlib.pyplot as plt
    for out in outs:
        tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
        with plt.rc_context({"svg.hashsalt": "sinks"}):
            fig.savefig(tmp, dpi=110, metadata={"Date": None} if out.suffix in (".svg", ".pdf") else None)
        tmp.replace(out)
    plt.close(fig)

"""QGIS layer styles (``.qml`` sidecars) for the output maps.

QGIS loads ``<name>.qml`` beside ``<name>.tif`` as the layer's default style, so a GIS user sees
class maps with their names and colours, stocks on a sequential ramp and sinks on a diverging ramp
centred on 0 (blue = sink, red = source) without styling anything by hand. The value range of a
ramp is the 2nd-98th percentile of a sample of full-resolution windows, not of all pixels.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import rasterio
from rasterio.windows import Window

# ColorBrewer ramps (Brewer 2003, colorbrewer2.org): YlGn for stocks, RdBu for sinks.
SEQUENTIAL = ["#ffffe5", "#d9f0a3", "#78c679", "#238443", "#004529"]
DIVERGING = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"]

_HEADER = ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
           '<qgis version="3.28.0" styleCategories="AllStyleCategories">\n  <pipe>\n')
_FOOTER = "  </pipe>\n</qgis>\n"


def classes_qml(labels: dict[int, str], colours: dict[int, tuple[int, int, int, int]]) -> str:
    """Paletted (unique values) renderer: one entry per class code with its label and colour."""
    entries = "".join(
        f'        <paletteEntry value="{code}" color="#{r:02x}{g:02x}{b:02x}" alpha="{a}" '
        f"label={quoteattr(labels[code])}/>\n"
        for code, (r, g, b, a) in sorted(colours.items()) if code in labels)
    return (_HEADER + '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1">\n'
            "      <colorPalette>\n" + entries + "      </colorPalette>\n"
            "    </rasterrenderer>\n" + _FOOTER)


def ramp_qml(vmin: float, vmax: float, colours: list[str], unit: str, labels: tuple[str, str] = ("", "")) -> str:
    """Singleband pseudocolour renderer interpolating ``colours`` evenly from vmin to vmax."""
    values = np.linspace(vmin, vmax, len(colours))
    items = []
    for i, (v, c) in enumerate(zip(values, colours)):
        note = labels[0] if i == 0 else labels[1] if i == len(colours) - 1 else ""
        text = f"{v:.3g} {unit}{' ' + note if note else ''}"
        items.append(f'          <item value="{v:.6g}" color="{c}" alpha="255" label={quoteattr(text)}/>\n')
    return (_HEADER + f'    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" '
            f'alphaBand="-1" classificationMin="{vmin:.6g}" classificationMax="{vmax:.6g}">\n'
            "      <rastershader>\n"
            f'        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" '
            f'clip="0" minimumValue="{vmin:.6g}" maximumValue="{vmax:.6g}">\n'
            + "".join(items) + "        </colorrampshader>\n      </rastershader>\n"
            "    </rasterrenderer>\n" + _FOOTER)


def sample_range(path: Path, symmetric: bool, windows_per_side: int = 4) -> tuple[float, float]:
    """2nd-98th percentile of a map's valid values in up to 4 x 4 full-resolution 512 px windows
    spread evenly over the map (cheap, and unlike overviews not smoothed by averaging).

    ``symmetric``: ±(98th percentile of |value|), so that 0 sits mid-ramp.
    """
    with rasterio.open(path) as src:
        size = 512
        rows = np.linspace(0, max(0, src.height - size), windows_per_side).astype(int)
        cols = np.linspace(0, max(0, src.width - size), windows_per_side).astype(int)
        parts = [src.read(1, window=Window(c, r, min(size, src.width), min(size, src.height)),
                          masked=True).compressed()
                 for r in np.unique(rows) for c in np.unique(cols)]
    data = np.concatenate(parts)
    data = data[np.isfinite(data)]
    if not data.size:
        return (-1.0, 1.0) if symmetric else (0.0, 1.0)
    if symmetric:
        lim = float(np.percentile(np.abs(data), 98)) or 1.0
        return -lim, lim
    lo, hi = (float(v) for v in np.percentile(data, [2, 98]))
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def write_qml(map_path: Path, text: str) -> Path:
    """Write ``text`` as the QGIS style beside ``map_path`` (temporary name, then rename)."""
    out = map_path.with_suffix(".qml")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out

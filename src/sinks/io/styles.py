"""QGIS layer styles (``.qml`` sidecars) for the output maps.

QGIS loads ``<name>.qml`` beside ``<name>.tif`` as the layer's default style, so a GIS user sees
class maps with their names and colours, stocks on a sequential ramp and sinks on a diverging ramp
centred on 0 (blue = sink, red = source) without styling anything by hand.

Legends are written for reading: every ramp stop is a labelled legend item with its unit (and,
on sink maps, the words "source" / "sink"), because QGIS 3.18+ draws an interpolated ramp as a
bare two-number gradient unless ``rampLegendSettings useContinuousLegend="0"`` asks for the
items (QgsColorRampLegendNodeSettings). Class maps list only the classes present in the map.
The value range of a ramp is fitted to a stride sample of every written block
(:class:`MapSample`): the 2nd-98th percentile, or the full range when the map holds only a
few distinct values (class look-up maps such as soil carbon).
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

# ColorBrewer ramps (Brewer 2003, colorbrewer2.org): YlGn for stocks, RdBu for sinks.
SEQUENTIAL = ["#ffffe5", "#d9f0a3", "#78c679", "#238443", "#004529"]
DIVERGING = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"]
SIGN_WORDS = ("source", "sink")  # below and above 0 on a diverging (sink) map
SAMPLE_SIZE = 1_000_000  # values kept per map to fit its ramp
FEW_VALUES = 32  # a map with at most this many distinct values gets its full range

_HEADER = ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
           '<qgis version="3.22.0" styleCategories="AllStyleCategories">\n  <pipe>\n')
_FOOTER = "  </pipe>\n</qgis>\n"
_SUPERSCRIPTS = {"1": "¹", "2": "²", "3": "³"}


def display_unit(unit: str) -> str:
    """A registry unit as a legend shows it: "Mg CO2 ha-1 yr-1" -> "Mg CO2 ha⁻¹ yr⁻¹", "m3" -> "m³";
    "" for the dimensionless "1"."""
    if unit == "1":
        return ""
    out = []
    for part in unit.split():
        stem, minus, exp = part.rpartition("-")
        if minus and stem.isalpha() and exp in _SUPERSCRIPTS:
            part = f"{stem}⁻{_SUPERSCRIPTS[exp]}"
        elif part in ("m2", "m3"):
            part = f"m{_SUPERSCRIPTS[part[1]]}"
        out.append(part)
    return " ".join(out)


def _number(v: float) -> str:
    """Three significant digits, a true minus sign, no "-0"."""
    text = f"{v:.3g}"
    return "0" if float(text) == 0 else text.replace("-", "−")


def classes_qml(labels: dict[int, str], colours: dict[int, tuple[int, int, int, int]],
                present: set[int] | None = None) -> str:
    """Paletted (unique values) renderer: one entry per class code with its label and colour,
    for the codes in ``present`` only (None: every labelled code)."""
    entries = "".join(
        f'        <paletteEntry value="{code}" color="#{r:02x}{g:02x}{b:02x}" alpha="{a}" '
        f"label={quoteattr(labels[code])}/>\n"
        for code, (r, g, b, a) in sorted(colours.items())
        if code in labels and (present is None or code in present))
    return (_HEADER + '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1">\n'
            "      <colorPalette>\n" + entries + "      </colorPalette>\n"
            "    </rasterrenderer>\n" + _FOOTER)


def ramp_qml(vmin: float, vmax: float, colours: list[str], unit: str, diverging: bool = False) -> str:
    """Singleband pseudocolour renderer interpolating ``colours`` evenly from vmin to vmax, with
    a legend item per colour stop: value, unit and (``diverging``) "source" below 0, "sink"
    above 0."""
    values = np.linspace(vmin, vmax, len(colours))
    shown = display_unit(unit)
    items = []
    for v, c in zip(values, colours):
        word = (SIGN_WORDS[0] if v < 0 else SIGN_WORDS[1] if v > 0 else "") if diverging else ""
        text = f"{_number(v)} {shown}{f' ({word})' if word else ''}".strip()
        items.append(f'          <item value="{v:.6g}" color="{c}" alpha="255" label={quoteattr(text)}/>\n')
    return (_HEADER + f'    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" '
            f'alphaBand="-1" classificationMin="{vmin:.6g}" classificationMax="{vmax:.6g}">\n'
            "      <rastershader>\n"
            f'        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" '
            f'clip="0" minimumValue="{vmin:.6g}" maximumValue="{vmax:.6g}">\n'
            + "".join(items)
            + '          <rampLegendSettings useContinuousLegend="0" prefix="" suffix="" '
            'minimumLabel="" maximumLabel="" orientation="2" direction="0"/>\n'
            "        </colorrampshader>\n      </rastershader>\n"
            "    </rasterrenderer>\n" + _FOOTER)


class MapSample:
    """What the style of one map needs, gathered from its blocks as they are written: the
    codes present (class maps, exact) or a stride sample of the valid values (every
    ``stride``-th row and column of each block, about SAMPLE_SIZE values per map)."""

    def __init__(self, shape: tuple[int, int], nodata, classes: bool):
        self.nodata, self.classes = nodata, classes
        self.stride = max(1, int(np.ceil(np.sqrt(shape[0] * shape[1] / SAMPLE_SIZE))))
        self.codes: set[int] = set()
        self.parts: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        """Record one written block (values as stored, nodata included)."""
        if self.classes:
            self.codes.update(int(c) for c in np.unique(block))
            self.codes.discard(self.nodata)
            return
        part = block[::self.stride, ::self.stride].ravel()
        part = part[np.isfinite(part)]
        self.parts.append(part[part != self.nodata] if self.nodata is not None else part)

    def value_range(self, symmetric: bool) -> tuple[float, float]:
        """The ramp's range: 2nd-98th percentile of the sample, or its minimum and maximum when it
        holds at most FEW_VALUES distinct values. ``symmetric``: ±(98th percentile, or maximum,
        of |value|), so that 0 sits mid-ramp."""
        data = np.concatenate(self.parts) if self.parts else np.empty(0)
        if not data.size:
            return (-1.0, 1.0) if symmetric else (0.0, 1.0)
        few = np.unique(data).size <= FEW_VALUES
        if symmetric:
            mag = np.abs(data)
            lim = float(mag.max() if few else np.percentile(mag, 98)) or 1.0
            return -lim, lim
        lo, hi = (float(data.min()), float(data.max())) if few else (
            float(v) for v in np.percentile(data, [2, 98]))
        return (lo, hi) if hi > lo else (lo, lo + 1.0)


def write_qml(map_path: Path, text: str) -> Path:
    """Write ``text`` as the QGIS style beside ``map_path`` (temporary name, then rename)."""
    out = map_path.with_suffix(".qml")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    return out

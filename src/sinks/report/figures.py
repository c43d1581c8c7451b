"""The report's maps and charts (matplotlib, headless), each an inline base64 PNG with the badge
kinds of the rows or maps it shows. Maps carry zone outlines, a legend with the unit, a scale
bar and a north arrow; labels are in the report's language, with a CJK font when the system
has one (else Chinese labels show as boxes: install fonts-noto-cjk)."""

from __future__ import annotations

import base64
import functools
import io
import logging
import math
import warnings
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # headless: figures are files

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.colors import LogNorm, TwoSlopeNorm  # noqa: E402
from rasterio.enums import Resampling  # noqa: E402

from sinks.io.outputs import OUTPUTS  # noqa: E402
from sinks.landcover import ECOSYSTEM_CODES, ECOSYSTEM_COLOURS  # noqa: E402
from sinks.report.build import SINK_MAPS, ReportData, basis_flags, map_flags, scope_flags  # noqa: E402
from sinks.report.i18n import tr  # noqa: E402

log = logging.getLogger(__name__)

CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "SimHei", "Microsoft YaHei", "PingFang SC", "Noto Sans CJK JP")
MAX_PIXELS = 900  # long side of a map as drawn (decimated read, average resampling)
MT = 1e6  # Mg -> Mt (= Tg)


@dataclass(frozen=True)
class Figure:
    """A drawn figure: its key (anchor), title, inline PNG and badge kinds."""

    key: str
    title: str
    png: str
    flags: frozenset


@functools.lru_cache(maxsize=1)
def cjk_family() -> str | None:
    """A font family with Chinese glyphs: one matplotlib knows, else one of the system's font
    files registered now (matplotlib's font cache predates fonts installed later)."""
    known = {f.name for f in font_manager.fontManager.ttflist}
    for fam in CJK_FAMILIES:
        if fam in known:
            return fam
    for path in font_manager.findSystemFonts():
        name = path.rsplit("/", 1)[-1].lower()
        if any(k in name for k in ("cjk", "wqy", "sourcehan", "simhei", "msyh")):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError):  # an unreadable font file: try the next
                continue
    known = {f.name for f in font_manager.fontManager.ttflist}
    fam = next((f for f in CJK_FAMILIES if f in known), None)
    if fam is None:
        log.warning("no CJK font found: Chinese labels in the report's figures show as boxes "
                    "(install fonts-noto-cjk)")
        # said once above; matplotlib would repeat it for every missing glyph
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
    return fam


def _style() -> dict:
    fam = cjk_family()
    return {"font.family": "sans-serif", "font.sans-serif": ([fam] if fam else []) + ["DejaVu Sans"],
            "axes.unicode_minus": False, "font.size": 9}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _nice(length: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``length``."""
    k = 10 ** math.floor(math.log10(length))
    return max(m * k for m in (1, 2, 5) if m * k <= length)


def _scale_bar_and_north(ax, extent, lang: str, projected: bool) -> None:
    x0, x1, y0, y1 = extent
    if projected:
        bar = _nice((x1 - x0) / 4)
        bx, by, h = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0), 0.012 * (y1 - y0)
        ax.add_patch(plt.Rectangle((bx, by), bar / 2, h, fc="black", ec="black", lw=0.6))
        ax.add_patch(plt.Rectangle((bx + bar / 2, by), bar / 2, h, fc="white", ec="black", lw=0.6))
        ax.text(bx + bar / 2, by + 2.2 * h, f"{bar / 1000:g} {tr(lang, 'text', 'km')}", ha="center", fontsize=8)
    ax.annotate(tr(lang, "text", "north"), xy=(0.93, 0.97), xytext=(0.93, 0.84), xycoords="axes fraction",
                ha="center", va="center", fontsize=10, fontweight="bold",
                arrowprops={"facecolor": "black", "width": 3, "headwidth": 9, "headlength": 8})


def _outline_levels(data: ReportData) -> list[tuple[str, float]]:
    """Zone levels drawn on the maps: the one with most zones (thin) and the headline level."""
    levels = sorted(data.zones, key=lambda lv: len(data.zones[lv]))
    out = [(levels[-1], 0.3)] if levels else []
    if data.head[0] in data.zones and data.head[0] != (levels[-1] if levels else None):
        out.append((data.head[0], 0.9))
    return out


def map_figure(data: ReportData, kind: str, fields: dict, path, lang: str) -> Figure:
    """One output map with zone outlines, colour bar (unit; sink/source words for sinks),
    scale bar and north arrow."""
    spec = OUTPUTS[kind]
    with rasterio.open(path) as src:
        f = max(1, math.ceil(max(src.width, src.height) / MAX_PIXELS))
        arr = src.read(1, masked=True, out_shape=(src.height // f or 1, src.width // f or 1),
                       resampling=Resampling.average).astype("float64").filled(np.nan)
        b, crs = src.bounds, src.crs
    extent = (b.left, b.right, b.bottom, b.top)
    base = kind.removesuffix("_sd")
    if kind.endswith("_sd"):
        cmap, norm, title = "magma_r", None, f"{tr(lang, 'text', 'sd_map')}: "
    elif base == "carbon_stock":
        cmap, norm, title = "YlGn", None, ""
    else:
        lim = float(np.nanpercentile(np.abs(arr), 98)) if np.isfinite(arr).any() else 1.0
        cmap, norm, title = "RdYlGn", TwoSlopeNorm(0.0, -(lim or 1.0), lim or 1.0), ""
    what = (tr(lang, "text", "stock_map") if base == "carbon_stock"
            else f"{tr(lang, 'text', 'sink_map')} ({tr(lang, 'method', SINK_MAPS.get(base, base))})")
    when = str(fields.get("year", f"{fields.get('y0')}–{fields.get('y1')}"))
    title = f"{title}{what} {when}"
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(6.4, 6.0))
        im = ax.imshow(arr, extent=extent, cmap=cmap, norm=norm, interpolation="nearest")
        for lv, lw in _outline_levels(data):
            data.zones[lv].to_crs(crs).boundary.plot(ax=ax, color="#333333", linewidth=lw)
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        label = spec.unit
        if norm is not None:
            label += " (+ 碳汇 / − 碳源)" if lang == "zh" else " (+ sink / − source)"
        fig.colorbar(im, ax=ax, shrink=0.75, label=label)
        _scale_bar_and_north(ax, extent, lang, bool(crs and crs.is_projected))
        png = _png(fig)
    return Figure(f"map-{path.stem}", title, png, frozenset(map_flags(path) | scope_flags(data.flags)))


def _rows(data: ReportData, kind: str, level: str | None = None, **sel) -> pd.DataFrame:
    df = data.tables.get(kind)
    if df is None:
        return pd.DataFrame()
    lv, zid = data.head
    df = df[(df.zone_level == (level or lv))]
    if level is None:
        df = df[df.zone_id == zid]
    for k, v in sel.items():
        df = df[df[k] == v]
    return df


def _flags(data: ReportData, rows: pd.DataFrame, level: str | None = None) -> frozenset:
    kinds = set().union(*[basis_flags(b) for b in rows["basis"].unique()]) if "basis" in rows else set()
    return frozenset(kinds | scope_flags(data.flags, level or data.head[0]))


def _colour(eco: str) -> tuple:
    rgba = ECOSYSTEM_COLOURS.get(ECOSYSTEM_CODES.get(eco, 0), (150, 150, 150, 255))
    return tuple(c / 255 for c in rgba)


def stock_by_ecosystem(data: ReportData, lang: str) -> Figure | None:
    rows = _rows(data, "zonal_summary", quantity="carbon_stock", method="stock_difference")
    rows = rows[rows.ecosystem != "all"]
    if rows.empty:
        return None
    wide = rows.pivot_table(index="year_start", columns="ecosystem", values="value", aggfunc="sum") / MT
    title = tr(lang, "text", "stock_by_ecosystem")
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(7, 4))
        bottom = np.zeros(len(wide))
        for eco in wide.columns:
            ax.bar(wide.index.astype(str), wide[eco].fillna(0), bottom=bottom, color=_colour(eco),
                   label=tr(lang, "ecosystem", eco), edgecolor="white", linewidth=0.4)
            bottom += wide[eco].fillna(0).to_numpy()
        ax.set_ylabel(tr(lang, "text", "stock_unit"))
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.set_title(title, fontsize=10)
        png = _png(fig)
    return Figure("chart-stock", title, png, _flags(data, rows))


def _many_zone_level(data: ReportData) -> str:
    return max(data.zones, key=lambda lv: len(data.zones[lv])) if data.zones else data.head[0]


def sink_ranked(data: ReportData, lang: str) -> Figure | None:
    df = data.tables["zonal_summary"]
    sinks = df[(df.quantity == "net_sink") & (df.ecosystem == "all")]
    method = next((m for m in ("gain_loss", "land_use_change", "biomass_map") if (sinks.method == m).any()), None)
    if method is None:
        return None
    level = _many_zone_level(data)
    rows = sinks[(sinks.method == method) & (sinks.zone_level == level)]
    y1 = rows.year_end.max()
    rows = rows[rows.year_end == y1].sort_values("value")
    names = [data.names.get((level, z), (z, z))[lang == "en"] for z in rows.zone_id]
    v = rows.value.to_numpy() / MT
    err = None
    if rows.ci_low.notna().all():
        err = np.vstack([v - rows.ci_low.to_numpy() / MT, rows.ci_high.to_numpy() / MT - v])
    title = (f"{tr(lang, 'text', 'sink_ranked')} – {tr(lang, 'level', level)}, "
             f"{tr(lang, 'method', method)} {int(rows.year_start.iloc[0])}–{int(y1)}")
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(7, 0.17 * len(rows) + 1.2))
        ax.barh(names, v, xerr=err, color=np.where(v >= 0, "#238443", "#b2182b"),
                error_kw={"elinewidth": 0.6, "ecolor": "#555555"}, height=0.7)
        ax.axvline(0, color="grey", lw=0.6)
        ax.set_xlabel(tr(lang, "text", "sink_unit"))
        ax.tick_params(axis="y", labelsize=7)
        ax.margins(y=0.005)
        ax.set_title(title, fontsize=10)
        png = _png(fig)
    return Figure("chart-ranked", title, png, _flags(data, rows, level))


def transition_matrix(data: ReportData, lang: str) -> Figure | None:
    rows = _rows(data, "land_cover_transitions")
    if rows.empty:
        return None
    y1 = rows.year_end.max()
    rows = rows[rows.year_end == y1]
    m = rows.pivot_table(index="from_class", columns="to_class", values="value", aggfunc="sum").fillna(0)
    classes = [c for c in dict.fromkeys(list(m.index) + list(m.columns))]
    m = m.reindex(index=classes, columns=classes, fill_value=0) / 1000.0
    title = f"{tr(lang, 'text', 'transitions')} {int(rows.year_start.iloc[0])}–{int(y1)} (kha)"
    with plt.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(6.5, 5.5))
        vals = m.to_numpy()
        pos = vals[vals > 0]
        norm = LogNorm(pos.min(), pos.max()) if pos.size and pos.max() > pos.min() else None
        ax.imshow(np.where(vals > 0, vals, np.nan), cmap="Blues", norm=norm)
        labels = [tr(lang, "ecosystem", c) for c in classes]
        ax.set_xticks(range(len(classes)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(classes)), labels)
        ax.set_xlabel(tr(lang, "text", "to_class"))
        ax.set_ylabel(tr(lang, "text", "from_class"))
        for (i, j), x in np.ndenumerate(vals):
            if x > 0:
                ax.text(j, i, f"{x:,.0f}" if x >= 100 else f"{x:.3g}", ha="center", va="center", fontsize=6.5,
                        color="white" if norm and norm(x) > 0.6 else "black")
        ax.set_title(title, fontsize=10)
        png = _png(fig)
    return Figure("chart-transitions", title, png, _flags(data, rows))


PARTS = ("net_sink_remaining", "net_sink_harvest", "net_sink_conversion", "net_sink_soil")


def method_parts(data: ReportData, lang: str) -> Figure | None:
    rows = _rows(data, "method_comparison")
    if rows.empty:
        return None
    title = tr(lang, "text", "method_parts")
    with plt.rc_context(_style()):
        fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.8), squeeze=False, sharey=True)
        for ax, r in zip(axes[0], rows.sort_values("year_start").itertuples()):
            x = np.arange(len(PARTS) + 1)
            for i, (m, colour) in enumerate((("gain_loss", "#238443"), ("land_use_change", "#8c510a"))):
                vals = [getattr(r, f"{m}_{p}", np.nan) for p in PARTS] + [getattr(r, m, np.nan)]
                ax.bar(x + (i - 0.5) * 0.38, np.asarray(vals, float) / MT, width=0.38, color=colour,
                       label=tr(lang, "method", m))
            ax.axhline(0, color="grey", lw=0.6)
            ax.set_xticks(x, [tr(lang, "quantity", p) for p in PARTS] + [tr(lang, "quantity", "net_sink")],
                          rotation=30, ha="right", fontsize=8)
            ax.set_title(f"{int(r.year_start)}–{int(r.year_end)}", fontsize=9)
        axes[0][0].set_ylabel(tr(lang, "text", "sink_unit"))
        axes[0][0].legend(fontsize=8)
        fig.suptitle(title, fontsize=10)
        png = _png(fig)
    zs = _rows(data, "zonal_summary", quantity="net_sink", ecosystem="all")
    return Figure("chart-methods", title, png, _flags(data, zs[zs.method.isin(["gain_loss", "land_use_change"])]))


def attribution(data: ReportData, lang: str) -> Figure | None:
    rows = _rows(data, "uncertainty_attribution")
    if rows.empty:
        return None
    groups = [g[g.year_end == g.year_end.max()] for _, g in rows.groupby("quantity", sort=False)]
    title = tr(lang, "text", "attribution")
    with plt.rc_context(_style()):
        fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups), 3.6), squeeze=False)
        for ax, g in zip(axes[0], groups):
            g = g.groupby("parameter", as_index=False).variance_share.sum().nlargest(8, "variance_share")[::-1]
            ax.barh(g.parameter, g.variance_share, color="#6a51a3")
            ax.set_xlim(0, 1)
            ax.set_xlabel(tr(lang, "text", "variance_share"))
            ax.tick_params(axis="y", labelsize=7)
        for ax, g in zip(axes[0], groups):
            q = g.quantity.iloc[0]
            years = f"{int(g.year_start.iloc[0])}" + ("" if g.year_start.iloc[0] == g.year_end.iloc[0]
                                                      else f"–{int(g.year_end.iloc[0])}")
            ax.set_title(f"{tr(lang, 'quantity', q)} {years}", fontsize=9)
        fig.suptitle(title, fontsize=10)
        png = _png(fig)
    zs = _rows(data, "zonal_summary", ecosystem="all")
    zs = zs[zs.quantity.isin(rows.quantity.unique())]
    return Figure("chart-attribution", title, png, _flags(data, zs))


CHARTS = (stock_by_ecosystem, sink_ranked, transition_matrix, method_parts, attribution)


def all_figures(data: ReportData, lang: str) -> tuple[list[Figure], list[Figure]]:
    """The maps and the charts of the report in ``lang`` (charts the run has no table for are
    left out)."""
    maps = [map_figure(data, k, f, p, lang) for k, f, p in data.maps]
    charts = [c for c in (chart(data, lang) for chart in CHARTS) if c is not None]
    return maps, charts

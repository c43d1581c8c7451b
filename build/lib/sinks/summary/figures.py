"""Figures of a run: the summary map and bars, the time series and the uncertainty attribution
(matplotlib, headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are files

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import rasterio  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402

from sinks import config as cfgmod  # noqa: E402
from sinks.io.figures import save_figure  # noqa: E402
from sinks.landcover import ECOSYSTEM_CODES, ECOSYSTEM_COLOURS  # noqa: E402
from sinks.paths import RunPaths  # noqa: E402
from sinks.plan import summary_sink_kind, zone_levels  # noqa: E402


PATH_COLOURS = {"gain_loss": ("#238443", "gain-loss"),
                "land_use_change": ("#8c510a", "land-use-change component")}


def write_time_series_plot(cfg: dict, series: pd.DataFrame, paths: RunPaths) -> None:
    """PNG and SVG: each balance method's stock path and the net change of each period (its
    slope), one panel per zone of the region-wide levels (levels of at most 4 zones)."""

    allx = series[(series.ecosystem == "all") & series.method.isin(PATH_COLOURS)]
    small = [lv for lv, g in allx.groupby("zone_level", sort=False) if g.zone_id.nunique() <= 4]
    panels = [(lv, zid) for lv in small for zid in allx[allx.zone_level == lv].zone_id.unique()][:6]
    if not panels:  # only many-zone levels: plot the first zone of the first level
        panels = [tuple(allx[["zone_level", "zone_id"]].iloc[0])]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4.2), squeeze=False)
    for ax, (lv, zid) in zip(axes[0], panels):
        here = allx[(allx.zone_level == lv) & (allx.zone_id == zid)]
        twin = ax.twinx()
        methods = [m for m in PATH_COLOURS if m in set(here.method)]
        for i, m in enumerate(methods):
            g = here[here.method == m].sort_values("year")
            colour, label = PATH_COLOURS[m]
            ax.plot(g.year, g.carbon_stock / 1e6, "o-", color=colour, label=f"{label}: stock path (Tg C)")
            years = g.year.to_numpy()
            start, end, rate = years[:-1], years[1:], g.net_sink.to_numpy()[1:] / 1e6
            width = 0.9 * (end - start) / len(methods)
            twin.bar(start + width * (i + 0.5) + 0.05 * (end - start), rate, width=width, color=colour,
                     alpha=0.3, label=f"{label}: net change of each period (Tg CO2/yr)")
        for r in here[here.method == methods[0]].itertuples():
            if r.basis.startswith("scenario") or "scenario" in str(r.basis).split(";")[0]:
                ax.annotate("scenario", (r.year, r.carbon_stock / 1e6), fontsize=7,
                            textcoords="offset points", xytext=(0, 6), ha="center")
        ax.set_ylabel("carbon stock, Tg C")
        ax.set_title(f"{lv}: {here.zone_name.iloc[0]}", fontsize=10)
        ax.set_xticks(sorted(here.year.unique()))
        ax.set_zorder(twin.get_zorder() + 1)
        ax.patch.set_visible(False)
        twin.axhline(0, color="grey", lw=0.5)
        twin.set_ylabel("net change, Tg CO2 yr-1 (+ = removal)")
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    axes[0][0].legend(handles, labels, fontsize=6, loc="upper left")
    fig.suptitle(f"sinks run '{cfg['run']['name']}': each method's stock path and its change", fontsize=10)
    fig.tight_layout()
    save_figure(fig, paths.output("time_series_plot"), paths.output("time_series_svg"))


def write_summary_plot(cfg: dict, df: pd.DataFrame, paths: RunPaths) -> None:
    """PNG: map of the last period's net sink and stock by ecosystem per epoch (first level)."""

    epochs = cfgmod.epochs(cfg)
    y0, y1 = epochs[-2].year, epochs[-1].year
    level = cfg["grid"]["clip_to"] or zone_levels(cfg)[0]
    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [1, 1.2]})
    sink_path = paths.output(summary_sink_kind(cfg), y0=y0, y1=y1)
    with rasterio.open(sink_path) as src:
        scale = max(1, int(np.ceil(max(src.width, src.height) / 1200)))
        data = src.read(1, out_shape=(src.height // scale or 1, src.width // scale or 1), masked=True)
        bounds = src.bounds
    lim = float(np.nanpercentile(np.abs(data.compressed()), 99)) if data.count() else 1.0
    lim = lim or 1.0
    im = ax_map.imshow(data, cmap="RdBu", norm=TwoSlopeNorm(0, -lim, lim),
                       extent=(bounds.left, bounds.right, bounds.bottom, bounds.top))
    fig.colorbar(im, ax=ax_map, shrink=0.7, label="Mg CO2 ha-1 yr-1 (+ = removal)")
    basis = "SCENARIO" if cfgmod.epoch(cfg, y1).basis == "scenario" else "observed"
    what = ("Net carbon sink (gain-loss)" if summary_sink_kind(cfg) == "gain_loss_net"
            else "Land-use-change component (not the sink)")
    ax_map.set_title(f"{what} {y0}-{y1} ({basis})")
    ax_map.set_xticks([]), ax_map.set_yticks([])
    sub = df[(df.zone_level == level) & (df.quantity == "carbon_stock") & (df.ecosystem != "all")
             & (df.method == "stock_difference")]
    pivot = sub.groupby(["year_start", "ecosystem"])["value"].sum().unstack(fill_value=0) / 1e6
    bottom = np.zeros(len(pivot))
    labels = [f"{y}{' (scenario)' if cfgmod.epoch(cfg, y).basis == 'scenario' else ''}" for y in pivot.index]
    for eco in pivot.columns:
        colour = np.array(ECOSYSTEM_COLOURS.get(ECOSYSTEM_CODES.get(eco, 10), (128, 128, 128, 255))) / 255
        ax_bar.bar(labels, pivot[eco], bottom=bottom, label=eco, color=colour)
        bottom += pivot[eco].values
    ax_bar.set_ylabel("carbon stock, Tg C (AGB + BGB + DOM + SOC 0-30 cm)")
    ax_bar.set_title(f"Carbon stock by ecosystem, zone level '{level}'")
    ax_bar.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"sinks run '{cfg['run']['name']}'", fontsize=11)
    fig.tight_layout()
    save_figure(fig, paths.output("summary_plot"))


def write_attribution_plot(cfg: dict, attribution: pd.DataFrame, paths: RunPaths) -> None:
    """PNG: which density parameters drive the uncertainty of the region's latest stock and sink
    (variance shares; where new plots would cut the uncertainty most)."""

    level = cfg["grid"]["clip_to"] or zone_levels(cfg)[0]
    epochs = cfgmod.epochs(cfg)
    panels = [("carbon_stock", epochs[-1].year, epochs[-1].year,
               f"carbon stock {epochs[-1].year}"),
              ("net_sink", epochs[-2].year, epochs[-1].year,
               f"net sink {epochs[-2].year}-{epochs[-1].year}")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (quantity, y0, y1, title) in zip(axes, panels):
        sub = attribution[(attribution.zone_level == level) & (attribution.quantity == quantity)
                          & (attribution.year_start == y0) & (attribution.year_end == y1)]
        top = sub.groupby("parameter")["variance_share"].sum().sort_values().tail(10)
        ax.barh(list(top.index), 100 * top.to_numpy(), color="#4c72b0")
        ax.set_xlabel("share of the variance, %")
        ax.set_title(f"{title}, zone level '{level}'", fontsize=10)
    fig.suptitle(f"sinks run '{cfg['run']['name']}': what drives the uncertainty "
                 "(first-order Sobol indices of the independent sources of the densities' error)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, paths.output("uncertainty_attribution_plot"))

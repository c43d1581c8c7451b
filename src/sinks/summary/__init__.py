"""The summary of a run: the zone table from every enabled method's rows, and the tables,
GeoPackage and figures made from it (rule ``summarize``)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from sinks import tiles
from sinks.errors import InputDataError
from sinks.inventory import compare_with_inventory, load_inventory
from sinks.io.tables import write_csv
from sinks.methods.registry import enabled
from sinks.plan import PREDICATES
from sinks.propagation import density_uncertainty
from sinks.run import Run
from sinks.summary.figures import write_attribution_plot, write_summary_plot, write_time_series_plot
from sinks.summary.tables import (attribution, method_comparison, stock_paths, time_series,
                                  transition_table, write_zones_gpkg)
from sinks.summary.workbook import write_workbook
from sinks.zone_rows import Accounts
from sinks.zones import load_totals, recorded_totals, save_totals, summed_totals

log = logging.getLogger(__name__)


def zone_sums(run: Run) -> None:
    """Rule ``zone_sums`` of a tiled run: every zone total the summary asks for, summed over
    the active tile only (sinks.zones.recorded_totals), to interim/zone_sums.npz of the tile."""
    tile = tiles.current()
    if tile is None:
        raise InputDataError("sinks zone-sums sums one tile: give --tile (see grid.tile_size)")
    with recorded_totals() as results:
        acc = Accounts.build(run, check=False)
        for method in enabled(run.cfg):
            method.rows(acc)
    save_totals(results, run.paths.zone_sums(tile.name))
    log.info("zone sums of tile %s: %d totals", tile.name, len(results))


def summarize(run: Run) -> pd.DataFrame:
    """Every output of rule ``summarize`` (:func:`write_summary`); in a tiled run, from the sums
    of the tiles' zone sums (rule ``zone_sums``), equal to those of the whole grid."""
    if not run.tile_names:
        return write_summary(run)
    parts = {t: load_totals(run.paths.zone_sums(t)) for t in run.tile_names}
    with summed_totals(parts):
        return write_summary(run)


def write_summary(run: Run) -> pd.DataFrame:
    """Write ``zonal_summary.csv`` (every enabled method's rows with their uncertainty, in
    registry order, then each balance method's stock path), the land-cover transitions, the method comparison, the uncertainty
    attribution, the time series, the workbook ``zonal_summary.xlsx``, the zones GeoPackage and the figures; return the zone table.

    A method's rows come with their coefficients over the density parameters (stocks and
    stock-difference sinks), or None when the method fills its own uncertainty columns; the
    density parameters are propagated here in one engine
    (:func:`sinks.propagation.density_uncertainty`), so the attribution covers all of them.
    """
    cfg, paths = run.cfg, run.paths
    acc = Accounts.build(run)
    frames, attributed = [], []
    for method in enabled(cfg):
        df, coefs = method.rows(acc)
        if coefs is not None:
            df, shares = density_uncertainty(cfg, df, coefs, acc.params)
            if shares is not None:
                attributed.append(shares)
        frames.append(df)
    df = pd.concat([f for f in frames if not f.empty], ignore_index=True)
    df = pd.concat([df, stock_paths(df)], ignore_index=True)
    if attributed:
        table = attribution(pd.concat([r for r, _ in attributed], ignore_index=True),
                            np.concatenate([s for _, s in attributed]), acc.params.sources)
        write_csv(table, paths.output("uncertainty_attribution"))
        write_attribution_plot(cfg, table, paths)
    write_csv(df, paths.output("zonal_summary"))
    write_workbook(df, paths.output("zonal_summary_xlsx"), run.registry)
    write_csv(transition_table(acc.periods, acc.transitions, acc.tables, acc.names, acc.onehot),
              paths.output("land_cover_transitions"))
    if PREDICATES["method_comparison"](cfg):
        write_csv(method_comparison(df), paths.output("method_comparison"))
    if PREDICATES["inventory"](cfg):
        write_csv(compare_with_inventory(df, load_inventory(cfg["inventory"])),
                  paths.output("inventory_comparison"))
    write_zones_gpkg(cfg, df, paths.output("zones_summary"), acc.grid)
    write_summary_plot(cfg, df, paths)
    series = time_series(df)
    write_csv(series, paths.output("time_series"))
    write_time_series_plot(cfg, series, paths)
    return df

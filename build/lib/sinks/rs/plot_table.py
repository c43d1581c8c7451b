"""Read a bureau's forest plot table into checked plots with AGB in Mg ha⁻¹.

Accepted inputs:

* **CSV** with columns ``id, x, y, crs, year`` and either ``agb`` (Mg ha⁻¹) or ``volume``
  (stand volume, m³ ha⁻¹) with ``forest_type``. ``crs`` is given per row (any string pyproj
  understands, e.g. ``EPSG:4326``); rows in different CRSs are each transformed, never read in the
  first row's CRS.
* **GeoPackage** (or any vector file GDAL reads) with point geometry and a CRS, and the same
  attribute columns.

Stand volume is converted by :func:`sinks.rs.bef.volume_to_biomass` (Fang et al. B = a·V + b);
the column ``agb_source`` records ``measured`` or ``volume (Fang BEF)`` per plot. The checks of
:func:`sinks.rs.plots.check_plots` (duplicate ids, impossible AGB, outside the region, year far
from the imagery epoch) then run, plus an exact point-in-polygon test when the region is given as
polygons.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError

from sinks.errors import InputDataError
from sinks.rs.bef import volume_to_biomass
from sinks.rs.plots import check_plots


def read_plot_table(path: str | Path, *, region_crs, epoch_year: int,
                    region_bounds: tuple[float, float, float, float] | None = None,
                    region: gpd.GeoDataFrame | None = None, max_year_gap: int = 3,
                    allow_unconfirmed_bef: bool = False, bef_table: pd.DataFrame | None = None,
                    root_shoot: float | None = None) -> gpd.GeoDataFrame:
    """Plots of ``path`` in ``region_crs`` with columns id, year, agb (Mg ha⁻¹), agb_source.

    Parameters
    ----------
    path : str or Path
        CSV (x, y, crs columns) or vector file with point geometry.
    region_crs : CRS-like
        CRS of the region and of the returned plots (normally the run grid's).
    epoch_year : int
        Year of the imagery the plots will be matched to.
    region_bounds : (xmin, ymin, xmax, ymax), optional
        Region extent in ``region_crs``. Taken from ``region`` when not given.
    region : geopandas.GeoDataFrame, optional
        Region polygons; plots must lie inside (boundary included).
    max_year_gap : int
        Largest allowed |survey year − epoch_year|, years.
    allow_unconfirmed_bef, bef_table, root_shoot
        Passed to :func:`sinks.rs.bef.volume_to_biomass` for plots given as volume.

    Raises
    ------
    InputDataError
        Missing file or columns, a missing or unknown CRS, plots with neither agb nor volume,
        an UNCONFIRMED BEF without opt-in, or any check of :func:`check_plots`.
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise InputDataError(f"{path}: plot file not found; check the path in the config")
    if region_bounds is None and region is None:
        raise InputDataError("read_plot_table: give region_bounds or region")
    plots = _read_csv(path) if path.suffix.lower() == ".csv" else _read_vector(path)
    missing = [c for c in ("id", "year") if c not in plots.columns]
    if missing:
        raise InputDataError(f"{path}: missing column(s) {missing}; a plot table needs id, year "
                             "and agb (Mg/ha) or volume (m3/ha) + forest_type")
    plots = _agb_column(plots, source, allow_unconfirmed_bef, bef_table, root_shoot)
    if region is not None:
        region = region.to_crs(region_crs)
        if region_bounds is None:
            region_bounds = tuple(region.total_bounds)
    pts = check_plots(plots, source, tuple(region_bounds), region_crs, epoch_year,
                      max_year_gap=max_year_gap)
    if region is not None:
        inside = pts.geometry.apply(lambda p: bool(region.geometry.covers(p).any()))
        if not inside.all():
            out = pts["id"][~inside].astype(str).tolist()
            raise InputDataError(f"{source}: {len(out)} plot(s) outside the region polygons, e.g. "
                                 f"{out[:5]}; check their coordinates and CRS")
    pts.attrs.update(plots.attrs)
    return pts


def _read_csv(path: Path) -> gpd.GeoDataFrame:
    df = pd.read_csv(path)
    need = [c for c in ("x", "y", "crs") if c not in df.columns]
    if need:
        raise InputDataError(f"{path}: a CSV plot table needs x, y and crs columns; missing {need}")
    if df.empty:
        raise InputDataError(f"{path}: the plot table has no rows")
    no_crs = df.index[df["crs"].isna() | (df["crs"].astype(str).str.strip() == "")].tolist()
    if no_crs:
        raise InputDataError(f"{path}: row(s) {[i + 2 for i in no_crs[:5]]} have no crs; give each "
                             "plot's coordinate system, e.g. EPSG:4326")
    xy_bad = df.index[pd.to_numeric(df["x"], errors="coerce").isna()
                      | pd.to_numeric(df["y"], errors="coerce").isna()].tolist()
    if xy_bad:
        raise InputDataError(f"{path}: row(s) {[i + 2 for i in xy_bad[:5]]} have no numeric x/y")
    codes = df["crs"].astype(str).str.strip()
    crss = {}
    for code in codes.unique():
        try:
            crss[code] = CRS.from_user_input(code)
        except CRSError:
            raise InputDataError(f"{path}: crs {code!r} is not a known coordinate system; use e.g. "
                                 "EPSG:4326 or EPSG:32650") from None
    target = crss[codes.iloc[0]]
    parts = []
    for code, crs in crss.items():
        rows = df[codes == code]
        g = gpd.GeoDataFrame(rows.drop(columns=["x", "y", "crs"]),
                             geometry=gpd.points_from_xy(rows["x"].astype(float), rows["y"].astype(float)),
                             crs=crs)
        parts.append(g.to_crs(target))
    out = pd.concat(parts).loc[df.index]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=target)


def _read_vector(path: Path) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # noqa: BLE001  (pyogrio raises several types)
        raise InputDataError(f"{path}: cannot be read as a plot table ({exc}); use a CSV with "
                             "x, y, crs columns or a GeoPackage of points") from None
    if gdf.crs is None:
        raise InputDataError(f"{path}: plot layer has no CRS; set one (ogr2ogr -a_srs) and retry")
    if not (gdf.geometry.geom_type == "Point").all():
        raise InputDataError(f"{path}: plot geometries must be points (plot centres)")
    return gdf


def _agb_column(plots: gpd.GeoDataFrame, source: str, allow_unconfirmed: bool,
                table: pd.DataFrame | None, root_shoot: float | None) -> gpd.GeoDataFrame:
    plots = plots.copy()
    agb = (pd.to_numeric(plots["agb"], errors="coerce") if "agb" in plots.columns
           else pd.Series(np.nan, index=plots.index))
    if "agb" in plots.columns:
        text = plots["agb"].notna() & agb.isna()
        if text.any():
            bad = plots["id"][text].astype(str).tolist()
            raise InputDataError(f"{source}: agb of plot(s) {bad[:5]} is not a number")
    need = agb.isna()
    plots["agb_source"] = np.where(need, "volume (Fang BEF)", "measured")
    if need.any():
        if not {"volume", "forest_type"} <= set(plots.columns):
            ids = plots["id"][need].astype(str).tolist()
            raise InputDataError(f"{source}: plot(s) {ids[:5]} have no agb and the table has no "
                                 "volume + forest_type columns; give agb (Mg/ha) or volume (m3/ha) "
                                 "with forest_type")
        agb[need] = volume_to_biomass(plots.loc[need, "volume"], plots.loc[need, "forest_type"],
                                      table=table, allow_unconfirmed=allow_unconfirmed,
                                      root_shoot=root_shoot, source=source,
                                      ids=plots.loc[need, "id"].astype(str))
    plots["agb"] = agb.astype(float)
    return plots

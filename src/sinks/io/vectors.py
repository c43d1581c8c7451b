"""Read zone layers (boundaries) and point samples with checks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from sinks.errors import CRSMismatchError, InputDataError


def _read_vector(path: Path, what: str) -> gpd.GeoDataFrame:
    if not path.exists():
        raise InputDataError(f"{path}: {what} not found; check the path")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and others
        raise InputDataError(f"{path}: cannot be read as a vector file ({exc}); use a "
                             "GeoPackage, GeoJSON or Shapefile") from None
    if gdf.crs is None:
        raise CRSMismatchError(f"{path}: {what} has no CRS; save it with its projection "
                               "(e.g. a .prj beside a Shapefile)")
    return gdf


def read_points(path: str | Path, field: str) -> gpd.GeoDataFrame:
    """A point layer (e.g. reference samples or plots) with a CRS and the named field."""
    path = Path(path)
    gdf = _read_vector(path, "point file")
    if field not in gdf.columns:
        raise InputDataError(f"{path}: has no field {field!r}; its fields are "
                             f"{[c for c in gdf.columns if c != 'geometry']}")
    if not len(gdf) or not gdf.geom_type.isin(["Point"]).all():
        raise InputDataError(f"{path}: needs Point features; found "
                             f"{sorted(set(gdf.geom_type)) or 'no features'}")
    return gdf


def read_zones(path: str | Path, id_field: str, name_field: str | None = None) -> gpd.GeoDataFrame:
    """A zone layer as ``zone_id``, ``zone_name`` (strings) and geometry, in its own CRS.

    Checks: the file opens, has a CRS and polygons, the id field exists and ids are unique.
    """
    path = Path(path)
    gdf = _read_vector(path, "zone file")
    name_field = name_field or id_field
    for key, field in (("id_field", id_field), ("name_field", name_field)):
        if field not in gdf.columns:
            fields = [c for c in gdf.columns if c != "geometry"]
            raise InputDataError(f"{path}: has no field {field!r} (zones[].{key}); its fields "
                                 f"are {fields}")
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()]
    if not len(gdf) or not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputDataError(f"{path}: zones must be polygons; found "
                             f"{sorted(set(gdf.geom_type)) or 'no features'}")
    ids = gdf[id_field].astype(str)
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        raise InputDataError(f"{path}: duplicate {id_field} value(s) {dup[:5]}; dissolve "
                             "them or choose a unique id field")
    out = gpd.GeoDataFrame({"zone_id": ids.values, "zone_name": gdf[name_field].astype(str).values},
                           geometry=gdf.geometry.values, crs=gdf.crs)
    invalid = ~out.geometry.is_valid
    if invalid.any():
        out.loc[invalid, "geometry"] = out.geometry[invalid].make_valid()
    return out

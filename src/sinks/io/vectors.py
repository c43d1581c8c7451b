"""Read zone layers (boundaries), other polygon layers (e.g. forest sub-compartments) and point
samples with checks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio

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


OVERLAP_TOLERANCE = 0.001  # share of the smaller zone two zones of a level may share (slivers)


def read_zones(path: str | Path, id_field: str, name_field: str | None = None,
               layer: str | None = None) -> gpd.GeoDataFrame:
    """A zone layer as ``zone_id``, ``zone_name`` (strings) and geometry, in its own CRS.

    Checks: the file opens, has a CRS (a GeoJSON whose coordinates are not degrees has lost
    its ``crs`` member) and polygons, the layer is named when there are several, the id field
    exists and ids are unique, and no two zones overlap by more than OVERLAP_TOLERANCE of the
    smaller one (rasterized, the overlap would silently go to one of them).
    """
    path = Path(path)
    gdf = read_polygon_layer(path, "zone file", layer)
    name_field = name_field or id_field
    for key, field in (("id_field", id_field), ("name_field", name_field)):
        if field not in gdf.columns:
            fields = [c for c in gdf.columns if c != "geometry"]
            raise InputDataError(f"{path}: has no field {field!r} (zones[].{key}); its fields "
                                 f"are {fields}")
    if gdf.crs.is_geographic:
        x0, y0, x1, y1 = gdf.total_bounds
        if not (-180.5 <= x0 and x1 <= 360.5 and -90.5 <= y0 and y1 <= 90.5):
            raise CRSMismatchError(f"{path}: coordinates ({x0:.0f}, {y0:.0f}, {x1:.0f}, {y1:.0f}) are not "
                                   f"degrees although the file says {gdf.crs.name}; a GeoJSON in projected "
                                   "coordinates needs its crs member, or save the zones as a GeoPackage")
    ids = gdf[id_field].astype(str)
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        raise InputDataError(f"{path}: duplicate {id_field} value(s) {dup[:5]}; dissolve "
                             "them or choose a unique id field")
    out = gpd.GeoDataFrame({"zone_id": ids.values, "zone_name": gdf[name_field].astype(str).values},
                           geometry=gdf.geometry.values, crs=gdf.crs)
    _check_no_overlaps(out, path)
    return out


def read_zone_entry(zone: dict) -> gpd.GeoDataFrame:
    """The zones of one config ``zones`` entry (path, id_field, name_field, layer)."""
    return read_zones(zone["path"], zone["id_field"], zone["name_field"], zone["layer"])


def _check_no_overlaps(zones: gpd.GeoDataFrame, path: Path) -> None:
    geoms = zones.geometry.values
    left, right = zones.sindex.query(geoms, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left, right) if i < j]
    worst = []
    for i, j in pairs:
        shared = geoms[i].intersection(geoms[j]).area
        smaller = min(geoms[i].area, geoms[j].area)
        if smaller > 0 and shared > OVERLAP_TOLERANCE * smaller:
            worst.append((shared / smaller, zones.zone_id.iloc[i], zones.zone_id.iloc[j]))
    if worst:
        share, a, b = max(worst)
        raise InputDataError(f"{path}: {len(worst)} pair(s) of zones overlap, e.g. {a!r} and {b!r} share "
                             f"{share:.1%} of the smaller; each pixel must belong to one zone of a level: "
                             "fix the topology (or put overlapping zones in separate levels)")


SHAPEFILE_ENCODINGS = ("utf-8", "gb18030")  # tried in turn when a Shapefile has no .cpg


def read_polygon_layer(path: str | Path, what: str, layer: str | None = None,
                       encoding: str | None = None) -> gpd.GeoDataFrame:
    """One polygon layer of a GeoPackage, Shapefile or GeoJSON, in its own CRS, with checks.

    A GeoPackage with several layers needs ``layer`` (the error lists them). A Shapefile is read
    in ``encoding`` if given, else in the code page of its ``.cpg`` file, else as UTF-8 and, if
    that fails, as GB18030 (a superset of GBK, which Chinese forestry Shapefiles usually use:
    a .dbf field name holds 10 bytes, 5 Chinese characters in GBK but only 3 in UTF-8).
    Checks: the file opens, has a CRS, features and polygons only; empty geometries are dropped
    and invalid ones repaired (``make_valid``).
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: {what} not found; check the path")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputDataError(f"{path}: cannot be read as a vector file ({exc}); use a "
                             "GeoPackage, GeoJSON or Shapefile") from None
    if layer is None and len(layers) > 1:
        raise InputDataError(f"{path}: has {len(layers)} layers {layers}; name the {what} layer "
                             "(layer: ...)")
    if layer is not None and layer not in layers:
        raise InputDataError(f"{path}: has no layer {layer!r}; its layers are {layers}")
    is_shp = path.suffix.lower() == ".shp"
    if encoding is not None or not is_shp or path.with_suffix(".cpg").exists():
        tries = (encoding,)
    else:
        tries = SHAPEFILE_ENCODINGS
    gdf = None
    for enc in tries:
        try:
            gdf = gpd.read_file(path, layer=layer, encoding=enc)
            break
        except UnicodeDecodeError:
            continue
        except Exception as exc:  # pyogrio raises DataSourceError and others
            raise InputDataError(f"{path}: cannot be read as a vector file ({exc}); use a "
                                 "GeoPackage, GeoJSON or Shapefile") from None
    if gdf is None:
        raise InputDataError(f"{path}: its text cannot be decoded as {[t or 'the .cpg code page' for t in tries]}; "
                             "give the encoding (e.g. encoding: gbk) or save it as a GeoPackage "
                             "(a UTF-8 Shapefile cuts Chinese field names after 10 bytes)")
    if gdf.crs is None:
        raise CRSMismatchError(f"{path}: {what} has no CRS; save it with its projection "
                               "(e.g. a .prj beside a Shapefile)")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if not len(gdf):
        raise InputDataError(f"{path}: {what} layer {layer or layers[0]!r} has no features with a "
                             "geometry; check the layer")
    if not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputDataError(f"{path}: {what} must be polygons; found {sorted(set(gdf.geom_type))}")
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        gdf = gdf.copy()
        gdf.loc[invalid, "geometry"] = gdf.geometry[invalid].make_valid()
    return gdf.reset_index(drop=True)

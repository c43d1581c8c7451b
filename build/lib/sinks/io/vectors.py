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

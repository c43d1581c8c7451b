"""Forest sub-compartments (小班) of a forest management inventory: polygons with a dominant
species (优势树种), origin (起源), age (林龄) or age class (龄组) and stand volume (公顷蓄积),
read into the standard strata of :mod:`sinks.forest.tables` and rasterized onto the run grid.

A bureau's layer keeps its own field names and codes; the config says which field holds what
(``forest.subcompartments.fields``) and how its values read as standard names
(``forest.subcompartments.codes``), so no file needs editing before a run. Every value must map:
an unmapped species would otherwise drop out of the forest area without a word.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks.errors import InputDataError
from sinks.forest.models import AGE_CLASSES, NO_AGE_CLASS, age_class
from sinks.forest.tables import FOREST_TYPES, NO_AGE_TYPES, ORIGINS
from sinks.grid import DEFAULT_CHUNK, on_grid
from sinks.io.vectors import read_polygon_layer
from sinks.zones import rasterize_zones

log = logging.getLogger(__name__)

FIELDS = ("forest_type", "origin", "age_class", "age", "volume")  # the keys of ``fields``
CODED = {"forest_type": FOREST_TYPES, "origin": ORIGINS, "age_class": AGE_CLASSES}
KEY = "forest.subcompartments"  # the config section, named in error messages
EMPTY = "<empty>"  # how an empty value is listed in an error
MAX_LISTED = 10

AgeBounds = Callable[[str, str], tuple[float, float, float, float]]


def _counts(values: pd.Series) -> str:
    """Up to MAX_LISTED distinct values with their counts, most frequent first: 'a' (3), 'b' (1)."""
    counts = values.value_counts()
    listed = ", ".join(f"{v!r} ({n})" for v, n in counts.head(MAX_LISTED).items())
    more = f" and {len(counts) - MAX_LISTED} more" if len(counts) > MAX_LISTED else ""
    return listed + more


def _as_text(value) -> str | None:
    """A value as a stripped string (a whole float as an integer: 1.0 -> "1", as a code reads),
    None where empty (NULL, NaN or blank)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _text(column: pd.Series) -> pd.Series:
    """A field as stripped strings, None where empty."""
    return column.astype(object).where(column.notna(), None).map(_as_text).astype(object)


def _to_standard(column: pd.Series, name: str, codes: Mapping[str, Mapping], path: Path,
                 field: str, check: pd.Series) -> pd.Series:
    """Standard names of a coded field: the ``codes[name]`` mapping, or the value itself where it
    is already a standard name. Rows where ``check`` is True must map (empty included)."""
    mapping = {str(k).strip(): v for k, v in (codes.get(name) or {}).items()}
    allowed = CODED[name]
    wrong = sorted({str(v) for v in mapping.values()} - set(allowed))
    if wrong:
        raise InputDataError(f"{path}: {KEY}.codes.{name} maps to {wrong}, which are not standard "
                             f"{name} names; use one of {list(allowed)}")
    text = _text(column)
    out = text.map(lambda v: mapping.get(v, v if v in allowed else None) if v is not None else None)
    bad = check & out.isna()
    if bad.any():
        raise InputDataError(
            f"{path}: field {field!r} ({name}) has value(s) with no standard name: "
            f"{_counts(text[bad].fillna(EMPTY))}; map them in {KEY}.codes.{name} "
            f"to one of {list(allowed)}")
    return out


def _numbers(column: pd.Series, name: str, path: Path, field: str) -> pd.Series:
    """A numeric field as float64 (NaN where empty); non-numeric or negative values are an error."""
    text = _text(column)
    num = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = text.notna() & (num.isna() | (num < 0))
    if bad.any():
        raise InputDataError(f"{path}: field {field!r} ({name}) has non-numeric or negative "
                             f"value(s) {_counts(text[bad])}; {name} must be a number >= 0 "
                             f"({'m3 ha-1' if name == 'volume' else 'yr'}) or empty")
    return num


def read_subcompartments(path: str | Path, fields: Mapping[str, str], codes: Mapping[str, Mapping],
                         age_bounds: AgeBounds, layer: str | None = None,
                         encoding: str | None = None) -> gpd.GeoDataFrame:
    """Sub-compartment polygons with the standard columns ``forest_type``, ``origin``,
    ``age_class``, ``volume`` (m3 ha-1, NaN where not given) and ``age`` (yr, if ``fields``
    names an age field), in the layer's own CRS (reprojected when rasterized).

    Parameters
    ----------
    path
        GeoPackage, Shapefile or GeoJSON. A GeoPackage with several layers needs ``layer``.
        A Shapefile is read in ``encoding``, else its ``.cpg`` code page, else UTF-8 or GB18030.
    fields
        Standard name -> the file's field name (``forest.subcompartments.fields``), e.g.
        ``{"forest_type": "优势树种", "origin": "起源", "age_class": "龄组", "age": "林龄",
        "volume": "公顷蓄积"}``. Required: forest_type, origin and age_class or age (or both).
    codes
        Standard name (forest_type, origin, age_class) -> {file value: standard value}
        (``forest.subcompartments.codes``). Values that are already standard names need no entry.
    age_bounds
        ``age_bounds(forest_type, origin)`` -> upper ages (yr) of young, middle, near-mature and
        mature stands (``sinks.forest.tables.age_bounds``): a row whose age-class field is absent
        or empty is classed from its age by :func:`sinks.forest.models.age_class`.

    Bamboo and economic forest rows get age class ``"none"`` whatever their fields say (the
    inventory counts them by culm degree or production stage). Where a row has both an age class
    and an age that disagree, the age class is kept and the number of such rows is logged.

    Raises
    ------
    InputDataError
        a field is missing (the error lists the file's fields), a value has no standard name (up
        to 10 of them listed with counts, and the config key to map them in), a volume or age is
        non-numeric or negative, a row has neither age class nor age, the layer has no CRS or no
        features, or the GeoPackage has several layers and ``layer`` is not given.
    """
    path = Path(path)
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InputDataError(f"{path}: {KEY}.fields has unknown key(s) {unknown}; the keys are {list(FIELDS)}")
    for name in ("forest_type", "origin"):
        if not fields.get(name):
            raise InputDataError(f"{path}: {KEY}.fields.{name} is not set; name the field that holds it")
    if not fields.get("age_class") and not fields.get("age"):
        raise InputDataError(f"{path}: {KEY}.fields needs age_class or age (or both); name the "
                             "field that holds the age class (龄组) or the stand age (林龄)")
    gdf = read_polygon_layer(path, "sub-compartment", layer=layer, encoding=encoding)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for name, field in fields.items():
        if field and field not in gdf.columns:
            raise InputDataError(f"{path}: has no field {field!r} ({KEY}.fields.{name}); its fields "
                                 f"are {columns}")
    every = pd.Series(True, index=gdf.index)
    ftype = _to_standard(gdf[fields["forest_type"]], "forest_type", codes, path, fields["forest_type"], every)
    origin = _to_standard(gdf[fields["origin"]], "origin", codes, path, fields["origin"], every)
    aged = ~ftype.isin(NO_AGE_TYPES)
    if fields.get("age_class"):
        field = fields["age_class"]
        has = _text(gdf[field]).notna()
        klass = _to_standard(gdf[field], "age_class", codes, path, field, aged & has)
    else:
        klass = pd.Series(None, index=gdf.index, dtype=object)
    age = _numbers(gdf[fields["age"]], "age", path, fields["age"]) if fields.get("age") else None

    need_age = aged & klass.isna()
    if need_age.any():
        if age is None or age[need_age].isna().any():
            n = int(need_age.sum() if age is None else (need_age & age.isna()).sum())
            what = (f"field {fields['age_class']!r} is empty" if fields.get("age_class")
                    else "there is no age-class field")
            raise InputDataError(
                f"{path}: {n} sub-compartment(s) have no age class ({what}) and no age"
                f"{'' if age is None else ' in field ' + repr(fields['age'])}; fill in one of them "
                f"or set {KEY}.fields.age")
    computed = pd.Series(None, index=gdf.index, dtype=object)
    if age is not None:
        has_age = aged & age.notna()
        for (t, o), rows in ftype[has_age].groupby([ftype[has_age], origin[has_age]]).groups.items():
            computed[rows] = age_class(age[rows].to_numpy(), age_bounds(t, o))
        differ = klass.notna() & computed.notna() & (klass != computed)
        if differ.any():
            log.warning("%s: %d of %d sub-compartment(s) have an age class that differs from the "
                        "one of their age; the age class of the file is kept", path,
                        int(differ.sum()), len(gdf))
    klass = klass.where(klass.notna(), computed).where(aged, NO_AGE_CLASS)

    out = {"forest_type": ftype.to_numpy(object), "origin": origin.to_numpy(object),
           "age_class": klass.to_numpy(object)}
    if age is not None:
        out["age"] = age.to_numpy()
    out["volume"] = (_numbers(gdf[fields["volume"]], "volume", path, fields["volume"]).to_numpy()
                     if fields.get("volume") else np.full(len(gdf), np.nan))
    result = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)
    log.info("%s: %d sub-compartments, %d classed from their age", path, len(result),
             int((need_age).sum()))
    return result


def rasterize_subcompartments(gdf: gpd.GeoDataFrame, grid: GeoBox,
                              stratum_codes: Mapping[tuple[str, str, str], int],
                              chunks: int = DEFAULT_CHUNK) -> tuple[xr.DataArray, xr.DataArray]:
    """Strata map (uint16 code of ``stratum_codes``, 0 outside every polygon) and stand volume
    (float32 m3 ha-1, NaN outside or where the sub-compartment has no volume) on ``grid``, lazily
    per dask block.

    A pixel belongs to the polygon that holds its centre (``rasterio.features.rasterize``,
    ``all_touched=False``, as zones are rasterized: :func:`sinks.zones.rasterize_zones`); the
    layer is reprojected to the grid's CRS first. Sub-compartments tile the land, so overlaps are
    digitizing slivers: where polygons overlap, the **later row** of ``gdf`` wins. Both maps are
    looked up per block from one polygon-index raster, so a pixel's stratum and volume always
    come from the same sub-compartment.

    Parameters
    ----------
    gdf
        From :func:`read_subcompartments` (columns forest_type, origin, age_class, volume).
    grid
        The run grid.
    stratum_codes
        (forest_type, origin, age_class) -> code 1..65535 (``sinks.forest.tables.stratum_codes``).
    chunks
        Block size, pixels per side.
    """
    keys = list(zip(gdf["forest_type"], gdf["origin"], gdf["age_class"]))
    missing = sorted(set(keys) - set(stratum_codes), key=str)
    if missing:
        raise InputDataError(f"sub-compartments: stratum/strata {['/'.join(k) for k in missing[:MAX_LISTED]]} "
                             "have no code in the strata map's codes; add them to stratum_codes "
                             "(sinks.forest.tables.stratum_codes)")
    bad_codes = sorted({c for c in stratum_codes.values() if not 0 < int(c) <= 65535})
    if bad_codes:
        raise InputDataError(f"sub-compartments: stratum code(s) {bad_codes[:MAX_LISTED]} are outside "
                             "1..65535 (0 is the map's nodata); renumber the strata")
    code_lut = np.zeros(len(gdf) + 1, dtype="uint16")
    code_lut[1:] = [stratum_codes[k] for k in keys]
    volume = gdf["volume"] if "volume" in gdf.columns else pd.Series(np.nan, index=gdf.index)
    volume_lut = np.full(len(gdf) + 1, np.nan, dtype="float32")
    volume_lut[1:] = np.asarray(volume, dtype="float32")

    index = rasterize_zones(gdf, grid, chunks).data
    strata = index.map_blocks(lambda b: code_lut[b], dtype="uint16")
    volumes = index.map_blocks(lambda b: volume_lut[b], dtype="float32")
    strata_map = on_grid(strata, grid, "forest_stratum")
    strata_map.attrs.update(nodata=0, long_name="forest stratum code (0 = no sub-compartment)")
    volume_map = on_grid(volumes, grid, "stand_volume")
    volume_map.attrs.update(units="m3 ha-1", long_name="stand volume of the sub-compartment")
    return strata_map, volume_map

"""``sinks init DIR``: a commented starting config from a folder of land-cover rasters and a zones
file. Epochs come from a 4-digit year in each raster's name, the legend from the codes present,
the grid from the first epoch, the zone id and name fields from the zones' attributes; every guess
is said in a comment and returned for the console."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyogrio
import rasterio

from sinks.errors import SinksError
from sinks.landcover import BUILTIN_LEGENDS

_YEAR = re.compile(r"(?<!\d)(19\d\d|20\d\d)(?!\d)")
_ZONE_EXT = (".gpkg", ".geojson", ".json", ".shp")
_LEGEND_ORDER = ("clcd", "worldcover", "igbp")  # CLCD's 1-9 are also IGBP codes: try it first


def _codes(path: Path) -> set[int]:
    with rasterio.open(path) as src:
        a = src.read(1, masked=True)
    return {int(v) for v in np.unique(a.compressed())}


def guess_legend(codes: set[int], where: str) -> str:
    """The first built-in legend whose codes include all ``codes``."""
    for name in _LEGEND_ORDER:
        if codes <= set(BUILTIN_LEGENDS[name]) | {0}:
            return name
    raise SinksError(f"{where}: codes {sorted(codes)[:12]} fit none of the known legends "
                     f"({', '.join(_LEGEND_ORDER)}); write landcover.legend as a reclassify "
                     "table by hand")


def _zone_fields(path: Path) -> tuple[str, str | None]:
    """An id field unique per feature (adcode, code, id-like) and a name-like field."""
    df = pyogrio.read_dataframe(path, read_geometry=False)
    unique = [c for c in df.columns if df[c].notna().all() and df[c].is_unique]
    ranked = [c for key in ("adcode", "code", "id") for c in unique if key in c.lower()]
    if not ranked:
        raise SinksError(f"{path.name}: no field unique per feature for the zone id "
                         f"(fields: {', '.join(df.columns)}); add one (e.g. adcode)")
    names = [c for c in df.columns if "name" in c.lower()]
    return ranked[0], (names[0] if names else None)


def build_config(folder: str | Path) -> tuple[str, list[str]]:
    """The config text for ``folder`` (paths relative to it) and the guesses made, one a line."""
    folder = Path(folder)
    rasters = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".tif", ".tiff"))
    if not rasters:
        raise SinksError(f"{folder}: no land-cover rasters (.tif) found")
    epochs = {}
    for p in rasters:
        years = _YEAR.findall(p.stem)
        if len(years) != 1:
            raise SinksError(f"{p.name}: cannot tell its year from the name (need one 4-digit "
                             "year, e.g. clcd_2020.tif)")
        if int(years[0]) in epochs:
            raise SinksError(f"{p.name} and {epochs[int(years[0])].name}: two rasters for {years[0]}")
        epochs[int(years[0])] = p
    first = epochs[min(epochs)]
    codes = set().union(*(_codes(p) for p in epochs.values()))
    legend = guess_legend(codes, ", ".join(p.name for p in epochs.values()))
    with rasterio.open(first) as src:
        if src.crs is None:
            raise SinksError(f"{first.name}: has no CRS; assign one (gdal_edit.py -a_srs) first")
        epsg = src.crs.to_epsg()
        crs = f"EPSG:{epsg}" if epsg else src.crs.to_wkt()
        res = abs(src.transform.a)
    said = [f"epochs {', '.join(str(y) for y in sorted(epochs))} from the file names",
            f"legend '{legend}' from the codes present ({', '.join(map(str, sorted(codes)))})",
            f"grid {crs if epsg else 'CRS of ' + first.name}, {res:g} units from {first.name}"]
    lines = ["# sinks config written by `sinks init`; check every guess marked 'guessed'.",
             "# Reference of all keys: config/README.md. Check it: sinks validate <this file>",
             "run:", f"  name: {json.dumps(folder.resolve().name or 'my_run')}",
             "grid:  # guessed: the first epoch's CRS and pixel size",
             f"  crs: {json.dumps(crs)}", f"  resolution: {res:g}",
             "landcover:", f"  legend: {legend}  # guessed from the codes present: "
             f"{', '.join(map(str, sorted(codes)))}",
             "  epochs:  # guessed: the year in each file name"]
    lines += [f"    {y}: {json.dumps(epochs[y].name)}" for y in sorted(epochs)]
    zones = sorted(p for p in folder.iterdir() if p.suffix.lower() in _ZONE_EXT)
    if zones:
        id_field, name_field = _zone_fields(zones[0])
        said.append(f"zones {zones[0].name}: id field '{id_field}', name field '{name_field}'")
        lines += ["zones:  # guessed: id = a field unique per feature, name = a name-like field",
                  f"  - path: {json.dumps(zones[0].name)}", f"    id_field: {id_field}"]
        lines += [f"    name_field: {name_field}"] if name_field else []
        lines += ["    level: county"]
    return "\n".join(lines) + "\n", said


def write_config(folder: str | Path, out: str | Path | None = None, force: bool = False):
    """Write :func:`build_config`'s text to ``out`` (default ``folder/sinks.yaml``); never over
    an existing file unless ``force``. Returns (path, guesses)."""
    out = Path(out) if out else Path(folder) / "sinks.yaml"
    if out.exists() and not force:
        raise SinksError(f"{out}: exists; pass --force to overwrite it or --out for another name")
    text, said = build_config(folder)
    out.write_text(text, encoding="utf-8")
    return out, said

"""A QGIS project file (``.qgs``) that opens every map of a run, grouped and styled.

The project lies in the run's ``outputs/`` folder and names its layers by relative paths
(``./carbon_stock_2019.tif``; ``<Paths><Absolute>false``), so the folder can be moved or
handed over. Raster layers embed the renderer of their ``.qml`` sidecar (legend items with
units); every layer states its CRS as WKT with its name, and the project CRS is the run grid's.
Written as plain XML (QGIS 3.22 project format): no PyQGIS is needed to make it.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pyogrio
import rasterio
from pyproj import CRS

# Group order in the layer panel (top = drawn on top).
GROUP_ORDER = ("Zones", "Plots", "Sinks: gain-loss", "Sinks: land-use change", "Sinks: biomass map",
               "Stocks", "Uncertainty", "Biomass", "Forest", "Potential", "Land cover")


@dataclass(frozen=True)
class ProjectLayer:
    """One file of the project: a single-band raster or every layer of a GeoPackage."""

    path: Path
    group: str


def _srs(parent: ET.Element, crs: CRS) -> None:
    srs = ET.SubElement(parent, "spatialrefsys")
    auth = crs.to_authority(min_confidence=70)
    ET.SubElement(srs, "wkt").text = crs.to_wkt()
    ET.SubElement(srs, "authid").text = ":".join(auth) if auth else ""
    ET.SubElement(srs, "description").text = crs.name
    ET.SubElement(srs, "geographicflag").text = "true" if crs.is_geographic else "false"


def _maplayer(root: ET.Element, layer_id: str, kind: str, source: str, name: str, crs: CRS,
              bounds, provider: str) -> ET.Element:
    ml = ET.SubElement(root, "maplayer", type=kind, styleCategories="AllStyleCategories")
    ext = ET.SubElement(ml, "extent")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), bounds):
        ET.SubElement(ext, tag).text = repr(float(v))
    ET.SubElement(ml, "id").text = layer_id
    ET.SubElement(ml, "datasource").text = source
    ET.SubElement(ml, "layername").text = name
    _srs(ET.SubElement(ml, "srs"), crs)
    ET.SubElement(ml, "provider", **({"encoding": "UTF-8"} if provider == "ogr" else {})).text = provider
    return ml


_FILL = {"color": "0,0,0,0", "outline_color": "60,60,60,255", "outline_width": "0.4", "style": "no"}
_POINT = {"color": "230,85,13,255", "outline_color": "255,255,255,255", "size": "2", "name": "circle"}


def _vector_renderer(ml: ET.Element, points: bool) -> None:
    """Outlines for zones, small orange circles for plots."""
    r = ET.SubElement(ml, "renderer-v2", type="singleSymbol", forceraster="0", symbollevels="0")
    sym = ET.SubElement(ET.SubElement(r, "symbols"), "symbol", type="marker" if points else "fill",
                        name="0", alpha="1")
    lyr = ET.SubElement(sym, "layer", {"class": "SimpleMarker" if points else "SimpleFill",
                                       "enabled": "1", "locked": "0", "pass": "0"})
    for k, v in (_POINT if points else _FILL).items():
        ET.SubElement(lyr, "prop", k=k, v=v)


def write_qgis_project(out: Path, layers: list[ProjectLayer], crs_wkt: str, title: str) -> Path:
    """Write the project ``out`` with ``layers`` (files beside it) in the CRS ``crs_wkt``."""
    root = ET.Element("qgis", version="3.22.0", projectname=title)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    project_crs = CRS.from_wkt(crs_wkt)
    _srs(ET.SubElement(root, "projectCrs"), project_crs)
    tree = ET.SubElement(root, "layer-tree-group")
    groups = {g: ET.SubElement(tree, "layer-tree-group", name=g, checked="Qt::Checked", expanded="1")
              for g in GROUP_ORDER if any(lay.group == g for lay in layers)}
    project_layers = ET.SubElement(root, "projectlayers")
    first_raster, extent = True, None
    for i, lay in enumerate(sorted(layers, key=lambda x: GROUP_ORDER.index(x.group))):
        rel = "./" + os.path.relpath(lay.path, out.parent).replace(os.sep, "/")
        if lay.path.suffix == ".gpkg":
            entries = []
            for j, (name, geom) in enumerate(pyogrio.list_layers(lay.path)):
                if geom is None:  # a table (e.g. the field lookup 'fields'), not a map layer
                    continue
                info = pyogrio.read_info(lay.path, layer=name)
                entries.append((f"{lay.path.stem}_{name}_{i}_{j}", f"{rel}|layername={name}", str(name),
                                CRS.from_user_input(info["crs"]), info["total_bounds"], "vector", "ogr",
                                "Point" in str(geom)))
        else:
            with rasterio.open(lay.path) as src:
                name = src.descriptions[0] or lay.path.stem
                entries = [(f"{lay.path.stem}_{i}", rel, name, CRS.from_wkt(src.crs.to_wkt()),
                            tuple(src.bounds), "raster", "gdal", False)]
                extent = extent or tuple(src.bounds)
        for layer_id, source, name, crs, bounds, kind, provider, points in entries:
            ml = _maplayer(project_layers, layer_id, kind, source, name, crs, bounds, provider)
            if kind == "vector":
                ml.set("geometry", "Point" if points else "Polygon")
                _vector_renderer(ml, points)
                checked = True
            else:
                qml = lay.path.with_suffix(".qml")
                pipe = ET.parse(qml).getroot().find("pipe") if qml.exists() else ET.Element("pipe")
                ml.append(pipe)
                checked, first_raster = first_raster, False
            ET.SubElement(groups[lay.group], "layer-tree-layer", id=layer_id, name=name, source=source,
                          providerKey=provider, checked="Qt::Checked" if checked else "Qt::Unchecked",
                          expanded="1")
    if extent is not None:
        canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas")
        ext = ET.SubElement(canvas, "extent")
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), extent):
            ET.SubElement(ext, tag).text = repr(float(v))
        _srs(ET.SubElement(canvas, "destinationsrs"), project_crs)
    props = ET.SubElement(root, "properties")
    ET.SubElement(ET.SubElement(props, "Paths"), "Absolute", type="bool").text = "false"
    ET.SubElement(ET.SubElement(props, "SpatialRefSys"), "ProjectionsEnabled", type="int").text = "1"
    ET.indent(root)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
                   + ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out

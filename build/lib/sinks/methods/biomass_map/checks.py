"""Checks of the biomass-map inputs before compute: feature rasters open, imagery scenes open
with their band mapping and overlap the grid."""

from __future__ import annotations

from odc.geo.geobox import GeoBox

from sinks import config as cfgmod
from sinks.errors import InputDataError
from sinks.io.rasters import open_raster
from sinks.rs.imagery import LANDSAT_C2_L2, SENTINEL2_L2A, open_scene
from sinks.rs.scene_grid import require_overlap
from sinks.run import Run


def checks(run: Run) -> list[str]:
    """Lines describing what was checked: scenes (when configured), biomass features."""
    lines = check_scenes(run.cfg, run.grid)
    bio = run.cfg["biomass"]
    if bio["enabled"]:
        for year in bio["years"]:
            for path in cfgmod.feature_sources(run.cfg, year).values():
                if not path.startswith(cfgmod.INDEX_PREFIX):
                    open_raster(path)
        lines.append(f"biomass: features {sorted(bio['features'])} for {bio['years']}, plots "
                     f"{bio['plots'] or 'SYNTHETIC (simulator)'}")
    return lines


def check_scenes(cfg: dict, grid: GeoBox) -> list[str]:
    """Every configured scene opens with its band mapping and scale, and overlaps the grid."""
    lines = []
    for year, scenes in cfg["imagery"]["scenes"].items():
        for i, sc in enumerate(scenes):
            bands, scale, offset = scene_spec(sc, f"{cfg['_source']}: imagery.scenes.{year}[{i}]")
            require_overlap(open_scene(sc["path"], bands, scale, offset, sc["quality_band"],
                                       sc["keep_values"]), grid, sc["path"])
        lines.append(f"imagery {year}: {len(scenes)} scene(s), indices {cfg['imagery']['indices']}")
    return lines


def scene_spec(scene: dict, key: str) -> tuple[dict, float, float]:
    """Band mapping, scale and offset of a configured scene (preset, then explicit keys)."""
    preset = {"sentinel2_l2a": SENTINEL2_L2A, "landsat_c2_l2": LANDSAT_C2_L2}.get(scene["preset"], {})
    bands = scene["bands"] or preset.get("bands")
    scale = scene["scale"] if scene["scale"] is not None else preset.get("scale")
    offset = scene["offset"] if scene["offset"] is not None else preset.get("offset", 0.0)
    if bands is None or scale is None:
        raise InputDataError(f"{key}: no preset, so bands and scale must be given (e.g. bands: "
                             "{R: 3, N: 4}, scale: 1.0e-4)")
    return bands, scale, offset

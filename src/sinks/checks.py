"""Semantic checks of a config's inputs (files open, CRS, overlap, classes mapped).

Run by ``sinks validate`` and ``sinks run`` before any compute, and again by the stage that uses
each input, so a bad file stops the run with one clear line before any deliverable is written.
"""

from __future__ import annotations

import itertools
import logging

from odc.geo.geobox import GeoBox

from sinks import config as cfgmod
from sinks.errors import EmptyDataError, InputDataError, MissingClassError
from sinks.io.rasters import code_histogram, open_raster
from sinks.io.tables import BUILTIN_DENSITIES_NAME, Densities, read_densities, read_legend
from sinks.io.vectors import read_zones

log = logging.getLogger(__name__)


def load_tables(cfg: dict) -> tuple[dict[int, str] | None, Densities]:
    """The legend (or None) and density table of a config, checked."""
    legend = read_legend(cfg["landcover"]["legend"]) if cfg["landcover"]["legend"] else None
    densities = read_densities(resolve_densities(cfg))
    if densities.kind == "sinks" and legend is None:
        raise InputDataError(f"{densities.path}: a sinks density table is keyed by ecosystem; "
                             "set landcover.legend so raster codes can be mapped to ecosystems")
    if densities.kind == "sinks" and legend is not None:
        from sinks.models.stock_difference import class_densities
        have = set(class_densities(densities.values, cfg["carbon"]["paddy_share"]).index)
        lacking = sorted(set(legend.values()) - have)
        if lacking:
            raise InputDataError(f"{densities.path}: no densities for ecosystem class(es) "
                                 f"{lacking} used by the legend; add rows for them")
    return legend, densities


def resolve_densities(cfg: dict) -> str:
    from sinks.io.tables import builtin_densities_path
    spec = cfg["carbon"]["densities"]
    return str(builtin_densities_path()) if spec == BUILTIN_DENSITIES_NAME else spec


def check_codes(hist: dict[int, int], legend: dict[int, str] | None, densities: Densities,
                name: str) -> None:
    """Every code present in a land-cover raster must be in the legend / InVEST table."""
    present = set(hist)
    problems = []
    if legend is not None:
        missing = sorted(present - set(legend))
        if missing:
            problems.append(f"codes {missing} are not in the legend")
    if densities.kind == "invest":
        missing = sorted(present - set(int(c) for c in densities.values.index))
        if missing:
            problems.append(f"codes {missing} have no row (lucode) in {densities.path}")
    if problems:
        counts = ", ".join(f"{c}: {hist[c]} px" for c in sorted(present - set(legend or {}))[:10])
        raise MissingClassError(f"{name}: {'; '.join(problems)}"
                                + (f" ({counts})" if counts else "")
                                + "; add them to the legend/table, or fix the raster")


def check_overlap(src: GeoBox, grid: GeoBox, name: str) -> None:
    """The raster's footprint must intersect the run grid."""
    if not src.footprint(grid.crs).intersects(grid.extent):
        raise EmptyDataError(f"{name}: does not overlap the run's region ({grid.extent.boundingbox}); "
                             "check the file is the right area and its CRS is correct")


def check_epoch_raster(path, grid: GeoBox, legend, densities, chunks: int) -> dict[int, int]:
    """Open one observed epoch, check CRS, overlap, nodata and class codes; warn on a grid change."""
    from sinks.grid import describe, same_grid
    arr = open_raster(path, chunks=chunks)
    check_overlap(arr.odc.geobox, grid, str(path))
    if not same_grid(arr.odc.geobox, grid):
        log.warning("%s: grid differs from the run grid (%s vs %s); it will be resampled",
                    path, describe(arr.odc.geobox), describe(grid))
    hist = code_histogram(arr)
    check_codes(hist, legend, densities, str(path))
    return hist


def validate_inputs(cfg: dict, chunks: int = 2048) -> list[str]:
    """Every input check for a loaded config; returns lines describing what was checked."""
    from sinks.stages import run_grid
    lines = []
    legend, densities = load_tables(cfg)
    lines.append(f"densities: {densities.path} ({densities.kind} table, {len(densities.values)} classes)")
    for zone in cfg["zones"]:
        gdf = read_zones(zone["path"], zone["id_field"], zone["name_field"])
        lines.append(f"zones {zone['level']}: {len(gdf)} zones from {zone['path']}")
    grid = run_grid(cfg)
    from sinks.grid import describe
    lines.append(f"grid: {describe(grid)}")
    for ep in cfgmod.epochs(cfg):
        if ep.path is None:
            sc = ep.scenario
            used = {c for ch in sc["changes"] for c in ch["from_codes"] + [ch["to_code"]] + ch["near_codes"]}
            if legend is not None and used - set(legend):
                raise MissingClassError(f"{cfg['_source']}: landcover.epochs.{ep.year}.scenario uses "
                                        f"codes {sorted(used - set(legend))} that are not in the legend")
            lines.append(f"epoch {ep.year}: SCENARIO derived from {sc['from']} "
                         f"({', '.join(ch['name'] for ch in sc['changes'])})")
            continue
        hist = check_epoch_raster(ep.path, grid, legend, densities, chunks)
        lines.append(f"epoch {ep.year}: {ep.path} ({sum(hist.values())} valid px, codes {sorted(hist)})")
    lines += _check_methods(cfg, legend)
    lines += _check_scenes(cfg, grid)
    return lines


def _check_scenes(cfg: dict, grid: GeoBox) -> list[str]:
    """Every configured scene opens with its band mapping and scale, and overlaps the grid."""
    from sinks.rs.imagery import open_scene
    from sinks.rs.scene_grid import require_overlap
    from sinks.stages import scene_spec
    lines = []
    for year, scenes in cfg["imagery"]["scenes"].items():
        for i, sc in enumerate(scenes):
            bands, scale, offset = scene_spec(sc, f"{cfg['_source']}: imagery.scenes.{year}[{i}]")
            require_overlap(open_scene(sc["path"], bands, scale, offset, sc["quality_band"],
                                       sc["keep_values"]), grid, sc["path"])
        lines.append(f"imagery {year}: {len(scenes)} scene(s), indices {cfg['imagery']['indices']}")
    return lines


def _check_methods(cfg: dict, legend) -> list[str]:
    """Registry overrides, gain-loss parameters (UNCONFIRMED refused) and biomass inputs."""
    from sinks.parameters import load_registry, value
    reg = load_registry(cfg["parameters"])
    lines = [f"parameters: {len(reg)} in the registry, {int((reg.status == 'user').sum())} overridden"]
    if "gain_loss" in cfg["carbon"]["method"]:
        if legend is None:
            raise InputDataError("carbon.method gain_loss needs landcover.legend (the ecosystem "
                                 "of each code decides forest growth and soil factors)")
        from sinks.rate_tables import GROWTH_STRATA, PERENNIAL, ecosystem_soc, strata_levels
        from sinks.stages import run_grid, strata_map
        gl = cfg["gain_loss"]
        levels = strata_levels(cfg)
        for pid in (*GROWTH_STRATA[gl["forest_growth"]], "carbon_fraction", "soc_period_d",
                    *(i for f in levels["forest_growth"][1:] for i in GROWTH_STRATA[f])):
            value(reg, pid)
        classes = set(legend.values())
        for combo in itertools.product(*levels.values()):  # every stratum's SOC_ref and F factors
            ecosystem_soc(cfg, reg, dict(zip(levels, combo)), classes)
        if PERENNIAL in classes:
            value(reg, "perennial_agb_rate"), value(reg, "perennial_cycle")
        if strata_map(cfg, run_grid(cfg)) is not None:
            lines.append("gain_loss strata: " + "; ".join(
                f"{kind} {names[1:]} ({gl['strata'][kind]['raster']})"
                for kind, names in levels.items() if gl["strata"][kind]))
        lines.append(f"gain_loss: forest growth {gl['forest_growth']}, climate zone "
                     f"{gl['climate_zone']}, tillage {gl['tillage']}, input {gl['input']}, "
                     "parameters confirmed")
    aa = cfg["uncertainty"]["accuracy_assessment"]
    if aa:
        observed = [e.year for e in cfgmod.epochs(cfg) if e.path is not None]
        if aa["year"] not in observed:
            raise InputDataError(f"{cfg['_source']}: uncertainty.accuracy_assessment.year "
                                 f"{aa['year']} is not an observed epoch ({observed})")
        from sinks.io.vectors import read_points
        pts = read_points(aa["samples"], aa["label_field"])
        what = f"{aa['year']}"
        if aa["year_end"] is not None:
            years = [e.year for e in cfgmod.epochs(cfg)]
            after = years[years.index(aa["year"]) + 1] if aa["year"] != years[-1] else None
            if aa["year_end"] != after or after not in observed:
                raise InputDataError(f"{cfg['_source']}: uncertainty.accuracy_assessment.year_end "
                                     f"{aa['year_end']} must be the observed epoch right after "
                                     f"year {aa['year']} (epochs {years}, observed {observed})")
            if not aa["label_field_end"]:
                raise InputDataError(f"{cfg['_source']}: uncertainty.accuracy_assessment.year_end "
                                     "is set: give label_field_end, the field with the reference "
                                     "code at year_end")
            read_points(aa["samples"], aa["label_field_end"])
            what = f"change {aa['year']}-{aa['year_end']}"
        lines.append(f"accuracy assessment {what}: {len(pts)} reference points")
    pot = cfg["potential"]
    if pot["enabled"]:
        last = cfgmod.epochs(cfg)[-1].year
        early = [y for y in pot["target_years"] if y <= last]
        if early:
            raise InputDataError(f"{cfg['_source']}: potential.target_years {early} are not after "
                                 f"the last epoch {last}; give later years")
        for pid in ("cr_bmax_plantation", "cr_k_plantation", "cr_p_plantation", "root_shoot_plantation"):
            value(reg, pid)
        lines.append(f"potential: target years {pot['target_years']}, scenarios {pot['scenarios']}")
    wet = cfg["wetland"]
    if wet["enabled"]:
        for path in [wet["inundation"]] if wet["inundation"] else wet["water_masks"]:
            open_raster(path)
        if wet["ch4"]:
            from sinks.models.wetland import GWP_IDS
            ef = wet["ch4_emission_factor"]
            if ef not in reg.index or reg.loc[ef, "kind"] != "emission":
                raise InputDataError(f"{cfg['_source']}: wetland.ch4_emission_factor = {ef!r}: not "
                                     "an emission factor of the registry (`sinks parameters CONFIG`)")
            lines.append(f"wetland CH4: {ef} = {value(reg, ef)} kg CH4/ha/yr, GWP100 {wet['gwp']} "
                         f"= {value(reg, GWP_IDS[wet['gwp']])}")
        lines.append(f"wetland: open water of natural lakes where flooded >= "
                     f"{wet['open_water_threshold']} of the time")
    bio = cfg["biomass"]
    if bio["enabled"]:
        for year in bio["years"]:
            for path in cfgmod.feature_sources(cfg, year).values():
                if not path.startswith(cfgmod.INDEX_PREFIX):
                    open_raster(path)
        lines.append(f"biomass: features {sorted(bio['features'])} for {bio['years']}, plots "
                     f"{bio['plots'] or 'SYNTHETIC (simulator)'}")
    return lines

"""Load and validate a run configuration.

Two layers (STYLE §6): the JSON Schema in ``schemas/config.schema.yaml`` (types, defaults,
unknown keys) and semantic checks (years, references between sections). Checks that open the
input files live in :func:`sinks.checks.validate_inputs`, so the Snakefile can validate the config
cheaply at parse time.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from sinks.errors import ConfigError
from sinks.io.tables import BUILTIN_DENSITIES_NAME as BUILTIN_DENSITIES


@dataclass(frozen=True)
class Epoch:
    """One land-cover epoch: an observed raster file, or a scenario derived from an earlier epoch."""

    year: int
    path: Path | None
    scenario: dict | None

    @property
    def basis(self) -> str:
        """``observed`` or ``scenario``: written into every output and table row."""
        return "scenario" if self.scenario else "observed"


def schema() -> dict:
    """The configuration JSON Schema shipped with the package."""
    text = resources.files("sinks").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _validator_with_defaults():
    """A Draft 2020-12 validator that fills in ``default`` values (the jsonschema FAQ recipe)."""
    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, sch):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, sch)

    return jsonschema.validators.extend(base, {"properties": set_defaults})


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _schema_message(source: str, err: jsonschema.ValidationError) -> str:
    key = _dotted(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        unknown = sorted(set(err.instance) - set(allowed))
        hints = []
        for u in unknown:
            close = difflib.get_close_matches(str(u), allowed, n=1)
            hints.append(f"'{u}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        where = "" if key == "(top level)" else f"{key}: "
        return (f"{source}: {where}unknown key {', '.join(hints)}; allowed keys: "
                f"{', '.join(allowed)}")
    if err.validator == "required":
        return f"{source}: {key}: {err.message}; add it (see config/README.md)"
    if err.validator == "oneOf" and len(err.absolute_path) >= 3 and err.absolute_path[1] == "epochs":
        return (f"{source}: {key} = {err.instance!r}: an epoch is a raster path or "
                "{scenario: {from: YEAR, changes: [...]}}; see config/README.md")
    value = json.dumps(err.instance, default=str)
    if len(value) > 80:
        value = value[:77] + "..."
    return f"{source}: {key} = {value}: {err.message}"


def load_config(path: str | Path) -> dict:
    """Read, validate and resolve a config file.

    Returns the config with defaults filled in and every file path normalised (relative paths
    are taken from the working directory). Raises ``ConfigError`` with
    one line naming the file, the key and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found; give the path of a YAML config "
                          "(see config/config.yaml)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}; fix the syntax "
                          "(indentation, colons, quotes)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; save the config as UTF-8 YAML") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a YAML mapping with at least "
                          "'run' and 'landcover' sections")
    cfg = _normalise_epoch_keys(raw, path)
    validator = _validator_with_defaults()(schema())
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), str(e.path)))
    if errors:
        raise ConfigError(_schema_message(str(path), errors[0]))
    _semantic_checks(cfg, path)
    _resolve_paths(cfg)
    cfg["_source"] = str(path.resolve())
    return cfg


def _normalise_epoch_keys(raw: dict, path: Path) -> dict:
    """Epoch years must be integers in strictly increasing order; JSON Schema wants string keys."""
    cfg = copy.deepcopy(raw)
    epochs = (cfg.get("landcover") or {}).get("epochs")
    if not isinstance(epochs, dict):
        return cfg
    years = []
    for key in epochs:
        try:
            year = int(str(key).strip())
            if str(year) != str(key).strip():
                raise ValueError
        except ValueError:
            raise ConfigError(f"{path}: landcover.epochs.{key}: epoch year must be an integer "
                              "such as 2019") from None
        years.append(year)
    for a, b in zip(years, years[1:]):
        if b <= a:
            raise ConfigError(f"{path}: landcover.epochs: years {years} are not strictly "
                              "increasing; list the epochs oldest first, each year once")
    cfg["landcover"]["epochs"] = {str(y): v for y, v in zip(years, epochs.values())}
    for spec in ((cfg.get("gain_loss") or {}).get("strata") or {}).values():
        if isinstance(spec, dict) and isinstance(spec.get("codes"), dict):
            spec["codes"] = {str(c): v for c, v in spec["codes"].items()}  # YAML int keys
    features = (cfg.get("biomass") or {}).get("features") or {}
    for name, spec in features.items():
        if isinstance(spec, dict):
            features[name] = {str(y): v for y, v in spec.items()}
    scenes = (cfg.get("imagery") or {}).get("scenes")
    if isinstance(scenes, dict):
        cfg["imagery"]["scenes"] = {str(y): v for y, v in scenes.items()}
    return cfg


def _semantic_checks(cfg: dict, path: Path) -> None:
    epochs = {int(y): v for y, v in cfg["landcover"]["epochs"].items()}
    years = list(epochs)
    first = epochs[years[0]]
    if isinstance(first, dict):
        raise ConfigError(f"{path}: landcover.epochs.{years[0]}: the first epoch must be an "
                          "observed raster, not a scenario")
    for year, spec in epochs.items():
        if isinstance(spec, dict):
            src = spec["scenario"]["from"]
            if src not in epochs or src >= year:
                raise ConfigError(f"{path}: landcover.epochs.{year}.scenario.from = {src}: must "
                                  f"be an earlier epoch year, one of {[y for y in years if y < year]}")
    grid = cfg["grid"]
    if grid["crs"] is None and grid["resolution"] is not None:
        raise ConfigError(f"{path}: grid.resolution is set but grid.crs is not; give grid.crs "
                          "too, or leave both out to use the first epoch's grid")
    if grid["crs"] is not None and grid["resolution"] is None:
        raise ConfigError(f"{path}: grid.crs is set but grid.resolution is not; give the pixel "
                          "size in CRS units (e.g. 30 for metres)")
    if grid["bounds"] is not None:
        xmin, ymin, xmax, ymax = grid["bounds"]
        if not (xmax > xmin and ymax > ymin):
            raise ConfigError(f"{path}: grid.bounds = {grid['bounds']}: must be "
                              "[xmin, ymin, xmax, ymax] with xmax > xmin and ymax > ymin")
    levels = [z["level"] for z in cfg["zones"]]
    dup = sorted({lv for lv in levels if levels.count(lv) > 1})
    if dup:
        raise ConfigError(f"{path}: zones: level {dup[0]!r} is used twice; give each zone "
                          "layer its own level name")
    if grid["clip_to"] is not None and grid["clip_to"] not in levels:
        raise ConfigError(f"{path}: grid.clip_to = {grid['clip_to']!r}: not a zone level; use "
                          f"one of {levels}" if levels else
                          f"{path}: grid.clip_to = {grid['clip_to']!r}: no zones are configured; "
                          "add the zone layer under 'zones' or remove clip_to")
    wet = cfg["wetland"]
    if wet["enabled"]:
        if "gain_loss" not in cfg["carbon"]["method"]:
            raise ConfigError(f"{path}: wetland.enabled needs gain_loss in carbon.method (the lake "
                              "and wetland rule applies to the gain-loss maps and rows)")
        if bool(wet["inundation"]) == bool(wet["water_masks"]):
            raise ConfigError(f"{path}: wetland: give either wetland.inundation (a frequency "
                              "raster) or wetland.water_masks (water-mask rasters), not both or neither")
        if wet["open_water_threshold"] is None:
            raise ConfigError(f"{path}: wetland.open_water_threshold is not set; give the fraction "
                              "of time flooded above which a wetland or water pixel is open lake "
                              "water (e.g. 0.75); there is no cited default")
        if wet["ch4"] and not wet["ch4_emission_factor"]:
            raise ConfigError(f"{path}: wetland.ch4 is true but wetland.ch4_emission_factor is not "
                              "set; name a registry id (e.g. ch4_ef_rewetted_wetland) and confirm "
                              "its value in parameters")
    elif wet["ch4"]:
        raise ConfigError(f"{path}: wetland.ch4 needs wetland.enabled: true (CH4 is scaled by "
                          "the inundation frequency)")
    unc = cfg["uncertainty"]
    if unc["max_draws"] < unc["n_draws"]:
        raise ConfigError(f"{path}: uncertainty.max_draws = {unc['max_draws']}: must be ≥ "
                          f"uncertainty.n_draws = {unc['n_draws']} (the draws grow from n_draws "
                          "up to max_draws)")
    _biomass_checks(cfg, path, years)
    _forest_checks(cfg, path, years, levels)
    if cfg["landcover"]["legend"] is None and cfg["carbon"]["densities"] == BUILTIN_DENSITIES:
        raise ConfigError(f"{path}: landcover.legend is missing; give igbp, clcd, worldcover or "
                          "a legend CSV (it may be left out only with an InVEST density table)")


INDEX_PREFIX = "index:"


def _forest_checks(cfg: dict, path: Path, years: list[int], levels: list[str]) -> None:
    """The strata's year is an epoch, the shares' level a zone level, a source is given and
    gain-loss runs (the strata set its forest growth and harvest)."""
    fc = cfg["forest"]
    if not fc["enabled"]:
        return
    if fc["year"] is not None and fc["year"] not in years:
        raise ConfigError(f"{path}: forest.year = {fc['year']}: must be an epoch year, one of {years}")
    if not (fc["shares"] or fc["raster"] or fc["subcompartments"]):
        raise ConfigError(f"{path}: forest.enabled needs a strata source: forest.subcompartments, "
                          "forest.raster or forest.shares (e.g. jiangxi_default)")
    if fc["shares"] and fc["shares_level"] not in levels:
        raise ConfigError(f"{path}: forest.shares_level = {fc['shares_level']!r}: not a zone level; "
                          f"use one of {levels}")
    if cfg["landcover"]["legend"] is None:
        raise ConfigError(f"{path}: forest.enabled needs landcover.legend (which codes are forest)")


def _biomass_checks(cfg: dict, path: Path, years: list[int]) -> None:
    """Map years are epochs (the training year among them); every feature has a source for
    every map year; an 'index:NAME' feature has scenes of that year and NAME in imagery.indices."""
    bio, img = cfg["biomass"], cfg["imagery"]
    for y in img["scenes"]:
        if int(y) not in years:
            raise ConfigError(f"{path}: imagery.scenes.{y}: not an epoch year; use one of {years}")
    if not bio["enabled"]:
        return
    if bio["year"] not in years:
        raise ConfigError(f"{path}: biomass.year = {bio['year']}: must be an epoch year, one of {years}")
    wanted = bio["years"] if bio["years"] is not None else [bio["year"]]
    bad = [y for y in wanted if y not in years]
    if bad or bio["year"] not in wanted or len(set(wanted)) != len(wanted):
        raise ConfigError(f"{path}: biomass.years = {wanted}: must be distinct epoch years "
                          f"(of {years}) including biomass.year {bio['year']}")
    if not bio["features"]:
        raise ConfigError(f"{path}: biomass.features is empty; name at least one predictor "
                          "(a raster path or index:NAME)")
    for year in wanted:
        for name, spec in bio["features"].items():
            src = spec if isinstance(spec, str) else spec.get(str(year))
            if src is None:
                raise ConfigError(f"{path}: biomass.features.{name} has no source for {year}; "
                                  f"add '{year}: PATH' (every year of biomass.years needs one)")
            if src.startswith(INDEX_PREFIX):
                index = src[len(INDEX_PREFIX):]
                if str(year) not in img["scenes"] or index not in img["indices"]:
                    raise ConfigError(f"{path}: biomass.features.{name} = {src!r} for {year}: "
                                      f"needs imagery.scenes.{year} and {index!r} in imagery.indices")


def _abs(p: str) -> str:
    """Normalised path: relative to the working directory when inside it (so a project folder
    can be moved without Snakemake seeing new input files), absolute otherwise."""
    full = Path(p).expanduser().resolve()
    try:
        return str(full.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(full)


def _resolve_paths(cfg: dict) -> None:
    lc = cfg["landcover"]
    for year, spec in lc["epochs"].items():
        if isinstance(spec, str):
            lc["epochs"][year] = _abs(spec)
    for rule in lc["reclassify"]:
        rule["raster"] = _abs(rule["raster"])
    if lc["legend"] and lc["legend"].lower().endswith(".csv"):
        lc["legend"] = _abs(lc["legend"])
    if cfg["carbon"]["densities"] != BUILTIN_DENSITIES:
        cfg["carbon"]["densities"] = _abs(cfg["carbon"]["densities"])
    for zone in cfg["zones"]:
        zone["path"] = _abs(zone["path"])
        zone["name_field"] = zone["name_field"] or zone["id_field"]
    for spec in cfg["gain_loss"]["strata"].values():
        if spec:
            spec["raster"] = _abs(spec["raster"])
    fc = cfg["forest"]
    if fc["shares"] and fc["shares"] != "jiangxi_default":
        fc["shares"] = _abs(fc["shares"])
    if fc["raster"]:
        fc["raster"]["raster"] = _abs(fc["raster"]["raster"])
    if fc["subcompartments"]:
        fc["subcompartments"]["path"] = _abs(fc["subcompartments"]["path"])
    wet = cfg["wetland"]
    wet["water_masks"] = [_abs(p) for p in wet["water_masks"]]
    if wet["inundation"]:
        wet["inundation"] = _abs(wet["inundation"])
    bio = cfg["biomass"]
    bio["features"] = {k: _abs_source(v) if isinstance(v, str) else
                       {y: _abs_source(p) for y, p in v.items()} for k, v in bio["features"].items()}
    if bio["enabled"] and bio["years"] is None:
        bio["years"] = [bio["year"]]
    for scenes in cfg["imagery"]["scenes"].values():
        for scene in scenes:
            scene["path"] = _abs(scene["path"])
    if bio["plots"]:
        bio["plots"] = _abs(bio["plots"])
    if cfg["uncertainty"]["accuracy_assessment"]:
        cfg["uncertainty"]["accuracy_assessment"]["samples"] = _abs(cfg["uncertainty"]["accuracy_assessment"]["samples"])


def _abs_source(spec: str) -> str:
    return spec if spec.startswith(INDEX_PREFIX) else _abs(spec)


def feature_sources(cfg: dict, year: int) -> dict[str, str]:
    """Each biomass feature's source for an epoch: a raster path or 'index:NAME'."""
    return {name: spec if isinstance(spec, str) else spec[str(year)]
            for name, spec in cfg["biomass"]["features"].items()}


def biomass_periods(cfg: dict) -> list[tuple[int, int]]:
    """Periods (consecutive epochs) with a biomass map at both ends: they get a remote-sensing
    sink. Periods with a map at one end only get none (never a map against class defaults)."""
    years = set(cfg["biomass"]["years"] or []) if cfg["biomass"]["enabled"] else set()
    return [(a, b) for a, b in periods(cfg) if a in years and b in years]


def epochs(cfg: dict) -> list[Epoch]:
    """The epochs in year order."""
    out = []
    for year, spec in cfg["landcover"]["epochs"].items():
        if isinstance(spec, dict):
            out.append(Epoch(int(year), None, spec["scenario"]))
        else:
            out.append(Epoch(int(year), Path(spec), None))
    return out


def epoch(cfg: dict, year: int) -> Epoch:
    """The epoch of ``year``; ``ConfigError`` if there is none."""
    for e in epochs(cfg):
        if e.year == int(year):
            return e
    raise ConfigError(f"{cfg['_source']}: landcover.epochs has no year {year}")


def periods(cfg: dict) -> list[tuple[int, int]]:
    """Consecutive epoch pairs (y0, y1)."""
    years = [e.year for e in epochs(cfg)]
    return list(zip(years, years[1:]))


def run_dir(cfg: dict, root: str | Path = ".") -> Path:
    """``data/processed/<run.name>`` under ``root`` (the working directory)."""
    return Path(root) / "data" / "processed" / cfg["run"]["name"]


def digest(obj: Any) -> str:
    """Short stable hash of a JSON-able object (config sections, whole config)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def config_hash(cfg: dict) -> str:
    """Hash of the resolved config, written into every output's tags."""
    return digest({k: v for k, v in cfg.items() if not k.startswith("_")})


def resolved_yaml(cfg: dict) -> str:
    """The resolved config as YAML, for ``run_config.yaml``."""
    clean = {k: v for k, v in cfg.items() if not k.startswith("_")}
    header = (f"# Resolved sinks configuration (defaults filled, paths absolute).\n"
              f"# source: {cfg.get('_source')}\n# config_hash: {config_hash(cfg)}\n")
    return header + yaml.safe_dump(clean, sort_keys=False, allow_unicode=True)


def schema_reference() -> str:
    """Markdown table of every config key (dotted), its type, default and description."""
    rows = []

    def walk(node: dict, prefix: str) -> None:
        for key, sub in node.get("properties", {}).items():
            name = f"{prefix}{key}"
            typ = sub.get("type", "object" if "properties" in sub else "")
            typ = " or ".join(typ) if isinstance(typ, list) else typ
            default = json.dumps(sub["default"]) if "default" in sub else "required" if key in node.get("required", []) else ""
            rows.append(f"| `{name}` | {typ} | {default} | {sub.get('description', '')} |")
            if "properties" in sub:
                walk(sub, name + ".")
            if sub.get("type") == "array" and "properties" in sub.get("items", {}):
                walk(sub["items"], name + "[].")

    sch = schema()
    walk(sch, "")
    rows.append("| `landcover.epochs.<year>` | string or object | | a raster path, or `{scenario: ...}` below |")
    walk(sch["$defs"]["scenario_epoch"], "landcover.epochs.<year>.")
    rows.append("| `imagery.scenes.<year>[]` | object | | one scene of the epoch, keys below |")
    walk(sch["properties"]["imagery"]["properties"]["scenes"]["additionalProperties"]["items"],
         "imagery.scenes.<year>[].")
    return "| key | type | default | description |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"

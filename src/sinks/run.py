"""The run's context: its resolved config, file names, grid and tables, loaded once per process.

Every stage function takes a :class:`Run`; nothing else re-reads the legend, the density table
or the parameter registry (each is read and checked on first use, then cached), and every map
is described for writing through :meth:`Run.map`, which takes its unit, sign, citation and
valid range from the output registry.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import xarray as xr
from odc.geo.geobox import GeoBox

from sinks import __version__
from sinks import config as cfgmod
from sinks import parameters, tiles
from sinks.classes import CompactClasses, compact_classes
from sinks.grid import DEFAULT_CHUNK, require_same_grid
from sinks.density_model import DensityModel, density_model
from sinks.inputs import load_tables, resolve_densities, run_grid
from sinks.io.outputs import OUTPUTS, map_title
from sinks.io.rasters import MapToWrite, open_raster
from sinks.io.tables import density_derivations, density_distributions
from sinks.landcover import ECOSYSTEM_LABELS
from sinks.paths import RunPaths, run_paths
from sinks.propagation import ClassParameters, class_parameters
from sinks.forest.density import forest_densities, forest_registry_rows

log = logging.getLogger(__name__)


def created_time() -> dt.datetime:
    """When outputs are made: now, or ``$SOURCE_DATE_EPOCH`` (the reproducible-builds
    convention) so that two identical runs write identical bytes."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Run:
    """One run: ``cfg`` (resolved, validated), ``paths`` and the chunk side of its arrays."""

    cfg: dict
    paths: RunPaths
    chunks: int = DEFAULT_CHUNK
    _classes: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, cfg: dict, run_dir: str | Path | None = None,
                    chunks: int = DEFAULT_CHUNK) -> "Run":
        """The run of a loaded config (``sinks.config.load_config``); files under ``run_dir``
        (default ``data/processed/<run.name>`` of the working directory)."""
        return cls(cfg, RunPaths(Path(run_dir)) if run_dir else run_paths(cfg), chunks)

    # --- tables, loaded once ------------------------------------------------------------
    @functools.cached_property
    def _tables(self):
        legend, dens = load_tables(self.cfg)
        if self.cfg["forest"]["enabled"] and self.cfg["forest"]["shares"] and dens.kind == "sinks":
            dens = forest_densities(dens, self.registry)
        return legend, dens

    @property
    def legend(self) -> dict[int, str] | None:
        """Raster code -> ecosystem class, or None (InVEST table alone)."""
        return self._tables[0]

    @property
    def densities(self):
        """The density table (sinks.io.tables.Densities), checked against the legend."""
        return self._tables[1]

    @functools.cached_property
    def densities_path(self) -> str:
        return resolve_densities(self.cfg)

    @functools.cached_property
    def density_distributions(self) -> dict | None:
        """Distributions of the density table's rows, or None without sd columns."""
        return density_distributions(self.densities)

    @functools.cached_property
    def registry(self):
        """The cited parameter registry with the config's overrides (sinks.parameters), and with
        forest strata their mean forest density (sinks.forest.density)."""
        reg = parameters.load_registry(self.cfg["parameters"])
        fc = self.cfg["forest"]
        if fc["enabled"] and fc["shares"]:
            reg = pd.concat([reg, forest_registry_rows(reg, self.cfg, self.cfg["uncertainty"]["seed"])])
        return reg

    @functools.cached_property
    def full_grid(self) -> GeoBox:
        """The whole run grid (within a tile too)."""
        return run_grid(self.cfg)

    @property
    def grid(self) -> GeoBox:
        """The run grid, or within an active tile (sinks.tiles) the tile's window of it."""
        t = tiles.current()
        return t.grid if t is not None else self.full_grid

    @functools.cached_property
    def tile_names(self) -> list[str]:
        """The tiles of the run grid (``grid.tile_size``; none for an untiled run)."""
        return [name for name, _, _ in tiles.tiling(self.full_grid, self.cfg["grid"]["tile_size"])]

    def tile(self, name: str) -> tiles.Tile:
        return tiles.tile(self.full_grid, self.cfg["grid"]["tile_size"], name, self.paths.root,
                          self.paths.tile(name))

    def classes(self, dtype) -> CompactClasses:
        """The class encoding for land-cover rasters of ``dtype`` (cached per dtype)."""
        key = str(dtype)
        if key not in self._classes:
            self._classes[key] = compact_classes(self.legend, self.densities,
                                                 self.cfg["carbon"]["paddy_share"], dtype)
        return self._classes[key]

    # --- epochs and their land cover ------------------------------------------------------
    @property
    def epochs(self) -> list[cfgmod.Epoch]:
        return cfgmod.epochs(self.cfg)

    def epoch(self, year: int) -> cfgmod.Epoch:
        return cfgmod.epoch(self.cfg, year)

    def period_basis(self, y0: int, y1: int) -> str:
        """'scenario' if either end of a period is a scenario epoch, else 'observed'."""
        return "scenario" if "scenario" in (self.epoch(y0).basis, self.epoch(y1).basis) else "observed"

    def landcover_path(self, year: int) -> Path:
        """The aligned (observed) or derived (scenario) land cover of an epoch."""
        return self.paths.landcover(year, scenario=self.epoch(year).scenario is not None)

    def open_landcover(self, year: int) -> xr.DataArray:
        return open_raster(self.landcover_path(year), chunks=self.chunks)

    def open_on_grid(self, path: Path, grid: GeoBox | None = None) -> xr.DataArray:
        """An interim raster of the run, checked to be on the run's grid."""
        arr = open_raster(path, chunks=self.chunks)
        require_same_grid(arr, grid if grid is not None else arr.odc.geobox, str(path))
        return arr

    def clip_mask(self, grid: GeoBox) -> xr.DataArray | None:
        """True inside the zone level the grid is clipped to (``grid.clip_to``), or None."""
        level = self.cfg["grid"]["clip_to"]
        if level is None:
            return None
        return self.open_on_grid(self.paths.zones(level), grid) > 0

    def density_parameters(self, cc: CompactClasses) -> ClassParameters | None:
        """The density parameters of the run (sinks.propagation), or None when uncertainty is
        off or the density table has no sd column."""
        unc = self.cfg["uncertainty"]
        if not unc["enabled"]:
            return None
        if self.density_distributions is None:
            log.warning("%s has no sd column: no uncertainty can be computed (add sd and "
                        "distribution columns, or use a sinks density table)", self.densities.path)
            return None
        return class_parameters(self.density_model, cc.table_keys, self.cfg["carbon"]["paddy_share"])

    @functools.cached_property
    def density_model(self) -> DensityModel:
        """The density table's rows as functions of their sources of error (shared parameters
        from the registry; sinks.density_model). Needs sd columns."""
        return density_model(self.density_distributions, density_derivations(self.densities),
                             self.registry, self.densities.values,
                             self.cfg["uncertainty"]["vary_pools"], self.densities.path)

    # --- outputs --------------------------------------------------------------------------
    def tags(self, *, model: str, inputs: list, basis: str, kind: str, citation: str | None = None,
             **extra) -> dict:
        """GeoTIFF tags of an output (STYLE §5): units, sign and citation from the registry."""
        spec = OUTPUTS.get(kind)  # None for interim rasters, which pass their citation
        if citation is None:
            citation = OUTPUTS[kind].citation.format(legend=self.cfg["landcover"]["legend"])
        tags = {
            "units": spec.unit if spec else "",
            "sign_convention": spec.sign if spec else "",
            "sinks_version": __version__,
            "config_hash": cfgmod.config_hash(self.cfg),
            "run_name": self.cfg["run"]["name"],
            "created": created_time().isoformat(timespec="seconds"),
            "inputs": "; ".join(str(i) for i in inputs),
            "model": model,
            "citation": citation,
            "basis": basis,
            "scenario": "true" if "scenario" in basis else "false",
        }
        tags.update(extra)
        return tags

    def map(self, kind: str, data: xr.DataArray, *, basis: str, model: str, inputs,
            colormap=None, **fields) -> MapToWrite:
        """An output map of a registry kind, at its file name, ready for ``write_cogs``."""
        spec = OUTPUTS[kind]
        description = spec.description.format(**fields)
        if "scenario" in basis:
            description += " (SCENARIO)"
        return MapToWrite(data, self.paths.output(kind, **fields), spec.dtype, spec.nodata,
                          description, spec.unit,
                          self.tags(model=model, inputs=inputs, basis=basis, kind=kind),
                          spec.overview_resampling, colormap, spec.style,
                          ECOSYSTEM_LABELS if spec.style == "classes" else None, spec.valid_range,
                          title=map_title(kind, **fields), notes_from=len(spec.description.format(**fields)),
                          compression=self.cfg["outputs"]["compression"])

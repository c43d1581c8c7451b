"""File names of one run under ``data/processed/<run>/``: the Snakefile, the stages and the
tests all name files through :class:`RunPaths`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sinks import config as cfgmod
from sinks.io.outputs import OUTPUTS, output_name


@dataclass(frozen=True)
class RunPaths:
    """File names of one run (outputs by their kind in :data:`sinks.io.outputs.OUTPUTS`)."""

    root: Path

    @property
    def interim(self) -> Path:
        return self.root / "interim"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    def run_config(self) -> Path:
        return self.root / "run_config.yaml"

    def config_archive(self, config_hash: str) -> Path:
        """The resolved config of one ``config_hash`` (kept: maps of earlier runs name theirs)."""
        return self.root / "configs" / f"{config_hash}.yaml"

    def zones(self, level: str) -> Path:
        return self.interim / f"zones_{level}.tif"

    def zones_table(self, level: str) -> Path:
        return self.interim / f"zones_{level}.csv"

    def landcover(self, year: int, scenario: bool = False) -> Path:
        return self.interim / (f"landcover_{year}_scenario.tif" if scenario else f"landcover_{year}.tif")

    def conversion_history(self, year: int) -> Path:
        return self.interim / f"conversion_history_{year}.tif"

    def biomass_model(self, year: int) -> Path:
        return self.interim / f"biomass_model_{year}.joblib"

    def output(self, kind: str, **fields) -> Path:
        """The file of an output kind (its folder and name pattern from the registry)."""
        folder = self.interim if OUTPUTS[kind].folder == "interim" else self.outputs
        return folder / output_name(kind, **fields)

    def tile(self, name: str) -> Path:
        """The folder of one tile's maps and zone sums (sinks.tiles)."""
        return self.root / "tiles" / name

    def zone_sums(self, tile: str) -> Path:
        return self.tile(tile) / "interim" / "zone_sums.npz"

    def index(self, name: str, year: int) -> Path:
        return self.output("index", name=name, year=year)


def run_paths(cfg: dict, root: str | Path = ".") -> RunPaths:
    return RunPaths(cfgmod.run_dir(cfg, root))

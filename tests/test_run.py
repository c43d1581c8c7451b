"""The run context (sinks.run.Run): tables read once, outputs described from the registry."""

from __future__ import annotations

import numpy as np

from conftest import build_tiny
from sinks import parameters
from sinks.config import load_config
from sinks.grid import on_grid
from sinks.io import tables
from sinks.io.outputs import OUTPUTS
from sinks.run import Run


def test_tables_registry_and_classes_are_loaded_once(tmp_path, chdir, monkeypatch):
    root = chdir(build_tiny(tmp_path))
    calls = {"densities": 0, "registry": 0}
    read, load = tables.read_densities, parameters.load_registry

    def counting_read(path):
        calls["densities"] += 1
        return read(path)

    def counting_load(overrides=None):
        calls["registry"] += 1
        return load(overrides)

    monkeypatch.setattr("sinks.inputs.read_densities", counting_read)
    monkeypatch.setattr(parameters, "load_registry", counting_load)
    run = Run.from_config(load_config(root / "config.yaml"))
    for _ in range(3):
        run.legend, run.densities, run.registry, run.grid
    assert calls == {"densities": 1, "registry": 1}
    assert run.classes(np.dtype("uint8")) is run.classes(np.dtype("uint8"))
    # CLCD codes 1 cropland, 2 forest, 3 shrub, 5 water, 8 impervious: five classes + "no data"
    assert run.classes(np.dtype("uint8")).codes.tolist() == [1, 2, 3, 5, 8]


def test_map_takes_unit_sign_citation_and_valid_range_from_the_registry(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    run = Run.from_config(load_config(root / "config.yaml"))
    data = on_grid(np.zeros(run.grid.shape.yx, dtype="float32"), run.grid)
    m = run.map("sink_potential", data, basis="scenario", model="m", inputs=["x"],
                scenario="afforestation", year=2060)
    spec = OUTPUTS["sink_potential"]
    assert m.path == run.paths.outputs / "sink_potential_afforestation_2060.tif"
    assert (m.unit, m.valid_range, m.nodata) == (spec.unit, spec.valid_range, spec.nodata)
    assert m.tags["citation"] == spec.citation and "Chapman-Richards" in m.tags["citation"]
    assert m.tags["sign_convention"] == spec.sign and m.tags["scenario"] == "true"
    assert m.description.endswith("(SCENARIO)")
    eco = run.map("ecosystem", data.astype("uint8"), basis="observed", model="m", inputs=[], year=2000)
    assert eco.tags["citation"] == "land-cover legend clcd mapped to sinks ecosystem classes"
    assert run.period_basis(2000, 2020) == "observed"

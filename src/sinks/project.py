"""The ``qgis_project`` stage: a QGIS project of every map and GeoPackage the run delivers."""

from __future__ import annotations

from pathlib import Path

from sinks import plan
from sinks.io.outputs import GROUPS, OUTPUTS
from sinks.io.qgis_project import ProjectLayer, write_qgis_project
from sinks.run import Run


def project_layers(run: Run) -> list[ProjectLayer]:
    """The run's output maps and GeoPackages (registry kinds with a QGIS group), in the outputs folder."""
    out = []
    for kind in plan.kinds(run.cfg):
        spec = OUTPUTS[kind]
        if kind in GROUPS and spec.folder == "outputs":
            out += [ProjectLayer(run.paths.output(kind, **f), GROUPS[kind])
                    for f in plan.INSTANCES[spec.each](run.cfg)]
    return out


def qgis_project(run: Run) -> Path:
    """Write ``outputs/project.qgs`` (sinks.io.qgis_project) in the run grid's CRS."""
    out = run.paths.output("qgis_project")
    return write_qgis_project(out, project_layers(run), run.grid.crs.to_wkt(),
                              f"sinks: {run.cfg['run']['name']}")

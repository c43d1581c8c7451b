"""Load a sinks QGIS project with PyQGIS (system Python) and print one JSON line per layer:
name, valid, CRS description, legend item labels. Run: QT_QPA_PLATFORM=offscreen python3 THIS project.qgs"""

import json
import sys

from qgis.core import QgsApplication, QgsLayerTreeModel, QgsProject

app = QgsApplication([], False)
app.initQgis()
project = QgsProject.instance()
assert project.read(sys.argv[1]), f"cannot read {sys.argv[1]}"
model = QgsLayerTreeModel(project.layerTreeRoot())
print(json.dumps({"project_crs": project.crs().description()}))
for node in project.layerTreeRoot().findLayers():
    layer = node.layer()
    legend = [str(n.data(0)) for n in model.layerLegendNodes(node)] if layer else []
    print(json.dumps({"name": node.name(), "group": node.parent().name(), "valid": bool(layer and layer.isValid()),
                      "source": layer.source() if layer else "", "crs": layer.crs().description() if layer else "",
                      "legend": legend}, ensure_ascii=False))
app.exitQgis()

"""COG conformance of the output registry (sinks.io.outputs): every output of a workflow run
opens as QGIS would see it (CRS, dtype, nodata, LAYOUT=COG, overviews, description, unit, tags)."""

from __future__ import annotations

import pytest

from conftest import check_cog
from sinks.io.outputs import OUTPUTS


def test_every_workflow_output_conforms(tmp_path):
    pytest.importorskip("snakemake")
    import shutil
    import subprocess
    import sys

    from conftest import build_tiny
    root = build_tiny(tmp_path)
    res = subprocess.run([sys.executable, "-m", "sinks", "run", "config.yaml", "--cores", "2"],
                         cwd=root, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    out = root / "data/processed/my_county/outputs"
    kinds = {"ecosystem": "ecosystem_", "carbon_stock": "carbon_stock_", "net_sink": "net_sink_",
             **{k: k + "_" for k in OUTPUTS if k.startswith("carbon_") and k != "carbon_stock"}}
    checked = 0
    for tif in sorted(out.glob("*.tif")):
        kind = next(k for k, prefix in kinds.items() if tif.name.startswith(prefix))
        check_cog(tif, kind)
        checked += 1
    assert checked == 3 + 2 * 5
    shutil.rmtree(root / ".snakemake", ignore_errors=True)

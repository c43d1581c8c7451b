"""Strata from rasters (issue 4 item 1): forest growth stratum and IPCC soil class per pixel,
mapped from raster codes by the config, change the gain-loss rates of their pixels only."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from conftest import build_tiny, make_raster, run_tiny_stages
from sinks.errors import MissingClassError
from test_gain_loss import GAIN
from test_workflow import PX_HA

CO2 = 44 / 12
G_GT20 = 1.0 * 1.230 * 0.47  # natural secondary > 20 y: G_W 1.0 x (1 + R 0.230) x CF 0.47 = 0.5781
RAMP_LAC = (55 - 55 * 0.69) / 20   # cropland (paddy_share 0) -> forest on LAC: 0.8525 t C/ha/yr
RAMP_SANDY = (36 - 36 * 0.69) / 20  # the same on sandy soil (SOC_ref 36): 0.558


def _strata(root, soil_codes=None):
    make_raster(root / "forest_strata.tif", np.array([[2, 1, 1, 1], [2, 1, 1, 1], [1, 1, 1, 1]],
                                                     dtype="uint8"), nodata=0)
    make_raster(root / "soil.tif", np.array([[0, 0, 5, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
                                            dtype="uint8"), nodata=0)

    def edit(c):
        c["carbon"].update(method=["stock_difference", "gain_loss"], paddy_share=0.0)
        c["gain_loss"] = {"strata": {
            "forest_growth": {"raster": "forest_strata.tif",
                              "codes": {1: "plantation", 2: "natural_secondary_gt20"}},
            "soil": {"raster": "soil.tif", "codes": soil_codes or {5: "sandy"}}}}
    return edit


def test_strata_rasters_change_the_rates_of_their_pixels(tmp_path, chdir):
    # W zone (2000 -> 2020): forest at 2020 on (0,0), (0,1), (1,0), (1,1); (0,0) and (1,0) are
    # natural > 20 y, the others plantations; the shrub -> forest px loses 7 Mg C/ha over 20 yr.
    # E zone: cropland -> forest on sandy soil (0,2): GAIN - 5/20 + RAMP_SANDY; cropland ->
    # settlement on LAC (1,2): -5/20 + RAMP_LAC; the rest remains (0).
    from sinks import stages

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, _strata(root))
    gl = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.quantity == "net_sink")
            ].set_index("zone_name")["value"]
    assert gl["W"] == pytest.approx((2 * GAIN + 2 * G_GT20 - 7 / 20) * PX_HA * CO2, rel=1e-6)
    assert gl["E"] == pytest.approx((GAIN - 0.25 + RAMP_SANDY - 0.25 + RAMP_LAC) * PX_HA * CO2, rel=1e-6)
    maps = {}
    for chunks in (2048, 1):
        stages.stage_compute_gain_loss(cfg, paths, 2000, 2020, chunks)
        with rasterio.open(paths.output("gain_loss_net", y0=2000, y1=2020)) as src:
            maps[chunks] = src.read(1)
    np.testing.assert_array_equal(maps[2048], maps[1])
    assert maps[1][0, 0] == pytest.approx(G_GT20 * CO2, rel=1e-6)
    assert maps[1][0, 1] == pytest.approx(GAIN * CO2, rel=1e-6)
    assert maps[1][0, 2] == pytest.approx((GAIN - 0.25 + RAMP_SANDY) * CO2, rel=1e-6)
    # The map and the rows agree: sum of value x pixel area = the zone total.
    assert maps[1][:, 2:].sum() * PX_HA == pytest.approx(gl["E"], rel=1e-5)


def test_unmapped_stratum_code_is_refused(tmp_path, chdir):
    import yaml

    from conftest import write_config
    from sinks.checks import validate_inputs
    from sinks.config import load_config

    root = chdir(build_tiny(tmp_path))
    edit = _strata(root, soil_codes={7: "HAC"})
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    edit(cfg)
    write_config(root / "config.yaml", cfg)
    with pytest.raises(MissingClassError, match=r"soil.tif: codes \[5\] are not in gain_loss.strata.soil.codes"):
        validate_inputs(load_config(root / "config.yaml"))

"""Gain-loss rate tables (sinks.methods.gain_loss.rates): batched registry draws equal one-by-one
draws, the climate-zone registry ids, and the schema levels of the strata."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import build_tiny, perennial_case, strata_case, write_config
from sinks.config import load_config
from sinks.methods.gain_loss import rates as rate_tables
from sinks.parameters import load_registry, registry_draws
from sinks.paths import run_paths
from sinks.run import Run


def _cfg_of(root, edit):
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    edit(cfg)
    write_config(root / "config.yaml", cfg)
    return load_config(root / "config.yaml")


@pytest.mark.parametrize("case", ["strata", "perennial"])
def test_batched_registry_draws_equal_one_by_one(tmp_path, chdir, case):
    # The gain-loss rates broadcast over a leading draw axis: a batch of Monte Carlo draws gives
    # exactly the rates of the same draws one at a time (strata with a climate raster and
    # management; perennial crops with uncertain rate and cycle over three epochs, so the
    # history tables carry the drawn SOC factors and growth).
    root = chdir(build_tiny(tmp_path))
    if case == "strata":
        edit = strata_case(root)
    else:
        base = perennial_case(root, [2000, 2006, 2031])

        def edit(c):
            base(c)
            c["parameters"] = {"perennial_agb_rate": {"value": 2.1, "sd": 0.5, "source": "test"},
                               "perennial_cycle": {"value": 30, "sd": 5, "source": "test"}}
    cfg = _cfg_of(root, edit)
    cc = Run(cfg, run_paths(cfg)).classes(np.dtype("uint8"))
    y0, y1 = (2000, 2020) if case == "strata" else (2006, 2031)
    reg = load_registry(cfg["parameters"])
    one = [rate_tables.gain_loss_rate_vectors(Run(cfg, run_paths(cfg)), cc, y0, y1, d) for d in registry_draws(reg, 40, 3)]
    batch = [rate_tables.gain_loss_rate_vectors(Run(cfg, run_paths(cfg)), cc, y0, y1, d) for d in registry_draws(reg, 40, 3, batch=16)]
    for key in one[0]:
        np.testing.assert_allclose(np.concatenate([b[key] for b in batch]),
                                   np.stack([o[key] for o in one]), rtol=1e-12, atol=1e-12)
    assert np.stack([o["net"] for o in one]).std(axis=0).max() > 0  # the draws do vary the rates


def test_zonal_registry_ids_exist():
    from sinks.methods.gain_loss.rates import CLIMATE_ZONES, ZONAL_IDS, zone_id

    reg = load_registry()
    for zone in CLIMATE_ZONES:
        assert {zone_id(pid, zone) for pid in ZONAL_IDS} <= set(reg.index)
    assert zone_id("f_i_high_manure", "tropical_moist") == "f_i_high_manure"  # one value, both zones


def test_schema_levels_match_the_stratum_classes():
    from sinks.config import schema
    from sinks.methods.gain_loss.rates import CLIMATE_ZONES, INPUTS, STRATUM_CLASSES, TILLAGE

    gl = schema()["properties"]["gain_loss"]["properties"]
    assert (gl["climate_zone"]["enum"], gl["tillage"]["enum"], gl["input"]["enum"]) == (
        list(CLIMATE_ZONES), list(TILLAGE), list(INPUTS))
    for kind, levels in STRATUM_CLASSES.items():
        assert gl["strata"]["properties"][kind]["properties"]["codes"]["additionalProperties"]["enum"] == levels

"""Densities built from shared parameters (sinks.density_model): shared errors stay shared in
Approach 1 and in the Monte Carlo, and the gain-loss conversion losses use the same draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import build_tiny, write_config
from sinks.config import load_config
from sinks.density_model import density_model
from sinks.errors import InputDataError
from sinks.methods.gain_loss.rates import class_biomass
from sinks.parameters import load_registry, registry_draws
from sinks.paths import run_paths
from sinks.propagation import registry_seed
from sinks.run import Run

SD_SOC_REF = 55 * 8 / 196  # soc_ref_lac: 55 t C/ha, +/-8 % as 95 % CI (2019 Table 2.3)
SD_F_PADDY = 1.35 * 4 / 200  # f_lu_paddy: 1.35, +/-4 % as 2 SD (2019 Table 5.5)


@pytest.fixture
def builtin_run(tmp_path, chdir):
    """The tiny case on the built-in Jiangxi density table (IGBP legend)."""
    root = chdir(build_tiny(tmp_path))
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    cfg["carbon"] = {"densities": "jiangxi_default", "paddy_share": 0.5}
    cfg["landcover"]["legend"] = "igbp"
    cfg["uncertainty"] = {"approaches": ["approach1", "monte_carlo"], "n_draws": 20000, "seed": 3}
    write_config(root / "config.yaml", cfg)
    cfg = load_config(root / "config.yaml")
    return Run(cfg, run_paths(cfg), 2048)


def _row(model, cls, pool):
    return model.keys.index((cls, pool))


def test_shrub_to_forest_soil_change_has_no_variance(builtin_run):
    # Forest and shrub SOC are both soc_ref_lac x F = 1 (one parameter): their difference is 0
    # in every draw, and its Approach 1 sd is 0; each alone keeps the SOC_ref sd.
    model = builtin_run.density_model
    c = np.zeros(len(model.keys))
    c[_row(model, "forest", "soc")], c[_row(model, "shrub", "soc")] = 1.0, -1.0
    loadings, _ = model.loadings()
    assert np.sqrt(((c @ loadings) ** 2).sum()) == pytest.approx(0.0, abs=1e-9)
    draws = model.draws(2000, 3)
    assert np.abs(draws @ c).max() == pytest.approx(0.0, abs=1e-9)
    forest = draws[:, _row(model, "forest", "soc")]
    assert forest.std() == pytest.approx(SD_SOC_REF, rel=0.05)
    assert np.sqrt((loadings[_row(model, "forest", "soc")] ** 2).sum()) == pytest.approx(SD_SOC_REF, rel=1e-6)


def test_province_soc_variance_is_the_fully_correlated_hand_sum(builtin_run):
    # 100 ha forest + 50 ha shrub + 20 ha paddy: SOC = 55 (100 + 50) + 74.25 x 20; by Eq. 3.2
    # with full correlation, d/d SOC_ref = 100 + 50 + 20 x 1.35 = 177 and d/d F_LU = 20 x 55,
    # so sd = sqrt((177 sd_ref)^2 + (1100 sd_F)^2), not the independent sqrt(Σ (a sd)^2).
    model = builtin_run.density_model
    c = np.zeros(len(model.keys))
    for cls, area in (("forest", 100.0), ("shrub", 50.0), ("cropland_paddy", 20.0)):
        c[_row(model, cls, "soc")] = area
    hand = np.hypot(177 * SD_SOC_REF, 1100 * SD_F_PADDY)
    loadings, _ = model.loadings()
    assert np.sqrt(((c @ loadings) ** 2).sum()) == pytest.approx(hand, rel=1e-6)
    independent = np.sqrt((100 * SD_SOC_REF) ** 2 + (50 * SD_SOC_REF) ** 2
                          + (20 * np.hypot(55 * SD_F_PADDY, 1.35 * SD_SOC_REF)) ** 2)
    assert hand > 1.3 * independent  # what drawing them apart understated
    draws = model.draws(20000, 3) @ c
    assert draws.std() == pytest.approx(hand, rel=0.03)


def test_bgb_and_dead_follow_the_agb_they_derive_from(builtin_run):
    # forest BGB = R x AGB and DOM = 0.07 x AGB: in every draw BGB / AGB is the R draw, so the
    # correlation of AGB and BGB is high (R's own ±90 % keeps it below 1).
    model = builtin_run.density_model
    d = model.draws(20000, 3)
    agb, bgb, dead = (d[:, _row(model, "forest", p)] for p in ("agb", "bgb", "dead"))
    r = next(registry_draws(builtin_run.registry, 20000, 3 + 1, batch=20000)).values["root_shoot_plantation"]
    np.testing.assert_allclose(bgb, agb * r, rtol=1e-12)
    assert np.corrcoef(agb, bgb)[0, 1] > 0.7 and np.corrcoef(agb, dead)[0, 1] > 0.7


def test_gain_loss_conversion_losses_use_the_same_density_draws(builtin_run):
    # The biomass a conversion loses is drawn with the densities: in a batch of registry draws
    # (iterations 512..1023) class_biomass is the density draws of those iterations.
    run = builtin_run
    cc = run.classes(np.dtype("uint8"))
    params = run.density_parameters(cc)
    batches = registry_draws(run.registry, 1024, registry_seed(run.cfg), batch=512)
    next(batches)
    second = next(batches)
    got = class_biomass(run, cc, second)
    pools = [0, 1, 2]  # agb, bgb, dead
    want = params.draws(1024, run.cfg["uncertainty"]["seed"])[512:] @ params.weights[:, pools, :].sum(axis=1).T
    np.testing.assert_allclose(got, want, rtol=1e-12)
    forest = cc.table_keys.index("forest")
    assert got[:, forest].std() > 5.0  # AGB ±60 %, with R and DOM: no longer held fixed
    # and the table's values outside a draw
    np.testing.assert_allclose(class_biomass(run, cc, run.registry),
                               sum(cc.density[p] for p in ("agb", "bgb", "dead")))


@pytest.mark.parametrize("derived, message", [
    ({("a", "soc"): ["no_such_parameter"]}, "not a registry id"),
    ({("a", "soc"): ["b/agb"]}, "no such row"),
    ({("a", "agb"): ["a/soc"], ("a", "soc"): ["a/agb"]}, "cycle"),
    ({("a", "soc"): ["soc_ref_lac", "f_lu_paddy"]}, "make the value the product"),
])
def test_bad_derivations_name_the_row(derived, message):
    dist = {("a", "agb"): {"dist": "normal", "mean": 10.0, "sd": 1.0},
            ("a", "soc"): {"dist": "constant", "value": 55.0}}
    values = pd.DataFrame({"agb": [10.0], "soc": [55.0]}, index=["a"])
    with pytest.raises(InputDataError, match=message) as err:
        density_model(dist, derived, load_registry(), values, ["agb", "soc"], "dens.csv")
    assert str(err.value).startswith("dens.csv: ") and "a/" in str(err.value)


def test_a_consistent_derivation_is_accepted():
    dist = {("a", "soc"): {"dist": "constant", "value": 74.25}}
    values = pd.DataFrame({"soc": [74.25]}, index=["a"])
    model = density_model(dist, {("a", "soc"): ["soc_ref_lac", "f_lu_paddy"]}, load_registry(),
                          values, ["soc"], "dens.csv")
    loadings, names = model.loadings()
    assert names == ["f_lu_paddy", "soc_ref_lac"]
    np.testing.assert_allclose(loadings[0], [55 * SD_F_PADDY, 1.35 * SD_SOC_REF], rtol=1e-6)

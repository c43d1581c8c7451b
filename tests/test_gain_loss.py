"""Gain-loss method, soil carbon and the parameter registry (issue 4): equations against hand
computations and a published IPCC worked example; the workflow's gain-loss tables and maps on
the tiny case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import build_tiny, run_tiny_stages
from sinks.errors import ConfigError
from sinks.models.gain_loss import annual_soc_change, biomass_gain, soc_stock, transition_rates
from sinks.parameters import load_registry, registry_table, spec, value
from test_workflow import PX_HA
from sinks.methods.gain_loss.maps import compute_gain_loss
from sinks.methods.gain_loss.maps import map_gain_loss_uncertainty
from sinks.methods.potential.maps import map_potential
from sinks.paths import run_paths
from sinks.run import Run

# Plantation gain, Eq. 2.9-2.10: G_W 8 t d.m./ha/yr x (1 + R 0.224) x CF 0.47 = 4.60224 t C/ha/yr.
GAIN = 8 * 1.224 * 0.47


def test_biomass_gain_eq_2_9_2_10():
    assert biomass_gain(8, 0.224, 0.47) == pytest.approx(4.60224)


def test_soc_eq_2_25_ipcc_worked_example():
    # IPCC 2019 Refinement Vol.4 Ch.4 worked example (Ultisol, tropical moist, cropland):
    # SOC = 47 x 0.48 x 1 x 0.92 = 20.7552 t C/ha (SOC_ref LAC 47, F_LU long-term cultivated
    # 0.48, F_MG full tillage 1, F_I low 0.92; quoted in shared/reference/parameters.md).
    assert soc_stock(47, 0.48, 1.0, 0.92) == pytest.approx(20.7552)
    # Its change over the default D = 20 yr from the forest reference 47: (20.7552 - 47) / 20.
    assert annual_soc_change(47, 20.7552, years=5) == pytest.approx(-1.31224)
    # A period longer than D spreads the change over the period instead.
    assert annual_soc_change(47, 20.7552, years=40) == pytest.approx(-26.2448 / 40)


def test_transition_rates_hand_computed():
    # Classes: 0 forest (biomass 40, SOC 55), 1 cropland (5, 37.95), 2 water (0, no soil).
    rates = transition_rates(np.array([True, False, False]), np.array([40.0, 5.0, 0.0]),
                             np.array([55.0, 37.95, 0.0]), np.array([True, True, False]),
                             gain=GAIN, wood_removals=1.0, years=10)
    net, rem, emi = rates["net"], rates["removals"], rates["emissions"]
    assert net[0, 0] == pytest.approx(GAIN - 1.0)                     # growth - harvest
    assert rem[0, 0] == pytest.approx(GAIN) and emi[0, 0] == pytest.approx(1.0)
    # forest -> cropland: biomass (5 - 40) / 10 yr and soil (37.95 - 55) / 20 yr
    assert net[0, 1] == pytest.approx(-3.5 - 0.8525)
    # cropland -> forest: new stand grows from 0; cropland biomass lost; soil recovers
    assert net[1, 0] == pytest.approx(GAIN - 0.5 + 0.8525)
    assert net[1, 2] == pytest.approx(-0.5)                           # no soil under water
    assert net[1, 1] == 0 and net[2, 2] == 0                          # Tier 1: no change
    np.testing.assert_allclose(net, rem - emi)


def test_registry_units_overrides_and_unconfirmed():
    reg = load_registry()
    assert reg.loc["soc_ref_lac", "sd"] == pytest.approx(55 * 8 / 196)      # +/-8 % as 95 % CI
    assert reg.loc["f_lu_paddy", "sd"] == pytest.approx(1.35 * 4 / 200)     # +/-4 % as 2 SD
    assert spec(reg, "gw_natural_secondary_le20") == {"dist": "truncated_normal", "mean": 2.5,
                                                      "sd": 0.8, "low": 0.0, "high": None}
    with pytest.raises(ConfigError, match="UNCONFIRMED"):
        value(reg, "litter_stock_subtropical")
    reg = load_registry({"litter_stock_subtropical": {"value": 0.7, "sd": 0.1, "source": "plots"}})
    assert value(reg, "litter_stock_subtropical") == 0.7
    with pytest.raises(ConfigError, match="did you mean 'carbon_fraction'"):
        load_registry({"carbon_fracton": 0.5})
    with pytest.raises(ConfigError, match="must be a number"):
        load_registry({"carbon_fraction": "half"})
    assert {"id", "value", "unit", "sd", "status", "source"} <= set(registry_table(reg).columns)


def test_registry_rejects_a_unit_of_the_wrong_kind():
    from sinks.parameters import _check_unit
    with pytest.raises(ConfigError, match="not a growth"):
        _check_unit("gw", "t/ha", "growth")


def test_gain_loss_tables_maps_and_reconciliation_on_tiny_case(tmp_path, chdir):
    # W zone, 2000 -> 2020 (20 yr): 3 px forest -> forest, 1 px shrub -> forest, 1 px shrub
    # remaining, 1 px settlement remaining. Gain on the 4 forest px; the shrub -> forest px
    # loses its shrub biomass (InVEST table: 2 + 5 + 0 = 7 Mg C/ha) over 20 yr; soils: shrub and
    # forest both LAC reference x 1, no change. Net = (4 x 4.60224 - 7/20) px-ha x 44/12 per yr.

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, lambda c: c["carbon"].update(method=["stock_difference", "gain_loss"]))
    compute_gain_loss(Run(cfg, paths), 2000, 2020)
    gl = df[(df.method == "gain_loss") & (df.ecosystem == "all")].set_index(["zone_name", "quantity"])["value"]
    expected = (4 * GAIN - 7 / 20) * PX_HA * 44 / 12
    assert gl[("W", "net_sink")] == pytest.approx(expected, rel=1e-6)
    assert gl[("W", "gross_removals")] - gl[("W", "gross_emissions")] == pytest.approx(expected, rel=1e-6)
    # Monte Carlo of the registry parameters: G = G_W (1 + R) CF with relative sds 3.6/8 (G_W,
    # +/-90 % as 2 SD), 0.1008/1.224 (1 + R) and 0.01276/0.47 (CF): sqrt(0.2025 + 0.0068 +
    # 0.0007) = 0.458 of the 4 x G growth term (the truncation of G_W at 0 is negligible here).
    row = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.zone_name == "W")
             & (df.quantity == "net_sink")].iloc[0]
    assert row.sd == pytest.approx(0.458 * 4 * GAIN * PX_HA * 44 / 12, rel=0.1)
    assert row.uncertainty_approach.startswith("IPCC Approach 2")
    out = tmp_path / "data/processed/my_county/outputs"
    with rasterio.open(out / "gain_loss_net_2000_2020.tif") as src:
        net = src.read(1)
    assert net[0, 0] == pytest.approx(GAIN * 44 / 12, rel=1e-6)          # forest remaining forest
    # Per-pixel uncertainty maps from the same registry draws: a forest-remaining-forest pixel's
    # sd is 0.458 of its rate (as the row above); a settlement pixel that stays has rate 0, sd 0.
    from test_outputs import check_cog
    written = map_gain_loss_uncertainty(Run(cfg, paths), 2000, 2020)
    with rasterio.open(out / "gain_loss_net_2000_2020_sd.tif") as src:
        sd = src.read(1)
    assert sd[0, 0] == pytest.approx(0.458 * GAIN * 44 / 12, rel=0.1)
    assert sd[2, 0] == 0
    with rasterio.open(out / "gain_loss_net_2000_2020_p2_5.tif") as lo, \
            rasterio.open(out / "gain_loss_net_2000_2020_p97_5.tif") as hi:
        assert lo.read(1)[0, 0] < net[0, 0] < hi.read(1)[0, 0]
    check_cog(written[0], "gain_loss_net_sd")
    comp = pd.read_csv(out / "method_comparison.csv").set_index("zone_name")
    assert comp.loc["W", "difference"] == pytest.approx(comp.loc["W", "gain_loss"] - comp.loc["W", "stock_difference"])
    assert comp.loc["W", "gain_loss"] == pytest.approx(expected, rel=1e-6)


def test_gain_loss_rows_approach1_first_order(tmp_path, chdir):
    # Approach 1 alone: first-order propagation (IPCC 2006 Vol.1 Eq. 3.1 for the product
    # G_W (1 + R) CF): relative sds 3.6/8 = 0.45, 0.1008/1.224 = 0.082353, 0.012755/0.47 =
    # 0.027139 -> sqrt(0.2025 + 0.0067820 + 0.00073652) = 0.458279 of zone W's 4 x G growth term
    # (its other term, the shrub biomass lost, uses the fixed densities).
    root = chdir(build_tiny(tmp_path))
    _, _, df = run_tiny_stages(root, lambda c: (
        c["carbon"].update(method=["stock_difference", "gain_loss"]),
        c.update(uncertainty={"approaches": ["approach1"]})))
    row = df[(df.method == "gain_loss") & (df.ecosystem == "all") & (df.zone_name == "W")
             & (df.quantity == "net_sink")].iloc[0]
    assert row.sd == pytest.approx(0.458279 * 4 * GAIN * PX_HA * 44 / 12, rel=1e-4)
    assert row.ci_high - row.value == pytest.approx(1.96 * row.sd)
    assert row.uncertainty_approach.startswith("IPCC Approach 1")


def test_chapman_richards_potential_hand_computed():
    from sinks.models.potential import annual_removal, chapman_richards
    # B(10) = 160 (1 - e^-0.8)^2.5 = 160 x 0.550671^2.5 = 160 x 0.225025 = 36.0040 t d.m./ha
    assert chapman_richards(10, 160, 0.08, 2.5) == pytest.approx(36.00398, rel=1e-6)
    # B(11) = 160 x 0.585217^2.5 = 41.9192; increment 5.91517 t d.m./ha/yr
    # x (1 + 0.224) x 0.47 x 44/12 = 12.4772 t CO2/ha/yr
    assert annual_removal(10, 160, 0.08, 2.5, 0.224, 0.47) == pytest.approx(12.47722, rel=1e-5)
    assert chapman_richards(500, 160, 0.08, 2.5) == pytest.approx(160)  # saturation


def test_potential_rows_on_tiny_case(tmp_path, chdir):
    # Last epoch 2020: zone W has 4 forest px and 1 shrub px. Target 2030, age 15 at 2020:
    # business as usual = 4 px x annual_removal(25); afforestation adds 1 shrub px x
    # annual_removal(9) (planted in 2020, its 10th year of growth in 2030).
    from sinks.models.potential import annual_removal

    def edit(c):
        c["potential"] = {"enabled": True, "target_years": [2030], "current_age": 15}
        c["parameters"] = {"cr_bmax_plantation": {"value": 160, "sd": 16}, "cr_k_plantation": 0.08,
                           "cr_p_plantation": 2.5}

    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, edit)
    pot = df[(df.quantity == "sink_potential") & (df.zone_name == "W") & (df.ecosystem == "all")]
    pot = pot.set_index("method")["value"]
    bau = 4 * PX_HA * annual_removal(25, 160, 0.08, 2.5, 0.224, 0.47)
    assert pot["potential_business_as_usual"] == pytest.approx(bau, rel=1e-9)
    assert pot["potential_protection"] == pytest.approx(bau, rel=1e-9)  # no removals set
    assert pot["potential_afforestation"] == pytest.approx(
        bau + PX_HA * annual_removal(9, 160, 0.08, 2.5, 0.224, 0.47), rel=1e-9)
    # Monte Carlo interval: the rate is B_max x f(k, p, age) x (1 + R) x CF x 44/12, a product of
    # independent factors with relative sds 16/160 (B_max, given), 0.1008/1.224 (1 + R: +/-90 %
    # as 2 SD of 0.224) and 0.012755/0.47 (CF: 95 % range 0.44-0.49 / 3.92), so its relative sd is
    # sqrt(1.01 x 1.006782 x 1.000737 - 1) = 0.1326 (Monte Carlo sampling error ~2 % at 2000 draws).
    row = df[(df.method == "potential_business_as_usual") & (df.zone_name == "W")
             & (df.ecosystem == "all")].iloc[0]
    assert row.sd == pytest.approx(0.1326 * bau, rel=0.05)
    assert row.ci_low < bau < row.ci_high
    assert row.uncertainty_approach.startswith("IPCC Approach 2")
    # Maps: a forest pixel holds the per-hectare rate, a shrub pixel the planted rate.
    from test_outputs import check_cog
    maps = map_potential(Run(cfg, paths))
    assert len(maps) == 3  # three scenarios x one target year
    out = tmp_path / "data/processed/my_county/outputs"
    with rasterio.open(out / "sink_potential_afforestation_2030.tif") as src:
        m = src.read(1)
    assert m[0, 0] == pytest.approx(annual_removal(25, 160, 0.08, 2.5, 0.224, 0.47), rel=1e-6)
    assert m[2, 1] == pytest.approx(annual_removal(9, 160, 0.08, 2.5, 0.224, 0.47), rel=1e-6)
    check_cog(maps[0], "sink_potential")


def _cfg_of(root, edit):
    import yaml

    from conftest import write_config
    from sinks.config import load_config
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
    import numpy as np

    from sinks.methods.gain_loss import rates as rate_tables
    from sinks.parameters import load_registry, registry_draws
    from test_perennial import _perennial
    from test_strata import _strata

    root = chdir(build_tiny(tmp_path))
    if case == "strata":
        edit = _strata(root)
    else:
        base = _perennial(root, [2000, 2006, 2031])

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

"""Forest formulas against hand-computed numbers (sinks.forest.models, rates, projection)."""

from __future__ import annotations

import numpy as np
import pytest

from sinks.forest import models as fm
from sinks.forest.projection import Cohort, age_in, cohort_sink, rotation_age
from sinks.forest.rates import removals_per_ha, stratum_values
from sinks.forest.tables import Stratum, age_bounds, load_shares
from sinks.parameters import RegistryDraw, load_registry

FIR = {"fang_a_chinese_fir": 0.4, "fang_b_chinese_fir": 20.0, "yield_vmax_chinese_fir": 200.0,
       "yield_k_chinese_fir": 0.1, "yield_p_chinese_fir": 2.0}


def registry(**extra):
    """The registry with the Chinese fir parameters (and ``extra``) given, CF 0.5."""
    values = {**FIR, "carbon_fraction": 0.5, "harvest_timber_volume": 0.0, "harvest_fuelwood_volume": 0.0,
              "disturbance_area": 0.0, "disturbance_fd": 1.0, **extra}
    return load_registry({k: {"value": v, "source": "test"} for k, v in values.items()})


def test_fang_biomass_bef_and_split_by_hand():
    # B = 0.3999 x 100 + 22.541 = 62.531 t/ha; BEF = 0.62531 t/m3; R 0.224 splits 51.0874 / 11.4436
    assert fm.fang_biomass(100, 0.3999, 22.541) == pytest.approx(62.531)
    assert fm.fang_biomass(0, 0.3999, 22.541) == 0.0  # no stand, no biomass
    assert fm.bef(100, 0.3999, 22.541) == pytest.approx(0.62531)
    agb, bgb = fm.split_biomass(62.531, 0.224)
    assert (agb, bgb) == (pytest.approx(51.08742), pytest.approx(11.44358, rel=1e-5))


def test_yield_curve_and_growth_by_hand():
    # V(20) = 200 (1 - e^-2)^2 = 149.529; dV/dt = 200 x 2 x 0.1 x e^-2 (1 - e^-2) = 4.680786
    assert fm.richards_volume(20, 200, 0.1, 2) == pytest.approx(149.5290, rel=1e-6)
    assert fm.richards_increment(20, 200, 0.1, 2) == pytest.approx(4.680786, rel=1e-6)
    # gain = a x I_V x CF = 0.4 x 4.680778 x 0.5
    assert fm.growth_carbon(4.680786, 0.4, 0.5) == pytest.approx(0.9361572)


def test_removals_and_disturbance_by_hand():
    # 1000 m3 from stands of 150 m3/ha: 1000 x (0.3999 + 22.541 / 150) x 0.47 = 258.581 t C
    assert fm.removals_carbon(1000, 150, 0.3999, 22.541, 0.47) == pytest.approx(258.5813, rel=1e-6)
    # 10 ha of 60 t/ha, all lost: 10 x 60 x 1 x 0.47
    assert fm.disturbance_carbon(10, 60, 1.0, 0.47) == pytest.approx(282.0)


def test_age_classes_by_the_bounds():
    bounds = (10, 20, 25, 35)
    got = fm.age_class([5, 10, 11, 25, 26, 35, 36], bounds)
    assert list(got) == ["young", "young", "middle", "near_mature", "mature", "mature", "over_mature"]
    assert [fm.class_age(bounds, a) for a in fm.AGE_CLASSES] == [5.5, 15.5, 23.0, 30.5, 40.0]
    assert len(age_bounds("chinese_fir", "planted")) == 4


def test_stratum_values_by_hand():
    reg = registry()
    s = Stratum("chinese_fir", "planted", "young")  # age 5.5 for bounds (10, 20, 25, 35)
    v = stratum_values(reg, s)
    age = fm.class_age(age_bounds("chinese_fir", "planted"), "young")
    vol = 200 * (1 - np.exp(-0.1 * age)) ** 2
    inc = 200 * 2 * 0.1 * np.exp(-0.1 * age) * (1 - np.exp(-0.1 * age))
    r = float(reg.loc["root_shoot_plantation", "value"])
    assert v.volume == pytest.approx(vol)
    assert v.gain_c == pytest.approx(0.4 * inc * 0.5)
    assert v.agb_c + v.bgb_c == pytest.approx((0.4 * vol + 20) * 0.5)
    assert v.bgb_c / v.agb_c == pytest.approx(r)


def test_harvest_goes_to_mature_stands_and_fuelwood_to_all():
    reg = registry(harvest_timber_volume=1000.0, harvest_fuelwood_volume=300.0)
    strata = [Stratum("chinese_fir", "planted", "young"), Stratum("chinese_fir", "planted", "mature")]
    areas = np.array([20.0, 10.0])
    values = [stratum_values(reg, s) for s in strata]
    got = removals_per_ha(reg, strata, areas, values)
    per_m3 = [(0.4 + 20.0 / float(v.volume)) * 0.5 for v in values]
    # fuelwood 300 m3 over 30 ha of stands = 10 m3/ha each; timber 1000 m3 over the 10 ha mature
    assert got[0] == pytest.approx(10 * per_m3[0])
    assert got[1] == pytest.approx((10 + 100) * per_m3[1])
    # the carbon removed adds up to the statistics x BEF
    assert float(got @ areas) == pytest.approx(200 * per_m3[0] + 100 * per_m3[1] + 1000 * per_m3[1])


def test_rotation_harvest_of_a_cohort_by_hand():
    s = Stratum("chinese_fir", "planted", "near_mature")
    r = rotation_age(s)  # first mature age
    assert r == age_bounds("chinese_fir", "planted")[2] + 1
    c = Cohort(s, int(r) - 2, 1.0)
    assert age_in(c, 1, harvest=True) == (r - 1, False)
    assert age_in(c, 2, harvest=True) == (0, True)  # felled at the start of the year it reaches r
    assert age_in(c, 3, harvest=True) == (1, False)
    assert age_in(c, 2, harvest=False) == (r, False)
    assert rotation_age(Stratum("chinese_fir", "natural", "mature")) == np.inf  # natural: no logging
    reg = registry()
    # felled year: growth from age 0 to 1 minus the felled stand's biomass a V(r) + b, x CF
    v = lambda t: 200 * (1 - np.exp(-0.1 * t)) ** 2  # noqa: E731
    want = 0.4 * (v(1) - v(0)) * 0.5 - (0.4 * v(r) + 20) * 0.5
    assert cohort_sink(reg, [c], 2, harvest=True) == pytest.approx(want)
    assert cohort_sink(reg, [c], 2, harvest=False) == pytest.approx(0.4 * (v(r + 1) - v(r)) * 0.5)


def test_shares_table_checks(tmp_path):
    from sinks.errors import InputDataError
    bad = tmp_path / "s.csv"
    bad.write_text("zone_id,forest_type,origin,age_class,share\n*,fir,planted,young,1\n")
    with pytest.raises(InputDataError, match=r"forest_type value\(s\) \['fir'\]"):
        load_shares(bad)
    bad.write_text("zone_id,forest_type,origin,age_class,share\n*,chinese_fir,planted,young,0.6\n")
    with pytest.raises(InputDataError, match="do not sum to 1"):
        load_shares(bad)
    ok = tmp_path / "ok.csv"
    ok.write_text("zone_id,forest_type,origin,age_class,share\n*,chinese_fir,planted,young,0.6\n"
                  "*,bamboo,planted,none,0.4\n")
    assert load_shares(ok)["share"].tolist() == [0.6, 0.4]


def test_allocation_of_shares_to_pixels():
    from sinks.methods.forest.maps import _allocate, pixel_uniform
    cum = np.array([[0.0, 0.0], [0.5, 1.0]])  # zone 0: no shares; zone 1: half and half
    zone = np.array([[1, 1, 1, 0]])
    u = np.array([[0.3, 0.7, 0.1, 0.5]])
    forest = np.array([[True, True, False, True]])
    assert _allocate(zone, u, forest, cum).tolist() == [[1, 2, 0, 0]]
    # the per-pixel numbers do not depend on the chunking, and are uniform
    a = pixel_uniform((300, 300), 7, (300, 300)).compute()
    b = pixel_uniform((300, 300), 7, (64, 50)).compute()
    assert np.array_equal(a, b)
    assert abs(a.mean() - 0.5) < 0.01 and 0 <= a.min() and a.max() < 1

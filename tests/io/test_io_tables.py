"""Tables (sinks.io.tables): the default Jiangxi density table against its cited sources (hand
arithmetic), and the built-in and CSV legends."""

from __future__ import annotations

import pandas as pd
import pytest

from sinks.io.tables import builtin_densities_path, read_densities, read_legend
from sinks.landcover import ECOSYSTEM_CODES

CF = 0.47  # IPCC 2006 Vol.4 Ch.4 Table 4.3


@pytest.fixture(scope="module")
def table():
    return read_densities(builtin_densities_path())


def test_forest_values_follow_the_cited_ipcc_tables(table):
    v = table.values
    # Table 4.8 (2019), Asia coniferous plantation <20 y: 63.18 t d.m./ha x CF 0.47 = 29.6946
    assert v.loc["forest", "agb"] == pytest.approx(63.18 * 0.47, abs=1e-4)
    # Table 4.4 (2019) planted conifer R = 0.224: BGB = 29.6946 x 0.224 = 6.6516
    assert v.loc["forest", "bgb"] == pytest.approx(63.18 * 0.47 * 0.224, abs=1e-4)
    # SOC_ref warm temperate moist LAC (2019 Table 2.3) = 55; forest F = 1
    assert v.loc["forest", "soc"] == 55


def test_soil_factors_follow_table_5_5(table):
    v = table.values
    assert v.loc["cropland_paddy", "soc"] == pytest.approx(55 * 1.35)    # 74.25
    assert v.loc["cropland_upland", "soc"] == pytest.approx(55 * 0.69)   # 37.95
    assert v.loc["wetland", "soc"] == 135                                # 2019 Table 2.3 wetland
    sd = table.meta.loc[("cropland_paddy", "soc"), "sd"]
    # Eq. 3.1: U = sqrt(U_SOCref^2 + U_FLU^2) with U_SOCref = 8/1.96 % and U_FLU = 4/2 % (as 1 SD)
    assert sd == pytest.approx(74.25 * ((8 / 196) ** 2 + (4 / 200) ** 2) ** 0.5, rel=1e-3)


def test_forest_vegetation_density_is_in_the_jiangxi_inventory_range(table):
    # parameters.md 6.2: Jiangxi forest vegetation carbon density 26.27 (Li et al. 2011) to
    # 44.23 Mg C/ha (CFI plots); the default (AGB + BGB + DOM) must fall in that range.
    v = table.values.loc["forest"]
    assert 26.27 <= v["agb"] + v["bgb"] + v["dead"] <= 44.23


def test_every_value_has_unit_source_status_and_unconfirmed_is_labelled(table):
    meta = table.meta.reset_index()
    assert (meta["unit"] == "Mg C ha-1").all()
    assert meta["source"].str.len().min() > 20
    assert set(meta["status"]) <= {"C1", "C2", "C3", "UNCONFIRMED"}
    # placeholders named as such are UNCONFIRMED
    assert (meta[meta["source"].str.contains("PLACEHOLDER")]["status"] == "UNCONFIRMED").all()
    assert set(table.values.index) == set(ECOSYSTEM_CODES) - {"cropland"}


def test_builtin_legends_cover_their_products():
    assert sorted(read_legend("igbp")) == list(range(17))
    assert read_legend("igbp")[8] == "forest" and read_legend("igbp")[9] == "shrub"
    assert read_legend("clcd") == {1: "cropland", 2: "forest", 3: "shrub", 4: "grassland", 5: "water",
                                   6: "other", 7: "other", 8: "settlement", 9: "wetland"}
    assert read_legend("worldcover")[10] == "forest"


def test_csv_legend(tmp_path):
    p = tmp_path / "legend.csv"
    pd.DataFrame({"code": [1, 2], "ecosystem": ["forest", "cropland_paddy"]}).to_csv(p, index=False)
    assert read_legend(str(p)) == {1: "forest", 2: "cropland_paddy"}

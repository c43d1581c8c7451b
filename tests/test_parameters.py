"""The parameter registry (sinks.parameters, issue 4): units, sds from the cited ranges,
overrides and UNCONFIRMED values."""

from __future__ import annotations

import pytest

from sinks.errors import ConfigError
from sinks.parameters import load_registry, registry_table, spec, value


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

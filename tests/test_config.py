"""The config (sinks.config): the README's reference generated from the schema, and the biomass
and imagery sections' errors, each one line."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO, build_tiny, write_config
from sinks.config import load_config
from sinks.errors import ConfigError


def test_config_readme_is_generated_from_the_schema():
    from sinks.config import schema_reference
    text = (REPO / "config/README.md").read_text()
    assert schema_reference() in text


@pytest.mark.parametrize("biomass, imagery, expect", [
    ({"years": [2000, 2020], "features": {"ndvi": {2000: "a.tif"}}}, {},
     "biomass.features.ndvi has no source for 2020"),
    ({"features": {"ndvi": "index:NDVI"}}, {}, "needs imagery.scenes.2000"),
    ({"years": [2020], "features": {"ndvi": "a.tif"}}, {}, "including biomass.year 2000"),
    ({"features": {"ndvi": "a.tif"}}, {"scenes": {2010: [{"path": "s.tif"}]}},
     "imagery.scenes.2010: not an epoch year"),
])
def test_biomass_and_imagery_config_errors_are_one_line(tmp_path, biomass, imagery, expect):
    root = build_tiny(tmp_path)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    cfg["biomass"] = {"enabled": True, "year": 2000, **biomass}
    cfg["imagery"] = imagery
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match=expect) as err:
        load_config(root / "config.yaml")
    assert "\n" not in str(err.value)


def test_max_draws_below_n_draws_is_an_error(tmp_path):
    root = build_tiny(tmp_path)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    cfg["uncertainty"] = {**cfg.get("uncertainty", {}), "n_draws": 4000, "max_draws": 2000}
    write_config(root / "config.yaml", cfg)
    with pytest.raises(ConfigError, match="uncertainty.max_draws = 2000: must be ≥ uncertainty.n_draws = 4000"):
        load_config(root / "config.yaml")

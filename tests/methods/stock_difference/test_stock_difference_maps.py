"""Stock-difference uncertainty (issue 5) on the tiny case with the sinks density table of
conftest.density_table_with_sd, whose only uncertain densities are above-ground biomass, so every
figure can be worked out by hand with IPCC 2006 Vol.1 Ch.3 Eq. 3.2: sd(Σ c_j θ_j) =
sqrt(Σ (c_j sd_j)²): the zone rows' sds and the per-pixel sd and percentile maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import PX_HA, build_tiny, check_cog, run_with_density_sd

FACTOR = 44 / 12 / 20  # Mg C over 20 years -> Mg CO2 per year


def test_approach1_table_and_maps_hand_computed(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    df, maps = run_with_density_sd(root, ["approach1"])
    sd = df["sd"]
    # E 2000 stock: 4 cropland px -> sd = 4 px x 1.5811
    assert sd[("E", "all", "carbon_stock", 2000, 2000)] == pytest.approx(4 * PX_HA * np.sqrt(2.5))
    # W 2000 stock: sqrt((3 px x 6)^2 + (2 px x 1)^2) = sqrt(328) px
    assert sd[("W", "all", "carbon_stock", 2000, 2000)] == pytest.approx(np.sqrt(328) * PX_HA)
    # W sink: forest +1 px, shrub -1 px; the same densities at both epochs, so only the changed
    # area carries uncertainty: sqrt(6^2 + 1^2) px x 44/12 / 20
    assert sd[("W", "all", "net_sink", 2000, 2020)] == pytest.approx(np.sqrt(37) * PX_HA * FACTOR)
    # E sink: forest +1 px, cropland -2 px: sqrt(6^2 + (2 x 1.5811)^2) = sqrt(46)
    assert sd[("E", "all", "net_sink", 2000, 2020)] == pytest.approx(np.sqrt(46) * PX_HA * FACTOR)
    row = df.loc[("W", "all", "carbon_stock", 2000, 2000)]
    assert row.ci_high - row.value == pytest.approx(1.96 * row.sd)
    assert row.uncertainty_pct == pytest.approx(100 * 1.96 * row.sd / row.value)
    assert df.loc[("W", "all", "area", 2000, 2000)].uncertainty_approach.startswith("none")
    out = tmp_path / "data/processed/my_county/outputs"
    with rasterio.open(out / "carbon_stock_2000_sd.tif") as src:
        stock_sd = src.read(1)
    assert stock_sd[0, 0] == pytest.approx(6.0)  # forest pixel
    assert stock_sd[0, 2] == pytest.approx(np.sqrt(2.5))  # cropland pixel
    with rasterio.open(out / "net_sink_2000_2020_p97_5.tif") as src:
        hi = src.read(1)
    # r0c2: cropland (AGB 5, total 45) -> forest (total 94): mean 49 x F, sd sqrt(36 + 2.5) x F
    assert hi[0, 2] == pytest.approx((49 + 1.96 * np.sqrt(38.5)) * FACTOR, rel=1e-5)
    for path in maps:
        kind = path.stem.replace("_2000_2020", "").replace("_2000", "")
        check_cog(path, kind)
    shares = pd.read_csv(out / "uncertainty_attribution.csv")
    w = shares[(shares.zone_name == "W") & (shares.quantity == "carbon_stock") & (shares.year_start == 2000)]
    # forest AGB: 324 of 328 of the variance; shrub AGB 4 of 328 (independent table rows)
    assert w.set_index("parameter").variance_share["forest/agb"] == pytest.approx(324 / 328)
    assert (out / "uncertainty_attribution.png").stat().st_size > 0

"""Stock-difference zone rows with the Monte Carlo of the densities (issue 5), on the tiny case
with the sinks density table of conftest.density_table_with_sd (AGB sds only)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import PX_HA, build_tiny, run_with_density_sd


def test_monte_carlo_matches_approach1_and_is_chunking_and_thread_independent(tmp_path, chdir):
    # Normal densities: the Monte Carlo sd converges to Approach 1 (sd of an sd estimate from
    # 4000 draws is about 1/sqrt(2 x 4000) = 1.1 %); the draws do not depend on the chunking.
    import dask

    root = chdir(build_tiny(tmp_path))
    with dask.config.set(scheduler="threads", num_workers=2):
        df, _ = run_with_density_sd(root, ["approach1", "monte_carlo"], chunks=2)
    stock = df.loc[("W", "all", "carbon_stock", 2000, 2000)]
    assert stock.sd == pytest.approx(np.sqrt(328) * PX_HA, rel=0.05)
    assert stock.approach1_uncertainty_pct == pytest.approx(100 * 1.96 * np.sqrt(328) * PX_HA / stock.value)
    assert stock.uncertainty_approach.startswith("IPCC Approach 2")
    with dask.config.set(scheduler="threads", num_workers=1):
        again, _ = run_with_density_sd(root, ["approach1", "monte_carlo"], chunks=1024)
    pd.testing.assert_frame_equal(df, again)  # other chunking and thread count: same numbers

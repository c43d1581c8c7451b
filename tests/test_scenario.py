"""The seeded land-change scenario generator."""

from __future__ import annotations

import numpy as np

from sinks.scenario import derive_epoch

CHANGES = [{"name": "afforestation", "from_codes": [12], "to_code": 1, "rate_per_year": 0.05},
           {"name": "urban", "from_codes": [12], "to_code": 13, "rate_per_year": 0.1,
            "near_codes": [13], "max_distance": None}]


def base():
    codes = np.full((20, 20), 12, dtype="uint8")
    codes[0, 0] = 13
    codes[19, 19] = 255
    return codes


def test_rates_counts_and_determinism():
    a, rep = derive_epoch(base(), 255, CHANGES, years=4, seed=1, pixel_size=30)
    b, _ = derive_epoch(base(), 255, CHANGES, years=4, seed=1, pixel_size=30)
    np.testing.assert_array_equal(a, b)
    # 398 cropland px; afforestation 5 %/yr x 4 yr = 20 % -> round(79.6) = 80 px;
    # urban 10 %/yr x 4 yr = 40 % of the 318 remaining -> round(127.2) = 127 px.
    assert rep[0]["changed_px"] == 80 and rep[1]["candidates_px"] == 318
    assert rep[1]["changed_px"] == 127
    assert (a == 1).sum() == 80 and (a == 13).sum() == 128
    assert a[19, 19] == 255  # nodata untouched
    c, _ = derive_epoch(base(), 255, CHANGES, years=4, seed=2, pixel_size=30)
    assert not np.array_equal(a, c)


def test_near_codes_grow_around_the_seed_class():
    codes, _ = derive_epoch(base(), 255, CHANGES[1:], years=1, seed=0, pixel_size=30)
    rows, cols = np.nonzero(codes == 13)
    # 10 % of 398 = 40 new urban px, all closest to the (0, 0) seed: within radius ~ 8 px
    assert np.hypot(rows, cols).max() < 9

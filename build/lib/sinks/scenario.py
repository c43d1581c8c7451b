"""Seeded land-change SCENARIO generator: derives a later land-cover epoch from an earlier one.

No second real land-cover epoch over Jiangxi is available offline, so the demo derives later
epochs from the real 2019 map by stated rules (afforestation, urban growth around built-up land,
lake-shore wetland change). The result is a scenario, not an observation, and every output made
from it says so. Each change converts ``min(1, rate_per_year × years)`` of its candidate pixels
(pixels whose code is in ``from_codes`` and not changed by an earlier rule); with ``near_codes``
the candidates nearest to those codes go first (ties broken at random), otherwise a random
subset. Runs in memory on the run grid: meant for demo-sized grids.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def derive_epoch(codes: np.ndarray, nodata: int | None, changes: list[dict], years: int,
                 seed: int, pixel_size: float) -> tuple[np.ndarray, list[dict]]:
    """Apply ``changes`` over ``years`` to a code map; return the new map and a change report.

    ``pixel_size`` (CRS units) converts pixel distances for ``max_distance``. The same inputs
    and seed give the same map.
    """
    if years <= 0:
        raise ValueError("a scenario epoch must be later than its source epoch")
    out = codes.copy()
    changed = np.zeros(codes.shape, dtype=bool)
    if nodata is not None:
        changed |= codes == nodata
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(changes))]
    report = []
    for change, rng in zip(changes, rngs):
        candidates = np.isin(codes, change["from_codes"]) & ~changed
        n_cand = int(candidates.sum())
        fraction = min(1.0, change["rate_per_year"] * years)
        n = int(round(fraction * n_cand))
        priority = rng.random(codes.shape)  # uniform tie-break in [0, 1)
        near = change.get("near_codes") or []
        if near:
            distance = ndimage.distance_transform_edt(~np.isin(codes, near)) * pixel_size
            max_d = change.get("max_distance")
            if max_d is not None:
                candidates &= distance <= max_d
            priority = distance + priority * pixel_size
        idx = np.flatnonzero(candidates.ravel())
        n = min(n, idx.size)
        chosen = idx[np.argsort(priority.ravel()[idx], kind="stable")[:n]] if n else idx[:0]
        out.ravel()[chosen] = change["to_code"]
        changed.ravel()[chosen] = True
        report.append({"change": change["name"], "from_codes": change["from_codes"],
                       "to_code": change["to_code"], "candidates_px": n_cand,
                       "changed_px": int(n)})
    return out, report

"""Zonal totals (sinks.zones): by zone and class and transition matrices, worked out by hand on
numpy and on dask with blocks of every shape."""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

from conftest import assert_backends_agree
from sinks.zones import zonal_totals


def test_zonal_totals_by_zone_and_class_hand_computed():
    # 2 x 3 grid, zone 1 = left column pair, zone 2 = right column; class = code.
    z = np.array([[1, 1, 2], [1, 0, 2]], dtype="uint32")
    cls = np.array([[1, 2, 1], [2, 2, 1]])
    v = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])
    # zone 1: class 1 -> 1.0; class 2 -> 2.0 + 4.0 = 6.0; zone 2: class 1 -> 3 + 6 = 9;
    # zone 0 (outside): class 2 -> NaN counted as 0.
    expected = [[0, 0, 0], [0, 1.0, 6.0], [0, 9.0, 0]]

    def totals(zi, ci, vi):
        return zonal_totals({"lv": zi}, {"lv": 2}, [ci], [3], {"v": vi})["lv"]["v"]

    wrap = lambda a, ch: xr.DataArray(da.from_array(a, chunks=ch), coords=None, dims=("y", "x"))
    for ch in [(1, 1), (2, 3), (1, 2)]:
        out = totals(wrap(z, ch), wrap(cls, ch), wrap(v, ch))
        np.testing.assert_allclose(out, expected)
    for ch in [(1, 1), (1, 2)]:  # numpy = dask, exactly
        eager, _ = assert_backends_agree(totals, z, cls, v, chunks=ch)
    np.testing.assert_allclose(eager, expected)


def test_zonal_transition_matrix_hand_computed():
    # 2 x 3 grid, one zone; classes 1, 2 at t0 and t1; pixel areas 1..6 ha.
    # (1 -> 1): pixel 0 (1 ha); (1 -> 2): pixels 1, 3 (2 + 4 = 6 ha); (2 -> 2): pixel 2 (3 ha);
    # (2 -> 1): pixels 4, 5 (5 + 6 = 11 ha). Rows sum to the t0 areas, columns to the t1 areas.
    z = np.ones((2, 3), dtype="uint32")
    c0 = np.array([[1, 1, 2], [1, 2, 2]])
    c1 = np.array([[1, 2, 2], [2, 1, 1]])
    area = np.arange(1.0, 7.0).reshape(2, 3)
    expected = [[0, 0, 0], [0, 1, 6], [0, 11, 3]]

    def matrix(zi, a0, a1, ai):
        return zonal_totals({"lv": zi}, {"lv": 1}, [a0, a1], [3, 3], {"area": ai})["lv"]["area"][1]

    wrap = lambda a, ch: xr.DataArray(da.from_array(a, chunks=ch), dims=("y", "x"))
    for ch in [(1, 1), (2, 3), (1, 2)]:
        np.testing.assert_allclose(matrix(wrap(z, ch), wrap(c0, ch), wrap(c1, ch), wrap(area, ch)), expected)
    for ch in [(1, 1), (1, 2)]:  # numpy = dask, exactly
        eager, _ = assert_backends_agree(matrix, z, c0, c1, area, chunks=ch)
    np.testing.assert_allclose(eager, expected)

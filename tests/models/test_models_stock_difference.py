"""Stock-difference model (sinks.models.stock_difference) and its LUTs: hand-computed numbers,
InVEST equivalence, numpy vs dask backend equality with chunks smaller than the array."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from odc.geo.geobox import GeoBox

from conftest import assert_backends_agree
from sinks.grid import on_grid, pixel_area_ha
from sinks.landcover import lut_size
from sinks.models.stock_difference import (C_TO_CO2, class_densities, net_sink, pool_luts,
                                           stocks, total_stock)
from sinks.zones import zonal_totals

# Equal-area grid (China Albers), 100 m pixels = exactly 1 ha each.
ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m +no_defs"
GRID = GeoBox.from_bbox((1000000, 3000000, 1000600, 3000500), ALBERS, resolution=100)  # 6 x 5 px

INVEST = pd.DataFrame({"agb": [5, 30, 2, 0], "bgb": [0, 7, 5, 0], "dead": [0, 2, 0, 0],
                       "soc": [40, 55, 50, 0]}, index=[1, 2, 3, 5])


def codes_array(seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice([1, 2, 3, 5], size=GRID.shape.yx).astype("uint8")


def luts():
    return pool_luts(INVEST, {c: c for c in INVEST.index}, lut_size(np.uint8))


def test_net_sink_eq_2_5_hand_computed():
    # IPCC 2006 Vol.4 Ch.2 Eq. 2.5: (C_t2 - C_t1)/(t2 - t1); 100 -> 130 Mg C/ha over 10 yr
    # = 3 Mg C/ha/yr = 3 x 44/12 = 11.0 Mg CO2/ha/yr, positive = sink.
    s0, s1 = xr.DataArray([100.0, 50.0]), xr.DataArray([130.0, 40.0])
    out = net_sink(s0, s1, 2010, 2020).values
    assert out[0] == pytest.approx(11.0)
    assert out[1] == pytest.approx(-10 / 10 * 44 / 12)  # loss -> negative = source
    assert C_TO_CO2 == pytest.approx(3.6666667)
    with pytest.raises(ValueError):
        net_sink(s0, s1, 2020, 2020)


def test_stock_lookup_and_nodata():
    codes = xr.DataArray(np.array([[1, 2], [255, 3]], dtype="uint8"))
    pools = stocks(codes, luts())
    total = total_stock(pools).values
    assert total[0, 0] == 45 and total[0, 1] == 94 and total[1, 1] == 57
    assert np.isnan(total[1, 0])  # code 255 (nodata) is in no table -> NaN, never 0


def test_cropland_paddy_share_mix():
    dens = pd.DataFrame({"agb": [5.0, 5.0], "bgb": [0, 0], "dead": [0, 0], "soc": [74.25, 37.95]},
                        index=["cropland_paddy", "cropland_upland"])
    mixed = class_densities(dens, 0.8).loc["cropland", "soc"]
    assert mixed == pytest.approx(0.8 * 74.25 + 0.2 * 37.95)  # = 66.99


def _as(arr, chunks):
    data = da.from_array(arr, chunks=chunks) if chunks else arr
    return on_grid(data, GRID)


@pytest.mark.parametrize("chunks", [None, (2, 4), (3, 3)])
def test_backend_equality_and_invest_equivalence(chunks):
    c0, c1 = codes_array(0), codes_array(1)

    def stock_and_sink(codes0, codes1):
        s0 = total_stock(stocks(codes0, luts()))
        s1 = total_stock(stocks(codes1, luts()))
        return s0, net_sink(s0, s1, 2000, 2020)

    if chunks:  # numpy = dask (stocks and sink, exactly), blocks smaller than the 5 x 6 grid
        assert_backends_agree(stock_and_sink, _as(c0, None), _as(c1, None), chunks=chunks)
    s0, sink = stock_and_sink(_as(c0, chunks), _as(c1, chunks))
    ref0 = total_stock(stocks(_as(c0, None), luts())).values
    np.testing.assert_array_equal(np.asarray(s0.values), ref0)
    # InVEST carbon: total = sum over pixels of (c_above + c_below + c_soil + c_dead) x pixel area.
    per_code = INVEST.sum(axis=1)
    invest_total = sum(per_code[c] * 1.0 for c in c0.ravel())  # 1 ha pixels (equal-area 100 m)
    area = pixel_area_ha(GRID, chunks=chunks[0] if chunks else 2048)
    zones = _as(np.ones(GRID.shape.yx, dtype="uint32"), chunks)
    classes = _as(c0.astype("int64"), chunks)
    res = zonal_totals({"all": zones}, {"all": 1}, [classes], [6],
                       {"stock": s0 * area, "sink": sink * area})
    assert res["all"]["stock"][1].sum() == pytest.approx(invest_total, rel=1e-12)
    expected_sink = (np.nansum(total_stock(stocks(_as(c1, None), luts())).values) - ref0.sum()) / 20 * 44 / 12
    assert res["all"]["sink"][1].sum() == pytest.approx(expected_sink, rel=1e-6)

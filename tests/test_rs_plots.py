"""Plot tables (issue 6 item 3): CSV with a crs column and GeoPackage, volume -> biomass with
Fang et al.'s B = aV + b (UNCONFIRMED, opt-in), every bad input, and the SYNTHETIC simulator."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (registers .rio)
from conftest import make_raster
from pyproj import Transformer
from shapely.geometry import Point, box

from sinks.errors import InputDataError
from sinks.io.rasters import open_raster
from sinks.rs.bef import FANG_BEF, volume_to_biomass
from sinks.rs.plot_table import read_plot_table
from sinks.rs.plots import SIM_INTERCEPT, SIM_SLOPE, simulate_plots

CRS = "EPSG:32650"
BOUNDS = (500000.0, 2990000.0, 510000.0, 3000000.0)  # a 10 km square in UTM 50N


def write_csv(tmp_path, rows, name="plots.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def good_rows():
    return [{"id": "P1", "x": 501000.0, "y": 2995000.0, "crs": CRS, "year": 2019, "agb": 80.0},
            {"id": "P2", "x": 505000.0, "y": 2998000.0, "crs": CRS, "year": 2020, "agb": 120.5},
            {"id": "P3", "x": 509000.0, "y": 2991000.0, "crs": CRS, "year": 2018, "agb": 0.0}]


def read(path, **kw):
    return read_plot_table(path, region_crs=CRS, region_bounds=BOUNDS, epoch_year=2019, **kw)


def test_csv_plots_read_with_per_row_crs(tmp_path):
    rows = good_rows()
    # P2 given in lon/lat instead: it must be transformed, not read as UTM metres
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(505000.0, 2998000.0)
    rows[1].update(x=lon, y=lat, crs="EPSG:4326")
    plots = read(write_csv(tmp_path, rows))
    assert plots.crs == CRS and list(plots["id"]) == ["P1", "P2", "P3"]
    assert plots.geometry[1].x == pytest.approx(505000.0, abs=1e-3)
    assert plots.geometry[1].y == pytest.approx(2998000.0, abs=1e-3)
    assert list(plots["agb"]) == [80.0, 120.5, 0.0]
    assert set(plots["agb_source"]) == {"measured"}


def test_geopackage_plots(tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["A", "B"], "year": [2019, 2019], "agb": [50.0, 60.0]},
                           geometry=[Point(502000, 2992000), Point(503000, 2993000)], crs=CRS)
    gdf.to_file(tmp_path / "plots.gpkg", driver="GPKG")
    assert list(read(tmp_path / "plots.gpkg")["agb"]) == [50.0, 60.0]
    gdf.set_crs(None, allow_override=True).to_file(tmp_path / "nocrs.gpkg", driver="GPKG")
    with pytest.raises(InputDataError, match="nocrs.gpkg: plot layer has no CRS"):
        read(tmp_path / "nocrs.gpkg")


@pytest.mark.parametrize("change, match", [
    ({1: {"id": "P1"}}, "duplicate plot id"),
    ({0: {"agb": -5.0}}, "impossible agb"),
    ({0: {"agb": 1200.0}}, "impossible agb"),
    ({2: {"x": 520000.0}}, "outside the region"),
    ({2: {"year": 2011}}, "years from the imagery epoch 2019"),
    ({0: {"crs": None}}, "have no crs"),
    ({0: {"crs": "EPSG:999999"}}, "not a known coordinate system"),
])
def test_bad_plot_tables_are_refused(tmp_path, change, match):
    rows = good_rows()
    for i, upd in change.items():
        rows[i].update(upd)
    with pytest.raises(InputDataError, match=match) as err:
        read(write_csv(tmp_path, rows))
    assert "plots.csv" in str(err.value) and "\n" not in str(err.value)


def test_year_tolerance_is_configurable(tmp_path):
    rows = good_rows()
    rows[2]["year"] = 2013  # 6 years before the epoch
    path = write_csv(tmp_path, rows)
    with pytest.raises(InputDataError, match="more than 3 years"):
        read(path)
    assert len(read(path, max_year_gap=6)) == 3


def test_plots_outside_the_region_polygon_but_inside_its_box(tmp_path):
    # region: the western half of the square; P2 (x 505 km) and P3 (x 509 km) lie east of it
    region = gpd.GeoDataFrame(geometry=[box(500000, 2990000, 504000, 3000000)], crs=CRS)
    path = write_csv(tmp_path, good_rows())
    with pytest.raises(InputDataError, match="2 plot\\(s\\) outside the region polygons"):
        read_plot_table(path, region_crs=CRS, region=region, region_bounds=BOUNDS, epoch_year=2019)


def test_missing_file_and_columns(tmp_path):
    with pytest.raises(InputDataError, match="plot file not found"):
        read(tmp_path / "nope.csv")
    rows = [{k: v for k, v in r.items() if k != "crs"} for r in good_rows()]
    with pytest.raises(InputDataError, match="needs x, y and crs columns"):
        read(write_csv(tmp_path, rows))
    rows = [{k: v for k, v in r.items() if k != "agb"} for r in good_rows()]
    with pytest.raises(InputDataError, match="no agb and the table has no volume"):
        read(write_csv(tmp_path, rows))


def test_volume_to_biomass_by_hand():
    # Fang et al. B = a V + b. Chinese fir (a 0.3999, b 22.541), V 100 m3/ha:
    #   0.3999 x 100 + 22.541 = 62.531 Mg/ha; Masson pine (a 0.5101, b 1.0451), V 200:
    #   0.5101 x 200 + 1.0451 = 103.0651; with R = 0.25, AGB = 62.531 / 1.25 = 50.0248
    assert set(FANG_BEF["status"]) == {"UNCONFIRMED"}
    b = volume_to_biomass([100, 200], ["chinese_fir", "Pinus_Massoniana"], allow_unconfirmed=True)
    np.testing.assert_allclose(b, [62.531, 103.0651])
    agb = volume_to_biomass([100], ["cunninghamia_lanceolata"], allow_unconfirmed=True, root_shoot=0.25)
    np.testing.assert_allclose(agb, [50.0248])
    with pytest.raises(InputDataError, match="UNCONFIRMED"):
        volume_to_biomass([100], ["chinese_fir"])
    with pytest.raises(InputDataError, match="have no biomass expansion coefficients"):
        volume_to_biomass([100], ["eucalyptus"], allow_unconfirmed=True)
    with pytest.raises(InputDataError, match="impossible stand volume"):
        volume_to_biomass([-3], ["chinese_fir"], allow_unconfirmed=True)
    checked = pd.DataFrame({"a": [0.5], "b": [10.0], "status": ["C1"], "source": ["user"]},
                           index=pd.Index(["chinese_fir"], name="forest_type"))
    np.testing.assert_allclose(volume_to_biomass([100], ["chinese_fir"], table=checked), [60.0])


def test_plot_table_with_volume_needs_the_opt_in(tmp_path):
    rows = good_rows()
    rows[0].update(agb=None, volume=100.0, forest_type="chinese_fir")
    rows[1].update(volume=None, forest_type=None)
    rows[2].update(volume=None, forest_type=None)
    path = write_csv(tmp_path, rows)
    with pytest.raises(InputDataError, match="plots.csv: the Fang .* UNCONFIRMED"):
        read(path)
    plots = read(path, allow_unconfirmed_bef=True)
    assert list(plots["agb"]) == pytest.approx([62.531, 120.5, 0.0])
    assert list(plots["agb_source"]) == ["volume (Fang BEF)", "measured", "measured"]


@pytest.fixture
def landscape(tmp_path):
    """60 x 60 px of 1 km: forest (class 2) except the first 10 rows (class 1, cropland); NDVI
    0.75-0.90, a smooth west-east gradient plus a north-south wave, NaN in one corner."""
    yy, xx = np.mgrid[0:60, 0:60]
    ndvi = 0.75 + 0.15 * (0.7 * xx / 59 + 0.3 * (0.5 + 0.5 * np.sin(yy / 6.0)))
    ndvi[50:, 50:] = np.nan
    lc = np.where(yy < 10, 1, 2)
    lc_a = open_raster(make_raster(tmp_path / "lc.tif", lc, res=1000.0, dtype="uint8")).load()
    ndvi_a = open_raster(make_raster(tmp_path / "ndvi.tif", ndvi, res=1000.0, dtype="float32")).load()
    return lc_a == 2, ndvi_a


def test_simulator_is_seeded_labelled_and_follows_its_stated_relation(landscape):
    forest, ndvi = landscape
    plots = simulate_plots(forest, ndvi, n=300, seed=7, year=2019)
    again = simulate_plots(forest, ndvi, n=300, seed=7, year=2019)
    pd.testing.assert_frame_equal(pd.DataFrame(plots.drop(columns="geometry")),
                                  pd.DataFrame(again.drop(columns="geometry")))
    assert plots.geom_equals(again.geometry).all()
    assert plots["synthetic"].all() and "SYNTHETIC" in plots.attrs["synthetic"]
    assert "seed 7" in plots.attrs["synthetic"] and plots["id"].is_unique
    # every plot on a forest pixel with NDVI
    at = {n: a.sel(x=gpd.GeoSeries(plots.geometry).x.to_xarray(),
                   y=gpd.GeoSeries(plots.geometry).y.to_xarray(), method="nearest").values
          for n, a in (("forest", forest), ("ndvi", ndvi))}
    assert at["forest"].all() and np.isfinite(at["ndvi"]).all()
    # AGB = -800 + 1100 NDVI + N(0, 15): on NDVI 0.75-0.90 no clipping at 0; OLS recovers the line
    # (slope se ~ 15 / (0.04 x sqrt(300)) ~ 22, so +-90 is 4 se)
    slope, intercept = np.polyfit(at["ndvi"], plots["agb"].to_numpy(), 1)
    assert slope == pytest.approx(SIM_SLOPE, abs=90)
    assert intercept + slope * 0.82 == pytest.approx(SIM_INTERCEPT + SIM_SLOPE * 0.82, abs=5)
    resid = plots["agb"].to_numpy() - (SIM_INTERCEPT + SIM_SLOPE * at["ndvi"])
    assert resid.std() == pytest.approx(15, rel=0.2)
    # another seed draws other plots
    other = simulate_plots(forest, ndvi, n=300, seed=8, year=2019)
    assert not plots.geom_equals(other.geometry).all()

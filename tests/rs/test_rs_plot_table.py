"""Plot tables (sinks.rs.plot_table, issue 6 item 3): CSV with a crs column and GeoPackage,
volume -> biomass only with the opt-in for the UNCONFIRMED coefficients, and every bad input."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box

from sinks.errors import InputDataError
from sinks.rs.plot_table import read_plot_table

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

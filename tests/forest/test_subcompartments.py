"""Forest sub-compartments (sinks.forest.subcompartments): Chinese fields and codes read as the
standard strata, age classes from ages worked out by hand, one-line errors, and two hand-made
squares rasterized onto a small grid with hand-counted pixels."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from odc.geo.geobox import GeoBox
from shapely.geometry import box

from conftest import ORIGIN, REPO
from sinks.errors import InputDataError
from sinks.forest.subcompartments import read_subcompartments, rasterize_subcompartments
from sinks.forest.tables import age_bounds, stratum_codes

FIELDS = {"forest_type": "优势树种", "origin": "起源", "age_class": "龄组", "age": "林龄",
          "volume": "公顷蓄积"}
CODES = {"forest_type": {"杉木": "chinese_fir", "马尾松": "masson_pine", "湿地松": "other_conifer",
                         "木荷": "broadleaf", "阔叶混": "broadleaf", "针阔混": "mixed",
                         "毛竹": "bamboo", "油茶": "economic"},
         "origin": {"人工": "planted", "天然": "natural"},
         "age_class": {"幼龄林": "young", "中龄林": "middle", "近熟林": "near_mature",
                       "成熟林": "mature", "过熟林": "over_mature"}}
# Upper ages of young, middle, near-mature, mature (yr), written here so the hand cases below do
# not depend on the package's table.
BOUNDS = {("chinese_fir", "planted"): (10, 20, 25, 35), ("masson_pine", "natural"): (20, 30, 40, 60)}
SYNTHETIC = REPO / "data" / "raw" / "jiangxi" / "subcompartments_SYNTHETIC_chongyi.gpkg"


def bounds(forest_type, origin):
    return BOUNDS[(forest_type, origin)]


def layer(rows, crs="EPSG:32650"):
    """Sub-compartments as 10 m squares side by side, one per row of attributes."""
    x0, y1 = ORIGIN
    geoms = [box(x0 + 10 * i, y1 - 10, x0 + 10 * (i + 1), y1) for i in range(len(rows))]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)


ROWS = [
    {"优势树种": "杉木", "起源": "人工", "龄组": "中龄林", "林龄": 15, "公顷蓄积": 120.5},
    {"优势树种": "杉木", "起源": "人工", "龄组": None, "林龄": 22, "公顷蓄积": 150.0},  # 20 < 22 <= 25
    {"优势树种": "马尾松", "起源": "天然", "龄组": "", "林龄": 30, "公顷蓄积": 80.0},  # 20 < 30 <= 30
    {"优势树种": "chinese_fir", "起源": "planted", "龄组": "mature", "林龄": 33, "公顷蓄积": None},
    {"优势树种": "毛竹", "起源": "人工", "龄组": "幼龄林", "林龄": None, "公顷蓄积": None},
    {"优势树种": "油茶", "起源": "人工", "龄组": "不分", "林龄": 12, "公顷蓄积": 0.0},
]


def test_chinese_fields_and_codes_read_as_standard_strata(tmp_path):
    path = tmp_path / "xb.gpkg"
    layer(ROWS).to_file(path, driver="GPKG")
    gdf = read_subcompartments(path, FIELDS, CODES, bounds)
    assert list(gdf.columns) == ["forest_type", "origin", "age_class", "age", "volume", "geometry"]
    assert list(gdf.forest_type) == ["chinese_fir"] * 2 + ["masson_pine", "chinese_fir", "bamboo", "economic"]
    assert list(gdf.origin) == ["planted", "planted", "natural", "planted", "planted", "planted"]
    # row 1: 22 yr planted fir -> near-mature; row 2: 30 yr natural pine -> middle (bound inclusive);
    # bamboo and oil-tea: "none" whatever 龄组 says (oil-tea's 不分 needs no mapping).
    assert list(gdf.age_class) == ["middle", "near_mature", "middle", "mature", "none", "none"]
    np.testing.assert_array_equal(gdf.volume, [120.5, 150.0, 80.0, np.nan, np.nan, 0.0])
    assert gdf.crs == "EPSG:32650"


def test_age_class_from_age_when_the_layer_has_no_age_class_field(tmp_path):
    path = tmp_path / "xb.gpkg"
    rows = [{k: v for k, v in r.items() if k != "龄组"} for r in ROWS[:3]]
    layer(rows).to_file(path, driver="GPKG")
    fields = {k: v for k, v in FIELDS.items() if k != "age_class"}
    gdf = read_subcompartments(path, fields, CODES, bounds)
    assert list(gdf.age_class) == ["middle", "near_mature", "middle"]  # 15 <= 20; 22 <= 25; 30 <= 30


def test_gbk_shapefile_without_cpg_reads(tmp_path):
    path = tmp_path / "xb.shp"
    layer(ROWS[:3]).to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    gdf = read_subcompartments(path, FIELDS, CODES, bounds)
    assert list(gdf.age_class) == ["middle", "near_mature", "middle"]


def test_unmapped_values_are_listed_with_counts_in_one_line(tmp_path):
    path = tmp_path / "xb.gpkg"
    rows = ROWS[:2] + [dict(ROWS[0], 优势树种="松木")] * 3 + [dict(ROWS[0], 优势树种="枫香")]
    layer(rows).to_file(path, driver="GPKG")
    with pytest.raises(InputDataError) as err:
        read_subcompartments(path, FIELDS, CODES, bounds)
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg
    assert "'松木' (3), '枫香' (1)" in msg
    assert "forest.subcompartments.codes.forest_type" in msg and "'chinese_fir'" in msg


def test_missing_field_names_it_and_lists_the_fields(tmp_path):
    path = tmp_path / "xb.gpkg"
    layer([{k: v for k, v in r.items() if k != "起源"} for r in ROWS]).to_file(path, driver="GPKG")
    with pytest.raises(InputDataError, match=r"no field '起源' \(forest.subcompartments.fields.origin\); "
                                             r"its fields are \['优势树种', '龄组', '林龄', '公顷蓄积'\]"):
        read_subcompartments(path, FIELDS, CODES, bounds)


@pytest.mark.parametrize("case, match", [
    ("negative volume", r"'公顷蓄积' \(volume\) has non-numeric or negative value\(s\) '-5' \(1\)"),
    ("text volume", r"'公顷蓄积' \(volume\) has non-numeric or negative value\(s\) '约100' \(1\)"),
    ("no age", r"1 sub-compartment\(s\) have no age class .* and no age"),
    ("bad age class", r"'龄组' \(age_class\) has value\(s\) with no standard name: '老龄' \(1\)"),
    ("no crs", r"has no CRS"),
    ("two layers", r"has 2 layers \['a', 'b'\]; name the sub-compartment layer"),
    ("empty", r"has no features"),
])
def test_bad_layers_give_one_line_errors(tmp_path, case, match):
    path = tmp_path / "xb.gpkg"
    rows = [dict(r) for r in ROWS[:3]]
    if case == "negative volume":
        rows[1]["公顷蓄积"] = -5.0
    elif case == "text volume":
        rows = [dict(r, 公顷蓄积=str(r["公顷蓄积"])) for r in rows]
        rows[2]["公顷蓄积"] = "约100"
    elif case == "no age":
        rows[1]["林龄"] = None
    elif case == "bad age class":
        rows[0]["龄组"] = "老龄"
    gdf = layer(rows, crs=None if case == "no crs" else "EPSG:32650")
    if case == "two layers":
        gdf.to_file(path, layer="a", driver="GPKG")
        gdf.to_file(path, layer="b", driver="GPKG")
    elif case == "empty":
        gdf.iloc[:0].to_file(path, driver="GPKG")
    else:
        gdf.to_file(path, driver="GPKG")
    with pytest.raises(InputDataError, match=match) as err:
        read_subcompartments(path, FIELDS, CODES, bounds)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_rasterize_two_squares_hand_counted():
    # 8 x 6 px of 10 m from ORIGIN. A = x 0-40 m, y 0-30 m below the top: pixel centres x 5..35,
    # y 5..25 -> 4 x 3 = 12 px. B = x 28-62, y 12-48: centres x 35, 45, 55, y 15..45 -> 3 x 4 = 12 px.
    # They share the centres (35, 15) and (35, 25): B, the later row, wins -> A 10 px, B 12 px.
    x0, y1 = ORIGIN
    grid = GeoBox.from_bbox((x0, y1 - 60, x0 + 80, y1), "EPSG:32650", resolution=10)
    gdf = gpd.GeoDataFrame(
        {"forest_type": ["chinese_fir", "bamboo"], "origin": ["planted", "planted"],
         "age_class": ["middle", "none"], "volume": [120.0, np.nan]},
        geometry=[box(x0, y1 - 30, x0 + 40, y1), box(x0 + 28, y1 - 48, x0 + 62, y1 - 12)],
        crs="EPSG:32650")
    codes = stratum_codes()
    strata, volume = rasterize_subcompartments(gdf, grid, codes, chunks=3)
    assert strata.chunks == ((3, 3), (3, 3, 2)) and strata.dtype == "uint16"
    assert volume.dtype == "float32" and strata.odc.geobox == grid
    s, v = strata.values, volume.values
    a, b = codes[("chinese_fir", "planted", "middle")], codes[("bamboo", "planted", "none")]
    assert (s == a).sum() == 10 and (s == b).sum() == 12 and (s == 0).sum() == 48 - 22
    assert s[1, 3] == b and s[0, 3] == a  # centre (35, 15) is B's; (35, 5) A's alone
    assert (s == a).sum() * 100 / 1e4 == pytest.approx(0.10)  # ha, 100 m2 pixels
    np.testing.assert_array_equal(v[s == a], 120.0)
    assert np.isnan(v[s != a]).all()  # B has no volume; outside is NaN
    one_block = rasterize_subcompartments(gdf, grid, codes, chunks=512)  # block seams change nothing
    np.testing.assert_array_equal(one_block[0].values, s)
    np.testing.assert_array_equal(one_block[1].values, v)


def test_rasterize_names_a_stratum_without_code():
    x0, y1 = ORIGIN
    grid = GeoBox.from_bbox((x0, y1 - 20, x0 + 20, y1), "EPSG:32650", resolution=10)
    gdf = layer([{"forest_type": "mixed", "origin": "natural", "age_class": "young", "volume": 1.0}])
    with pytest.raises(InputDataError, match=r"stratum/strata \['mixed/natural/young'\] have no code"):
        rasterize_subcompartments(gdf, grid, {("chinese_fir", "planted", "young"): 1})


def test_synthetic_chongyi_layer_reads_with_the_demo_mapping():
    gdf = read_subcompartments(SYNTHETIC, FIELDS, CODES, age_bounds)
    assert len(gdf) == 400 and gdf.crs == "EPSG:4547"
    shares = gdf.forest_type.value_counts(normalize=True)
    assert shares["chinese_fir"] == pytest.approx(0.30) and shares["bamboo"] == pytest.approx(0.10)
    no_age = gdf.forest_type.isin(["bamboo", "economic"])
    assert (gdf.age_class[no_age] == "none").all() and gdf.volume[no_age].isna().all()
    assert gdf.age_class[~no_age].isin(["young", "middle", "near_mature", "mature", "over_mature"]).all()
    assert (gdf.volume[~no_age] > 0).all()
    assert gdf.area.sum() / 1e6 == pytest.approx(2206, rel=0.01)  # km2, the county outline
    grid = GeoBox.from_bbox(tuple(gdf.total_bounds), "EPSG:4547", resolution=2000)
    strata, _ = rasterize_subcompartments(gdf, grid, stratum_codes(), chunks=16)
    assert (strata.values > 0).sum() * 4 == pytest.approx(2206, rel=0.05)  # 4 km2 pixels

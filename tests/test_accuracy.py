"""Area and accuracy from an accuracy assessment (Olofsson et al. 2014 stratified estimator):
a hand-computed case, the paper's published worked example, label / raster helpers and every
InputDataError."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from conftest import ORIGIN, make_raster
from sinks.accuracy import (COLUMNS, error_matrix, sample_map, stratified_area_estimate,
                            stratified_totals)
from sinks.errors import CRSMismatchError, InputDataError


def test_hand_computed_two_classes():
    # Mapped area 200 ha (class a) and 800 ha (class b): A = 1000 ha, W = 0.2, 0.8.
    # Counts (rows = map, columns = reference): a: 40 a, 10 b; b: 5 a, 45 b; n_i. = 50, 50.
    # Eq. 4  p_ij = W_i n_ij / n_i.:  p_aa = 0.2*40/50 = 0.16, p_ab = 0.2*10/50 = 0.04,
    #                                p_ba = 0.8*5/50 = 0.08,  p_bb = 0.8*45/50 = 0.72.
    # Eq. 9  p_.a = 0.16 + 0.08 = 0.24 -> 240 ha;  p_.b = 0.04 + 0.72 = 0.76 -> 760 ha.
    # Eq. 10 S(p_.a)^2 = 0.2^2 * (0.8*0.2)/49 + 0.8^2 * (0.1*0.9)/49 = (0.0064 + 0.0576)/49
    #                  = 0.064/49  -> S = 0.0361403;  S(A_a) = 1000 * S = 36.1403 ha (same for b,
    #        as p_.b = 1 - p_.a);  CI half-width = 1.96 * 36.1403 = 70.835 ha.
    # UA: a = 40/50 = 0.8, b = 45/50 = 0.9.  PA: a = 0.16/0.24 = 2/3, b = 0.72/0.76 = 0.947368.
    # OA = 0.16 + 0.72 = 0.88;  Eq. 5 V(O) = 0.04*0.8*0.2/49 + 0.64*0.9*0.1/49 = 0.064/49.
    counts = pd.DataFrame([[40, 10], [5, 45]], index=["a", "b"], columns=["a", "b"])
    out = stratified_area_estimate(counts, pd.Series({"b": 800.0, "a": 200.0}))  # label-aligned
    assert list(out.columns) == list(COLUMNS)
    assert list(out.index) == ["a", "b"]
    se = 1000 * np.sqrt(0.064 / 49)
    np.testing.assert_allclose(out["area"], [240.0, 760.0])
    np.testing.assert_allclose(out["area_se"], [se, se])
    np.testing.assert_allclose(out["area_ci95"], [1.96 * se] * 2)
    assert out["area_ci95"].iloc[0] == pytest.approx(70.835, abs=1e-3)
    np.testing.assert_allclose(out["users_accuracy"], [0.8, 0.9])
    np.testing.assert_allclose(out["producers_accuracy"], [2 / 3, 0.72 / 0.76])
    assert out.attrs["overall_accuracy"] == pytest.approx(0.88)
    assert out.attrs["overall_accuracy_se"] == pytest.approx(np.sqrt(0.064 / 49))
    assert out.attrs["n_samples"] == 100 and out.attrs["total_area"] == 1000.0
    assert out["area"].sum() == pytest.approx(1000.0)  # areas add up to the mapped total


def test_numpy_input_and_unsampled_absent_class():
    # Same case as numpy arrays, plus a class c that is neither mapped (0 ha) nor sampled and
    # never seen in the reference: it adds nothing (W_c = 0), UA and PA are undefined (NaN).
    counts = np.array([[40, 10, 0], [5, 45, 0], [0, 0, 0]])
    out = stratified_area_estimate(counts, [200.0, 800.0, 0.0])
    assert list(out.index) == [0, 1, 2]
    np.testing.assert_allclose(out["area"], [240.0, 760.0, 0.0])
    assert np.isnan(out["users_accuracy"].iloc[2]) and np.isnan(out["producers_accuracy"].iloc[2])
    assert out.attrs["overall_accuracy"] == pytest.approx(0.88)


# Olofsson et al. (2014) RSE 148:42-57, section 5 worked example.
# Inputs, Table 8: sample counts (rows = map, columns = reference) and mapped areas in Landsat
# pixels (30 m = 0.09 ha; 10^7 px = 900,000 ha). The same inputs are the example "table 8 in
# Olofsson et al. (2014)" of the CRAN package mapaccuracy (R/olofsson.R, H. Costa).
OLOFSSON_CLASSES = ["deforestation", "forest_gain", "stable_forest", "stable_nonforest"]
OLOFSSON_COUNTS = [[66, 0, 5, 4],
                   [0, 55, 8, 12],
                   [1, 0, 153, 11],
                   [2, 1, 9, 313]]
OLOFSSON_PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]
# Published results (paper p. 54 and Table 9), as printed (rounded): area (ha) ± 95 % CI (ha);
# Table 9 column totals (area proportions); user's / producer's accuracy; overall accuracy 0.95.
OLOFSSON_AREA_HA = [21_158, 11_686, 285_770, 581_386]
OLOFSSON_CI_HA = [6_158, 3_756, 15_510, 16_282]
OLOFSSON_PROPORTION = [0.0235, 0.0130, 0.3175, 0.6460]
OLOFSSON_UA = [0.88, 0.73, 0.93, 0.96]
OLOFSSON_PA = [0.75, 0.85, 0.93, 0.96]


def test_olofsson_2014_published_example():
    counts = pd.DataFrame(OLOFSSON_COUNTS, index=OLOFSSON_CLASSES, columns=OLOFSSON_CLASSES)
    px = stratified_area_estimate(counts, np.array(OLOFSSON_PIXELS, dtype=float))
    ha = px[["area", "area_se", "area_ci95"]] * 0.09  # pixels -> ha
    np.testing.assert_allclose(ha["area"], OLOFSSON_AREA_HA, atol=1.0)  # printed to 1 ha
    np.testing.assert_allclose(ha["area_ci95"], OLOFSSON_CI_HA, atol=1.0)
    np.testing.assert_allclose(px["area"] / px.attrs["total_area"], OLOFSSON_PROPORTION, atol=5e-5)
    np.testing.assert_allclose(px["users_accuracy"], OLOFSSON_UA, atol=0.005)  # printed to 0.01
    np.testing.assert_allclose(px["producers_accuracy"], OLOFSSON_PA, atol=0.005)
    assert px.attrs["overall_accuracy"] == pytest.approx(0.95, abs=0.005)
    assert 1.96 * px.attrs["overall_accuracy_se"] == pytest.approx(0.02, abs=0.005)  # ± 0.02
    # Unit independence: the same estimate from mapped areas in ha.
    in_ha = stratified_area_estimate(counts, np.array(OLOFSSON_PIXELS) * 0.09)
    np.testing.assert_allclose(in_ha["area"], ha["area"], rtol=1e-12)
    # Mapped deforestation is 200,000 px = 18,000 ha, below the estimate of 21,158 ha but
    # inside its 95 % interval (15,000 to 27,316 ha).
    assert ha["area"].iloc[0] - ha["area_ci95"].iloc[0] < 18_000 < ha["area"].iloc[0]


def test_stratified_totals_reduce_to_olofsson_areas():
    # With y the indicator of each reference class, the stratified total (Cochran 1977 Eq. 5.1,
    # 5.6) is Olofsson's error-adjusted area and its SE (Eqs. 9-12): one sample unit per count.
    strata, ref = np.nonzero(np.array(OLOFSSON_COUNTS))
    reps = np.array(OLOFSSON_COUNTS)[strata, ref]
    h, k = np.repeat(strata, reps), np.repeat(ref, reps)
    totals, se = stratified_totals(np.array([OLOFSSON_PIXELS], float), h, np.eye(4)[k])
    px = stratified_area_estimate(np.array(OLOFSSON_COUNTS), np.array(OLOFSSON_PIXELS, float))
    np.testing.assert_allclose(totals[0], px["area"], rtol=1e-12)
    np.testing.assert_allclose(se[0], px["area_se"], rtol=1e-12)


def test_stratified_totals_of_a_rate_hand_computed():
    # Two strata of 100 and 300 ha; stratum 0 samples y = 1, 3 (mean 2, s^2 = 2), stratum 1
    # samples y = 0, 0, 6 (mean 2, s^2 = 12). Total = 100 x 2 + 300 x 2 = 800;
    # V = 100^2 x 2/2 + 300^2 x 12/3 = 10,000 + 360,000 -> se = 608.276. A second domain with
    # only stratum 1 (50 ha): total 100, se = 50 x 2 = 100.
    totals, se = stratified_totals(np.array([[100.0, 300.0], [0.0, 50.0]]),
                                   np.array([0, 0, 1, 1, 1]), np.array([1.0, 3, 0, 0, 6])[:, None])
    np.testing.assert_allclose(totals[:, 0], [800.0, 100.0])
    np.testing.assert_allclose(se[:, 0], [np.sqrt(370_000.0), 100.0])
    with pytest.raises(InputDataError, match="fewer than 2 reference samples"):
        stratified_totals(np.array([[1.0, 1.0]]), np.array([0, 0, 1]), np.ones(3), labels=["a", "b"])


def test_error_matrix_from_labels():
    m = [1, 1, 2, 2, 2, 3]
    r = [1, 2, 2, 2, 3, 3]
    em = error_matrix(m, r, classes=[1, 2, 3])
    # rows = map, columns = reference: (1,1) (1,2) | (2,2) (2,2) (2,3) | (3,3)
    np.testing.assert_array_equal(em.to_numpy(), [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert em.index.name == "map" and em.columns.name == "reference"
    out = stratified_area_estimate(em.iloc[:2, :2] + 1, [1.0, 1.0])  # feeds the estimator
    assert list(out.index) == [1, 2]
    with pytest.raises(InputDataError, match=r"reference label\(s\) \['9'\]"):
        error_matrix(m, r[:-1] + [9], classes=[1, 2, 3])
    with pytest.raises(InputDataError, match="6 map labels but 5"):
        error_matrix(m, r[:-1], classes=[1, 2, 3])


def _points(xy_utm, crs_out="EPSG:4326"):
    gdf = gpd.GeoDataFrame({"ref": range(len(xy_utm))},
                           geometry=[Point(x, y) for x, y in xy_utm], crs="EPSG:32650")
    return gdf.to_crs(crs_out)


def test_sample_map_reprojects_points(tmp_path):
    codes = np.array([[1, 2, 3], [4, 5, 0]], dtype="uint8")  # 30 m pixels, nodata 0
    tif = make_raster(tmp_path / "map.tif", codes, nodata=0)
    x0, y0 = ORIGIN
    centre = lambda r, c: (x0 + 30 * c + 15, y0 - 30 * r - 15)
    pts = _points([centre(0, 0), centre(1, 1), centre(0, 2)])  # given in lon/lat
    np.testing.assert_array_equal(sample_map(pts, tif), [1, 5, 3])

    outside = _points([centre(0, 0), (x0 - 500, y0), (x0 + 5000, y0 - 15)])
    with pytest.raises(InputDataError, match=r"map\.tif: 2 of 3 reference points fall outside"):
        sample_map(outside, tif)
    with pytest.raises(InputDataError, match=r"1 of 2 reference points fall on nodata"):
        sample_map(_points([centre(0, 0), centre(1, 2)]), tif)
    no_crs = gpd.GeoDataFrame({"ref": [0]}, geometry=[Point(*centre(0, 0))])
    with pytest.raises(CRSMismatchError, match="no CRS"):
        sample_map(no_crs, tif)
    lines = gpd.GeoDataFrame({"ref": [0]}, geometry=[LineString([centre(0, 0), centre(1, 1)])],
                             crs="EPSG:32650")
    with pytest.raises(InputDataError, match="not points"):
        sample_map(lines, tif)


@pytest.mark.parametrize("counts, area, message", [
    ([[5, 1, 0], [1, 5, 0]], [1.0, 1.0], r"shape \(2, 3\); it must be square"),
    ([[5, 1], [1, 5]], [1.0, 1.0, 1.0], r"mapped_area has shape \(3,\) but .* 2 classes"),
    ([[5, -1], [1, 5]], [1.0, 1.0], "negative counts"),
    ([[5, 1], [0, 0]], [1.0, 1.0], r"map class\(es\) \[1\] have mapped area but no reference"),
    ([[5, 1], [0, 1]], [1.0, 1.0], "only 1 reference sample"),
    ([[5, 1], [1, 5]], [1.0, -1.0], "must be finite and ≥ 0"),
    ([[5, 1], [1, 5]], [0.0, 0.0], "total mapped area is 0"),
    ([[5, np.nan], [1, 5]], [1.0, 1.0], "NaN or infinite"),
])
def test_invalid_inputs(counts, area, message):
    with pytest.raises(InputDataError, match=message):
        stratified_area_estimate(np.array(counts, dtype=float), area)


def test_invalid_labels():
    bad = pd.DataFrame([[5, 1], [1, 5]], index=["a", "b"], columns=["b", "a"])
    with pytest.raises(InputDataError, match="same classes in the same order"):
        stratified_area_estimate(bad, [1.0, 1.0])
    good = pd.DataFrame([[5, 1], [1, 5]], index=["a", "b"], columns=["a", "b"])
    with pytest.raises(InputDataError, match=r"missing \['b'\], extra \['c'\]"):
        stratified_area_estimate(good, pd.Series({"a": 1.0, "c": 1.0}))


def test_accuracy_command_on_a_class_map_hand_computed(tmp_path):
    # 10 x 10 px map of 30 m: class 1 in the west half, class 2 in the east (50 px each, so
    # W_1 = W_2 = 0.5). Reference: 10 points in each half; west 8 x "1" + 2 x "2", east 1 x "1"
    # + 9 x "2". p_.1 = 0.5 x 0.8 + 0.5 x 0.1 = 0.45 of the 100 px; SE(p_.1) =
    # sqrt(0.25 x 0.8 x 0.2 / 9 + 0.25 x 0.1 x 0.9 / 9) = sqrt(0.0069444) = 0.083333;
    # user's 0.8 / 0.9; producer's of class 1 = 0.40 / 0.45; overall 0.5 x 0.8 + 0.5 x 0.9 = 0.85.
    import subprocess
    import sys

    from conftest import PX_HA

    lc = np.ones((10, 10), dtype="uint8")
    lc[:, 5:] = 2
    make_raster(tmp_path / "map.tif", lc, nodata=0)
    x0, y0 = ORIGIN
    pts, ref = [], []
    for i in range(10):
        pts.append(Point(x0 + 30 * (i % 5) + 15, y0 - 30 * i - 15))  # west half
        ref.append(1 if i < 8 else 2)
        pts.append(Point(x0 + 30 * (5 + i % 5) + 15, y0 - 30 * i - 15))  # east half
        ref.append(1 if i == 0 else 2)
    gpd.GeoDataFrame({"ref": ref}, geometry=pts, crs="EPSG:32650").to_file(tmp_path / "samples.gpkg")
    res = subprocess.run([sys.executable, "-m", "sinks", "accuracy", "samples.gpkg", "map.tif",
                          "--label-field", "ref", "--out", "areas.csv"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    t = pd.read_csv(tmp_path / "areas.csv", index_col="class")
    total = 100 * PX_HA
    assert t.loc[1, "mapped_area"] == pytest.approx(50 * PX_HA)
    assert t.loc[1, "area"] == pytest.approx(0.45 * total)
    assert t.loc[1, "area_se"] == pytest.approx(0.083333 * total, rel=1e-4)
    assert t.loc[1, "area_ci95"] == pytest.approx(1.96 * 0.083333 * total, rel=1e-4)
    assert t.loc[2, "users_accuracy"] == pytest.approx(0.9)
    assert t.loc[1, "producers_accuracy"] == pytest.approx(0.4 / 0.45)
    assert t.loc[1, "overall_accuracy"] == pytest.approx(0.85)
    assert "overall accuracy 0.850" in res.stdout

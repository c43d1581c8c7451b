"""Area-adjusted rows (sinks.methods.area_adjusted.rows) from an accuracy assessment of the tiny
case: the epoch rows (Olofsson et al. 2014 stratified area estimator) and the period rows from
a change-map assessment (stratified totals, analytic and by the rescaled bootstrap), for the
stock-difference and gain-loss sinks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import PX_HA, build_tiny, density_table_with_sd, run_tiny_stages
from sinks.methods.gain_loss.maps import compute_gain_loss
from sinks.run import Run


def _epoch_samples(root):
    """Reference points of the tiny 2000 map: one at every pixel centre, labelled as mapped
    except r0c2 (mapped cropland, code 1; reference forest, code 2), and a 2nd point in the only
    settlement pixel (code 8) so every stratum has 2 samples."""
    import geopandas as gpd
    from shapely.geometry import Point

    from conftest import LC_2000, ORIGIN

    pts, ref = [], []
    for r in range(3):
        for c in range(4):
            pts.append(Point(ORIGIN[0] + 30 * c + 15, ORIGIN[1] - 30 * r - 15))
            ref.append(2 if (r, c) == (0, 2) else int(LC_2000[r, c]))
    pts.append(Point(ORIGIN[0] + 20, ORIGIN[1] - 80))
    ref.append(8)
    gpd.GeoDataFrame({"ref": ref}, geometry=pts, crs="EPSG:32650").to_file(root / "samples.gpkg")
    return {"samples": "samples.gpkg", "label_field": "ref", "year": 2000}


def _assert_total_area_exact(df):
    """Each zone's area over all classes is its mapped area (12 px in all), with sd 0."""
    rows = df[(df.ecosystem == "all") & (df.quantity == "area") & (df.year_start == 2000)]
    mapped = rows[rows.method == "stock_difference"].set_index("zone_name")
    adj = rows[rows.method == "stock_difference_area_adjusted"].set_index("zone_name")
    assert list(adj.index) == ["W", "E"]
    for zone in ("W", "E"):
        assert adj.loc[zone, "value"] == pytest.approx(mapped.loc[zone, "value"], rel=1e-12)
        assert adj.loc[zone, "value"] == pytest.approx(6 * PX_HA, rel=1e-9)
        assert adj.loc[zone, "sd"] == 0
        assert adj.loc[zone, "ci_low"] == adj.loc[zone, "ci_high"] == adj.loc[zone, "value"]


def test_area_adjusted_rows_from_an_accuracy_assessment(tmp_path, chdir):
    # Strata = the 2000 map classes. Zone E holds the cropland stratum (4 px, 4 points, r0c2 is
    # reference forest) and water (2 px, 2 points, both water). Cropland indicator in the cropland
    # stratum {1, 1, 1, 0}: mean 3/4, s^2 = 1/4, s^2 / n = 1/16, so E cropland = 4 px x 3/4
    # = 3 px, sd = 4 px x 1/4 = 1 px; forest indicator {0, 0, 1, 0}: 1 px, sd 1 px. Zone W's
    # strata all agree: forest 3 px, sd 0 (the cropland error is E's, not reallocated to W).
    root = chdir(build_tiny(tmp_path))
    aa = _epoch_samples(root)
    _, _, df = run_tiny_stages(root, lambda c: c.update(uncertainty={
        "approaches": ["approach1"], "accuracy_assessment": aa}))
    adj = df[df.method == "stock_difference_area_adjusted"].set_index(["zone_name", "ecosystem", "quantity"])
    assert adj.loc[("E", "cropland", "area"), "value"] == pytest.approx(3 * PX_HA)
    assert adj.loc[("E", "cropland", "area"), "sd"] == pytest.approx(1 * PX_HA)
    assert adj.loc[("E", "forest", "area"), "value"] == pytest.approx(1 * PX_HA)
    assert adj.loc[("E", "forest", "area"), "sd"] == pytest.approx(1 * PX_HA)
    assert adj.loc[("W", "forest", "area"), "value"] == pytest.approx(3 * PX_HA)
    assert adj.loc[("W", "forest", "area"), "sd"] == 0
    # InVEST table (conftest, no sd column: sampling error only): cropland 45, forest 94 Mg C/ha.
    # E cropland stock 3 px x 45, sd 1 px x 45. E over all classes: y = {45, 45, 94, 45} in the
    # cropland stratum, mean 57.25, s^2 = 600.25, so 4 px x 57.25 = 229 px, sd 4 px x
    # sqrt(600.25 / 4) = 49 px; water adds 0 +- 0.
    assert adj.loc[("E", "cropland", "carbon_stock"), "value"] == pytest.approx(135 * PX_HA)
    assert adj.loc[("E", "cropland", "carbon_stock"), "sd"] == pytest.approx(45 * PX_HA)
    assert adj.loc[("E", "all", "carbon_stock"), "value"] == pytest.approx(229 * PX_HA)
    assert adj.loc[("E", "all", "carbon_stock"), "sd"] == pytest.approx(49 * PX_HA)
    assert adj.loc[("E", "all", "carbon_stock"), "uncertainty_approach"].startswith("sampling error")
    _assert_total_area_exact(df)
    table = pd.read_csv(tmp_path / "data/processed/my_county/outputs/accuracy_assessment_2000.csv",
                        index_col="class")
    assert table.loc[1, "mapped_area"] == pytest.approx(4 * PX_HA)
    assert table.loc[1, "area"] == pytest.approx(3 * PX_HA) and table.loc[1, "users_accuracy"] == 0.75


def _epoch_case_with_density_sd(root, **uncertainty):
    """The epoch sample on the tiny case with the conftest density table with sds: zone rows."""
    aa = _epoch_samples(root)
    (root / "densities.csv").write_text(density_table_with_sd())
    _, _, df = run_tiny_stages(root, lambda c: (
        c.update(carbon={"densities": "densities.csv", "paddy_share": 0.5}),
        c.update(uncertainty={**uncertainty, "accuracy_assessment": aa})))
    return df


def test_area_adjusted_stock_rows_with_density_errors(tmp_path, chdir):
    # The same sample with the conftest density table with sds (same totals: cropland 45,
    # forest 94 Mg C/ha; AGB sd forest 6, cropland sqrt(2.5)). E's stock over all classes is
    # 229 px; its density coefficients are the adjusted areas, forest 1 px and cropland 3 px, so
    # Approach 1: var = 49^2 (sampling) + (1 x 6)^2 + 3^2 x 2.5 = 2459.5 px^2.
    df = _epoch_case_with_density_sd(chdir(build_tiny(tmp_path)), approaches=["approach1"])
    adj = df[df.method == "stock_difference_area_adjusted"].set_index(["zone_name", "ecosystem", "quantity"])
    e = adj.loc[("E", "all", "carbon_stock")]
    assert e["value"] == pytest.approx(229 * PX_HA)
    assert e["sd"] == pytest.approx(2459.5 ** 0.5 * PX_HA)
    assert e["uncertainty_approach"].startswith("IPCC Approach 1")
    # W agrees with its map: density term only, forest 3 px x 6 and shrub 2 px x 1.
    assert adj.loc[("W", "all", "carbon_stock"), "sd"] == pytest.approx(328 ** 0.5 * PX_HA)
    _assert_total_area_exact(df)


def test_area_adjusted_epoch_monte_carlo(tmp_path, chdir):
    # Monte Carlo: the density draws with the rescaled stratified bootstrap (Rao & Wu 1988), whose
    # variance is the analytic s^2 / n: E cropland area sd 1 px as above; E's stock over all
    # classes sd sqrt(2459.5) px (Approach 1) plus the product term of Var(shares) and the
    # densities' variance, 1^2 x 36 + 1^2 x 2.5 = 38.5 px^2 (under 1 % of the sd); 2000 draws give
    # the sd to about 1.5 % (resamples of a 4-point stratum), 6 % is 4 of those. The total area is
    # the same in every draw: sd 0.
    df = _epoch_case_with_density_sd(chdir(build_tiny(tmp_path)), approaches=["monte_carlo"],
                                     n_draws=2000)
    adj = df[df.method == "stock_difference_area_adjusted"].set_index(["zone_name", "ecosystem", "quantity"])
    assert adj.loc[("E", "cropland", "area"), "value"] == pytest.approx(3 * PX_HA)
    assert adj.loc[("E", "cropland", "area"), "sd"] == pytest.approx(1 * PX_HA, rel=0.06)
    e = adj.loc[("E", "all", "carbon_stock")]
    assert e["value"] == pytest.approx(229 * PX_HA)
    assert e["sd"] == pytest.approx(2498 ** 0.5 * PX_HA, rel=0.06)
    assert e["ci_low"] < e["value"] < e["ci_high"]
    assert e["uncertainty_approach"].startswith("IPCC Approach 2")
    _assert_total_area_exact(df)


# A hand case of two strata: mapped class 1 (10 ha, reference classes 1, 1, 2) and mapped
# class 2 (20 ha, reference 2, 2, 2, 1); densities 40 +- 4 and 100 +- 10 Mg C/ha.
HAND_AREA = np.array([[0.0, 10.0, 20.0]])  # one zone; strata = compact classes 0, 1, 2
HAND_STRATUM = np.array([1, 1, 1, 2, 2, 2, 2])
HAND_TRUTH = np.array([1, 1, 2, 2, 2, 2, 1])
HAND_DENSITY = np.array([0.0, 40.0, 100.0])


def _hand_parameters():
    from sinks.density_model import independent_model
    from sinks.propagation import class_parameters

    return class_parameters(independent_model({(1, "agb"): {"dist": "normal", "mean": 40.0, "sd": 4.0},
                                               (2, "agb"): {"dist": "normal", "mean": 100.0, "sd": 10.0}}),
                            [None, 1, 2], None)


def test_stratified_stock_total_and_approach1_by_hand():
    # Stratum 1: y = 40, 40, 100, mean 60, s^2 = (400 + 400 + 1600) / 2 = 1200, s^2 / n = 400.
    # Stratum 2: y = 100, 100, 100, 40, mean 85, s^2 = (3 x 225 + 2025) / 3 = 900, s^2 / n = 225.
    # Stock 10 x 60 + 20 x 85 = 2300 Mg C; sampling var 10^2 x 400 + 20^2 x 225 = 130000.
    # Density coefficients (adjusted areas): class 1 10 x 2/3 + 20 x 1/4 = 35/3 ha, class 2
    # 10 x 1/3 + 20 x 3/4 = 55/3 ha; var (35/3 x 4)^2 + (55/3 x 10)^2 = 322100 / 9.
    from sinks.methods.area_adjusted.rows import _totals

    params = _hand_parameters()
    y = HAND_DENSITY[HAND_TRUTH, None]
    coef = params.total_weights()[HAND_TRUTH, None, :]
    value, var = _totals(HAND_AREA, HAND_STRATUM, y, coef, params, ["none", "1", "2"])
    assert value[0, 0] == pytest.approx(2300)
    assert var[0, 0] == pytest.approx(130000 + 322100 / 9)
    # Areas: class 1 indicator 35/3 ha, var 10^2 (2/9) / 2 + 20^2 (3/16) / 3 = 325/9; all classes:
    # y = 1 for every unit, 30 ha exactly, var 0.
    member = np.stack([HAND_TRUTH == 1, np.ones(7)], axis=1).astype(float)
    area, area_var = _totals(HAND_AREA, HAND_STRATUM, member, None, None, ["none", "1", "2"])
    assert area[0] == pytest.approx([35 / 3, 30], rel=1e-12)
    assert area_var[0, 0] == pytest.approx(325 / 9) and area_var[0, 1] == 0


def test_bootstrap_reproduces_the_analytic_sd_by_hand():
    # Rao & Wu (1988) rescaled bootstrap with the densities fixed: its variance is the analytic
    # 130000 (sd 360.56); 4000 draws estimate the sd to about 1 % (3 % is 3 of those). The
    # all-class area is 30 ha in every draw. With the density draws the sd is the Approach 1 one,
    # sqrt(130000 + 322100 / 9) = 407.17, plus the product term Var(class-1 area) x (4^2 + 10^2)
    # = 325/9 x 116 (1 %).
    from sinks.methods.area_adjusted.rows import _spread
    from sinks.propagation import stratified_bootstrap_means

    y = np.stack([HAND_DENSITY[HAND_TRUTH], np.ones(7)], axis=1)
    means = stratified_bootstrap_means(HAND_STRATUM, lambda j: y, 4000, 11)
    sd, lo, hi = _spread(HAND_AREA, HAND_STRATUM, means)
    assert sd[0, 0] == pytest.approx(130000 ** 0.5, rel=0.03)
    assert sd[0, 1] == 0 and lo[0, 1] == hi[0, 1] == pytest.approx(30, rel=1e-12)
    d = _hand_parameters().draws(4000, 5) @ _hand_parameters().total_weights().T
    means = stratified_bootstrap_means(HAND_STRATUM, lambda j: d[j][HAND_TRUTH, None], 4000, 11)
    sd, _, _ = _spread(HAND_AREA, HAND_STRATUM, means)
    assert sd[0, 0] == pytest.approx((130000 + 322100 / 9 + 325 / 9 * 116) ** 0.5, rel=0.03)


def _change_samples(root):
    """Reference points of the tiny 2000 -> 2020 change map: one at every pixel centre, labelled
    as mapped, plus a second point in every single-pixel stratum (transition) so each stratum
    has 2 samples; the second point of r0c2 (mapped cropland -> forest) is reference cropland
    -> cropland."""
    import geopandas as gpd
    from shapely.geometry import Point

    from conftest import LC_2000, LC_2020, ORIGIN

    single = {(0, 2), (1, 1), (1, 2), (2, 0), (2, 1)}
    pts, r0, r1 = [], [], []
    for r in range(3):
        for c in range(4):
            for extra in ([0, 5] if (r, c) in single else [0]):
                pts.append(Point(ORIGIN[0] + 30 * c + 15 + extra, ORIGIN[1] - 30 * r - 15))
                r0.append(int(LC_2000[r, c]))
                r1.append(1 if ((r, c), extra) == ((0, 2), 5) else int(LC_2020[r, c]))
    gpd.GeoDataFrame({"ref_2000": r0, "ref_2020": r1}, geometry=pts,
                     crs="EPSG:32650").to_file(root / "change_samples.gpkg")
    return {"samples": "change_samples.gpkg", "label_field": "ref_2000", "year": 2000,
            "year_end": 2020, "label_field_end": "ref_2020"}


def _sink_at(root, r, c):
    with rasterio.open(root / "data/processed/my_county/outputs/net_sink_2000_2020.tif") as src:
        return float(src.read(1)[r, c])


def test_period_rows_from_a_change_map_assessment(tmp_path, chdir):
    # Zone E's strata: cropland -> forest (r0c2, 1 px; samples: one cropland -> forest, one
    # cropland -> cropland), cropland -> settlement (r1c2), and stable pixels (rate 0). The
    # stratified total replaces the 1 px x rate x of r0c2 by 1 px x mean(x, 0) = x / 2 px;
    # its sampling variance A^2 s^2 / n = PX_HA^2 (x^2 / 2) / 2, so sd = x / 2 px. Other strata
    # agree with the map (s = 0). Zone W is unchanged.
    root = chdir(build_tiny(tmp_path))
    aa = _change_samples(root)
    _, _, df = run_tiny_stages(root, lambda c: c.update(uncertainty={
        "approaches": ["approach1"], "accuracy_assessment": aa}))
    x = 49 * 44 / 12 / 20  # Mg CO2/ha/yr of cropland -> forest (InVEST table: 94 - 45 Mg C/ha; D = Δt = 20)
    assert _sink_at(root, 0, 2) == pytest.approx(x, rel=1e-6)
    rows = df[(df.ecosystem == "all") & (df.quantity == "net_sink")].set_index(["zone_name", "method"])
    mapped_e = rows.loc[("E", "land_use_change"), "value"]
    adj_e = rows.loc[("E", "land_use_change_area_adjusted")]
    assert adj_e["value"] == pytest.approx(mapped_e - x / 2 * PX_HA, rel=1e-6)
    assert adj_e["sd"] == pytest.approx(x / 2 * PX_HA, rel=1e-6)
    assert adj_e["uncertainty_approach"].startswith("sampling error")
    assert rows.loc[("W", "land_use_change_area_adjusted"), "value"] == pytest.approx(
        rows.loc[("W", "land_use_change"), "value"], rel=1e-9)
    assert rows.loc[("W", "land_use_change_area_adjusted"), "sd"] == 0
    # Ecosystem at the end: half of r0c2's area is reference forest, half cropland.
    eco = df[(df.method == "land_use_change_area_adjusted") & (df.zone_name == "E")].set_index("ecosystem")
    assert eco.loc["forest", "value"] == pytest.approx(x / 2 * PX_HA, rel=1e-6)
    assert eco.loc["cropland", "value"] == 0  # cropland remaining cropland: no change
    table = pd.read_csv(root / "data/processed/my_county/outputs/accuracy_assessment_2000_2020.csv")
    row = table[(table.from_code == 1) & (table.to_code == 2)].iloc[0]
    assert row["area"] == pytest.approx(0.5 * PX_HA) and row["users_accuracy"] == 0.5


def test_period_rows_monte_carlo_bootstrap_and_gain_loss(tmp_path, chdir):
    # Same sample with the sinks density table (sd columns) held fixed (vary_pools: []): the
    # Monte Carlo spread is then the rescaled stratified bootstrap alone (Rao & Wu 1988), whose
    # sd for a 2-unit stratum {x, 0} is x / 2 (as the analytic sampling error above).
    root = chdir(build_tiny(tmp_path))
    aa = _change_samples(root)
    cfg, paths, df = run_tiny_stages(root, lambda c: (
        c["carbon"].update(densities="jiangxi_default", method=["stock_difference", "gain_loss"]),
        c.update(uncertainty={"approaches": ["monte_carlo"], "vary_pools": [], "n_draws": 2000,
                              "accuracy_assessment": aa})))
    x = _sink_at(root, 0, 2)
    rows = df[(df.ecosystem == "all") & (df.zone_name == "E") & (df.quantity == "net_sink")].set_index("method")
    adj = rows.loc["land_use_change_area_adjusted"]
    assert adj["value"] == pytest.approx(rows.loc["land_use_change", "value"] - x / 2 * PX_HA, rel=1e-5)
    assert adj["sd"] == pytest.approx(x / 2 * PX_HA, rel=0.06)
    assert adj["uncertainty_approach"].startswith("IPCC Approach 2")
    # Gain-loss: the same reallocation with the gain-loss rate of cropland -> forest (r0c2 of its
    # map) against 0 for cropland remaining cropland (Tier 1).
    compute_gain_loss(Run(cfg, paths), 2000, 2020)
    with rasterio.open(root / "data/processed/my_county/outputs/gain_loss_net_2000_2020.tif") as src:
        g = float(src.read(1)[0, 2])
    gl = rows.loc["gain_loss_area_adjusted"]
    assert gl["value"] == pytest.approx(rows.loc["gain_loss", "value"] - g / 2 * PX_HA, rel=1e-5)
    assert gl["sd"] > g / 2 * PX_HA * 0.9  # sampling error plus the registry parameters
    assert gl["ci_low"] < gl["value"] < gl["ci_high"]

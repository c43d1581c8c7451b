"""Area-adjusted rows (sinks.methods.area_adjusted.rows) from an accuracy assessment of the tiny
case: the epoch rows (Olofsson et al. 2014 stratified area estimator) and the period rows from
a change-map assessment (stratified totals, analytic and by the rescaled bootstrap), for the
stock-difference and gain-loss sinks."""

from __future__ import annotations

import pandas as pd
import pytest
import rasterio

from conftest import PX_HA, build_tiny, run_tiny_stages
from sinks.methods.gain_loss.maps import compute_gain_loss
from sinks.run import Run


def test_area_adjusted_rows_from_an_accuracy_assessment(tmp_path, chdir):
    # Every pixel of the tiny 2000 map is a reference point, all labelled as mapped except r0c2:
    # mapped cropland (code 1), reference forest (code 2). Olofsson: cropland stratum n = 4,
    # 3 agree: A_1 adj = 0.75 x mapped (rho_1 = 0.75), SE(p_.1) = sqrt((4/12)^2 x 0.75 x 0.25 / 3)
    # = 1/12, so SE = 12 px / 12 = 1 px and sd(rho_1) = 1/4. Forest: mapped 3 px + 1 px from
    # cropland = 4 px (rho_2 = 4/3). Zone E holds the 4 cropland px: adjusted 3 px, sd 1 px.
    import geopandas as gpd
    from shapely.geometry import Point

    from conftest import LC_2000, ORIGIN

    root = chdir(build_tiny(tmp_path))
    pts, ref = [], []
    for r in range(3):
        for c in range(4):
            pts.append(Point(ORIGIN[0] + 30 * c + 15, ORIGIN[1] - 30 * r - 15))
            ref.append(2 if (r, c) == (0, 2) else int(LC_2000[r, c]))
    pts.append(Point(ORIGIN[0] + 20, ORIGIN[1] - 80))  # a 2nd sample in the only settlement pixel
    ref.append(8)
    gpd.GeoDataFrame({"ref": ref}, geometry=pts, crs="EPSG:32650").to_file(root / "samples.gpkg")
    _, _, df = run_tiny_stages(root, lambda c: c.update(uncertainty={
        "approaches": ["approach1"],
        "accuracy_assessment": {"samples": "samples.gpkg", "label_field": "ref", "year": 2000}}))
    adj = df[df.method == "stock_difference_area_adjusted"].set_index(["zone_name", "ecosystem", "quantity"])
    assert adj.loc[("E", "cropland", "area"), "value"] == pytest.approx(3 * PX_HA)
    assert adj.loc[("E", "cropland", "area"), "sd"] == pytest.approx(1 * PX_HA)
    assert adj.loc[("W", "forest", "area"), "value"] == pytest.approx(4 * PX_HA)
    # InVEST table (conftest): cropland total density 45 Mg C/ha -> stock 3 px x 45, sd 1 px x 45
    # (the InVEST table has no sd column, so only the area term)
    assert adj.loc[("E", "cropland", "carbon_stock"), "value"] == pytest.approx(135 * PX_HA)
    assert adj.loc[("E", "cropland", "carbon_stock"), "sd"] == pytest.approx(45 * PX_HA)
    # region totals are conserved: 12 px in all
    total = adj.xs("area", level="quantity").xs("all", level="ecosystem")["value"].sum()
    assert total == pytest.approx(12 * PX_HA)
    assert (tmp_path / "data/processed/my_county/outputs/accuracy_assessment_2000.csv").is_file()


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
    x = 49 * 44 / 12 / 20  # Mg CO2/ha/yr of cropland -> forest (InVEST table: 94 - 45 Mg C/ha)
    assert _sink_at(root, 0, 2) == pytest.approx(x, rel=1e-6)
    rows = df[(df.ecosystem == "all") & (df.quantity == "net_sink")].set_index(["zone_name", "method"])
    mapped_e = rows.loc[("E", "stock_difference"), "value"]
    adj_e = rows.loc[("E", "stock_difference_area_adjusted")]
    assert adj_e["value"] == pytest.approx(mapped_e - x / 2 * PX_HA, rel=1e-6)
    assert adj_e["sd"] == pytest.approx(x / 2 * PX_HA, rel=1e-6)
    assert adj_e["uncertainty_approach"].startswith("sampling error")
    assert rows.loc[("W", "stock_difference_area_adjusted"), "value"] == pytest.approx(
        rows.loc[("W", "stock_difference"), "value"], rel=1e-9)
    assert rows.loc[("W", "stock_difference_area_adjusted"), "sd"] == 0
    # Ecosystem at the end: half of r0c2's area is reference forest, half cropland.
    eco = df[(df.method == "stock_difference_area_adjusted") & (df.zone_name == "E")].set_index("ecosystem")
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
    adj = rows.loc["stock_difference_area_adjusted"]
    assert adj["value"] == pytest.approx(rows.loc["stock_difference", "value"] - x / 2 * PX_HA, rel=1e-5)
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

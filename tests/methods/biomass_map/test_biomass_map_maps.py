"""Biomass-map stages (sinks.methods.biomass_map.maps): imagery features as a workflow step
(reflectance scenes declared in the config -> composite on the run grid -> spectral-index COGs in
interim/, usable as biomass features 'index:NAME'), the biomass model and map of an epoch, and
the remote-sensing sink of two map epochs (conftest.two_epochs) by hand; no map stock is ever
differenced against a class default."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import (AGB_2000, CF, LC_2000, PX_HA, U_CF1R, biomass_config, build_tiny, make_raster,
                      make_scene, rows_where, run_tiny_stages, s2_case, sinks_cli, write_config,
                      write_maps)
from conftest import ROOT_SHOOT as R
from sinks.errors import InputDataError
from sinks.methods.biomass_map.maps import (compute_rs_sink, extract_features, predict_biomass,
                                            train_biomass)
from sinks.paths import run_paths
from sinks.prepare import align_landcover, rasterize_zones
from sinks.run import Run


@pytest.mark.workflow
def test_extract_features_rule_on_the_sentinel2_grid(tmp_path):
    s2_case(tmp_path)
    res = sinks_cli("run", "config.yaml", "--cores", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    interim = tmp_path / "data/processed/s2/interim"
    with rasterio.open(interim / "index_NDVI_2020.tif") as src:
        ndvi = src.read(1)
        tags, unit = src.tags(), src.units[0]
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    # Pixel row 10, column 20 (as in test_rs_indices): DN R 1303, N 1424 x 1e-4 ->
    # NDVI = (0.1424 - 0.1303) / (0.1424 + 0.1303) = 0.0121 / 0.2727; the run grid is the scene's.
    assert ndvi[10, 20] == pytest.approx(0.0121 / 0.2727, rel=1e-5)
    assert ndvi.shape == (200, 300) and unit == "1"
    assert "Awesome Spectral Indices" in tags["citation"] and "sentinel2_patagonia" in tags["inputs"]
    assert (interim / "index_EVI_2020.tif").is_file()
    assert (tmp_path / "data/processed/s2/logs/extract_features_2020.log").is_file()


def test_no_overlap_is_one_line(tmp_path, chdir):
    from sinks.config import load_config
    from sinks.errors import EmptyDataError
    chdir(tmp_path)
    make_scene(tmp_path / "far.tif", [np.full((4, 4), 1000)] * 2, origin=(900000.0, 3000000.0))
    make_raster(tmp_path / "lc.tif", np.full((4, 4), 2, dtype="uint8"), res=10.0, nodata=0)
    write_config(tmp_path / "config.yaml", {
        "run": {"name": "far"}, "landcover": {"legend": "clcd", "epochs": {2000: "lc.tif", 2001: "lc.tif"}},
        "imagery": {"scenes": {2000: [{"path": "far.tif", "bands": {"R": 1, "N": 2}, "scale": 1e-4}]},
                    "indices": ["NDVI"]}})
    cfg = load_config(tmp_path / "config.yaml")
    with pytest.raises(EmptyDataError, match="does not overlap the run grid") as err:
        extract_features(Run(cfg, run_paths(cfg)), 2000)
    assert "\n" not in str(err.value)


def test_index_feature_feeds_the_biomass_model(tmp_path, chdir):
    """Two synthetic scenes (median composite) -> NDVI by hand -> biomass features 'index:NDVI'
    -> SYNTHETIC plots, model and map of the epoch."""
    from sinks.config import load_config
    chdir(tmp_path)
    n = 40
    yy, xx = np.mgrid[0:n, 0:n]
    red = np.full((n, n), 400)
    nir = (400 * (1 + 0.8 + 0.1 * xx / (n - 1)) / (1 - 0.8 - 0.1 * xx / (n - 1))).round()  # NDVI 0.8-0.9
    make_scene(tmp_path / "a.tif", [red, nir], res=30.0)
    make_scene(tmp_path / "b.tif", [red, nir + 200], res=30.0)  # brighter NIR
    make_scene(tmp_path / "c.tif", [red, nir - 200], res=30.0)  # darker: the median is scene a
    make_raster(tmp_path / "lc.tif", np.full((n, n), 2, dtype="uint8"), res=30.0, nodata=0)
    scenes = [{"path": f"{s}.tif", "bands": {"R": 1, "N": 2}, "scale": 1e-4} for s in "abc"]
    write_config(tmp_path / "config.yaml", {
        "run": {"name": "idx"}, "landcover": {"legend": "clcd", "epochs": {2000: "lc.tif", 2001: "lc.tif"}},
        "imagery": {"scenes": {2000: scenes}, "indices": ["NDVI"]},
        "biomass": {"enabled": True, "year": 2000, "features": {"ndvi": "index:NDVI"},
                    "simulate_n": 100, "block_size": 300}})
    cfg = load_config(tmp_path / "config.yaml")
    paths = run_paths(cfg)
    rasterize_zones(Run(cfg, paths))
    align_landcover(Run(cfg, paths), 2000)
    extract_features(Run(cfg, paths), 2000)
    with rasterio.open(paths.index("NDVI", 2000)) as src:
        ndvi = src.read(1)
    expected = (nir - red) / (nir + red)
    np.testing.assert_allclose(ndvi, expected, rtol=1e-5)
    train_biomass(Run(cfg, paths))
    predict_biomass(Run(cfg, paths), 2000)
    with rasterio.open(paths.output("agb", year=2000)) as src:
        agb = src.read(1, masked=True)
        assert "index_NDVI_2000.tif" in src.tags()["inputs"]
    # simulator: AGB = -800 + 1100 NDVI (+ noise): 80-190 Mg/ha over NDVI 0.8-0.9
    assert 60 < float(agb.mean()) < 200 and agb.count() == n * n
    cv = pd.read_csv(paths.outputs / "biomass_cv_2000.csv")
    assert cv["synthetic"].all()
    # the plots layer: each plot's out-of-fold prediction is the spatial CV's (refit here on the
    # layer's own features, AGB and coordinates), never NULL; folds as in the CV table
    import geopandas as gpd

    from sinks.rs.biomass_model import fit_biomass_model
    plots = gpd.read_file(paths.output("biomass_plots", year=2000))
    assert plots["predicted_oof"].notna().all() and len(plots) > 0
    bio = cfg["biomass"]
    model = fit_biomass_model(plots[["ndvi"]], plots["agb"].to_numpy(), plots.geometry.x.to_numpy(),
                              plots.geometry.y.to_numpy(), bio["block_size"], bio["model"],
                              bio["alpha"], seed=bio["seed"])
    np.testing.assert_allclose(plots["predicted_oof"], model.oof["predicted"], rtol=1e-9)
    assert (plots["cv_fold"].to_numpy() == model.oof["fold"].to_numpy()).all()
    by_fold = plots.groupby("cv_fold").size()
    assert by_fold.to_dict() == cv[cv.fold != "all"].set_index(cv.fold[cv.fold != "all"].astype(int)).n.to_dict()


def test_rs_sink_of_two_agb_epochs_equals_hand_arithmetic(two_epochs):
    cfg, paths, df = two_epochs
    out = compute_rs_sink(Run(cfg, paths), 2000, 2020)
    # Pixels mapped at both ends: (0,0) 100 -> 110, (0,1) 80 -> 90, (1,0) 60 -> 60, all in W.
    # Per pixel: dAGB x CF x (1 + R) / 20 yr x 44/12; (0,2) and (1,1) are mapped in 2020 only.
    per_px = CF * (1 + R) / 20 * 44 / 12
    with rasterio.open(out) as src:
        sink = src.read(1, masked=True)
        assert src.tags()["sign_convention"].startswith("positive = net removal")
        assert src.tags()["synthetic"].startswith("true")
    assert sink[0, 0] == pytest.approx(10 * per_px, rel=1e-6)
    assert sink[1, 0] == pytest.approx(0.0, abs=1e-9)
    assert sink.mask[0, 2] and sink.mask[1, 1] and int(sink.count()) == 3
    rs = rows_where(df, quantity="net_sink", method="biomass_map", ecosystem="all")
    assert rs.loc["W", "value"] == pytest.approx(20 * per_px * PX_HA, rel=1e-9)
    assert rs.loc["E", "value"] == 0.0
    # Interval: the model's coefficient error is 0 (tiny plots all AGB 100, see conftest); 3 pixels x 2 years of independent sd 10, and
    # CF (1 + R) scales the whole change of 20 Mg: sd = per_px x PX_HA x sqrt(600 + (20 U_CF1R)^2).
    assert rs.loc["W", "sd"] == pytest.approx(per_px * PX_HA * np.sqrt(600 + (20 * U_CF1R) ** 2), rel=1e-3)
    assert "same refit at both ends" in rs.loc["W", "uncertainty_approach"]


def test_mixed_period_gets_no_rs_sink_and_refuses_explicit_request(tmp_path, chdir, caplog):
    root = chdir(build_tiny(tmp_path))
    make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
    with caplog.at_level("INFO"):
        cfg, paths, df = run_tiny_stages(root, biomass_config([2000]),
                                         before_summary=write_maps({2000: AGB_2000}))
    assert not ((df.method == "biomass_map") & (df.quantity == "net_sink")).any()
    assert "no remote-sensing sink for 2000-2020" in caplog.text
    # The class-default sink map is not touched by the 2000 map: still 94 - 94 = 0 on (0,0).
    with rasterio.open(paths.output("net_sink", y0=2000, y1=2020)) as src:
        assert src.read(1)[0, 0] == 0.0
    with pytest.raises(InputDataError, match="never differenced against a class-default"):
        compute_rs_sink(Run(cfg, paths), 2000, 2020)

"""Zone rows of the biomass map (sinks.methods.biomass_map.rows) on the tiny case: the same
rows whatever the chunking, and the interval of the map-based stock combining pixel, model and
density errors (Approach 1 by hand, and the Monte Carlo converging to it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from conftest import (AGB_2000, AGB_2020, CF, LC_2000, PX_HA, U_CF, U_CF1R, biomass_config, build_tiny,
                      density_table_with_sd, make_raster, rows_where, run_tiny_stages, write_maps)
from conftest import ROOT_SHOOT as R
from sinks.methods.stock_difference.maps import map_stock_uncertainty
from sinks.run import Run


def test_zone_rows_do_not_depend_on_chunks(tmp_path, chdir):
    tables = []
    for chunks in (2048, 2):
        (tmp_path / str(chunks)).mkdir()
        root = chdir(build_tiny(tmp_path / str(chunks)))
        make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
        _, _, df = run_tiny_stages(root, biomass_config([2000, 2020]), chunks=chunks,
                                   before_summary=write_maps({2000: AGB_2000, 2020: AGB_2020}))
        tables.append(df[df.method == "biomass_map"].reset_index(drop=True))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def _map_stocks_with_density_sd(tmp_path, chdir, uncertainty):
    """The tiny case with a 2000 AGB map, the sinks table of conftest.density_table_with_sd (AGB
    sd: forest 6, shrub 1) plus a forest soil sd of 4 Mg C/ha so the pools that stay class
    defaults carry uncertainty; ``uncertainty`` is the config section."""
    root = chdir(build_tiny(tmp_path))
    make_raster(root / "ndvi.tif", np.full(LC_2000.shape, 0.8, dtype="float32"))
    (root / "densities.csv").write_text(density_table_with_sd().replace(
        "forest,soc,55,Mg C ha-1,0,none", "forest,soc,55,Mg C ha-1,4,normal"))

    def edit(cfg):
        biomass_config([2000])(cfg)
        cfg["carbon"] = {"densities": "densities.csv", "paddy_share": 0.5}
        cfg["uncertainty"] = uncertainty
    return run_tiny_stages(root, edit, before_summary=write_maps({2000: AGB_2000}))


def test_uncertainty_of_map_stocks_combines_pixel_model_and_density_errors(tmp_path, chdir):
    """Approach 1 (see _map_stocks_with_density_sd for the densities)."""

    cfg, paths, df = _map_stocks_with_density_sd(tmp_path, chdir, {"approaches": ["approach1"], "seed": 7})
    f = CF * (1 + R)  # Mg C per Mg d.m. of AGB, AGB + BGB
    # W 2000, map-based total: shrub 2 px (AGB sd 1 each) and the soil of the 3 mapped forest
    # px (sd 4 each) from the densities: 2^2 + 12^2 = 148; the map: 3 px of sd 10 independent
    # (300; no coefficient error: the tiny plots all have AGB 100): f^2 x 300; CF (1 + R) on
    # the map's 240 Mg: (U_CF1R x f x 240)^2.
    row = rows_where(df, quantity="carbon_stock", method="biomass_map", ecosystem="all", year_start=2000).loc["W"]
    assert row.sd == pytest.approx(PX_HA * np.sqrt(148 + f ** 2 * 300 + (U_CF1R * f * 240) ** 2), rel=1e-9)
    assert row.ci_high - row.value == pytest.approx(1.96 * row.sd)
    # class-default row: forest AGB 3 px x 6 and soil 3 px x 4, shrub 2 px x 1: 324 + 144 + 4
    default = rows_where(df, quantity="carbon_stock", method="stock_difference", ecosystem="all", year_start=2000).loc["W"]
    assert default.sd == pytest.approx(PX_HA * np.sqrt(472), rel=1e-9)
    # Per-pixel sd map: mapped forest pixel sqrt(4^2 + (f x 10)^2 + (U_CF1R x f x 100)^2);
    # shrub pixel 1 (its AGB sd).
    map_stock_uncertainty(Run(cfg, paths), 2000)
    with rasterio.open(paths.output("carbon_stock_sd", year=2000)) as src:
        sd = src.read(1)
        assert "pixel error" in src.tags()["model"]
    px_sd = np.sqrt(16 + (f * 10) ** 2 + (U_CF1R * f * 100) ** 2)
    assert sd[0, 0] == pytest.approx(px_sd, rel=1e-5)
    assert sd[1, 1] == pytest.approx(1.0, rel=1e-6)
    with rasterio.open(paths.output("carbon_stock_p97_5", year=2000)) as src:
        hi = src.read(1)
    assert hi[0, 0] == pytest.approx(100 * f + 57 + 1.96 * px_sd, rel=1e-5)


def test_monte_carlo_of_map_stocks_matches_approach1(tmp_path, chdir):
    """Normal densities and normal map errors: the Monte Carlo sd of the map-based total
    converges to the Approach 1 sd of the test above (4000 draws: about 1 % sampling error)."""
    _, _, df = _map_stocks_with_density_sd(tmp_path, chdir, {"approaches": ["monte_carlo"],
                                                            "n_draws": 4000, "seed": 7})
    f = CF * (1 + R)
    row = rows_where(df, quantity="carbon_stock", method="biomass_map", ecosystem="all", year_start=2000).loc["W"]
    assert row.sd == pytest.approx(PX_HA * np.sqrt(148 + f ** 2 * 300 + (U_CF1R * f * 240) ** 2), rel=0.05)
    assert row.ci_low < row.value < row.ci_high and "Monte Carlo" in row.uncertainty_approach


# Training plots of a linear tiny model: AGB about 30 + 90 NDVI + noise of ~12 (hand values; every
# refit predicts < 125 on the tiny NDVI, so one R), so refits on
# resampled plots have a known spread of slope and intercept.
LINEAR_PLOTS = {"ndvi": [0.5, 0.6, 0.7, 0.8, 0.9, 0.55, 0.65, 0.75],
                "agb": [70.0, 92.0, 74.0, 110.0, 96.0, 88.0, 72.0, 104.0]}


def _linear_model_run(tmp_path, chdir, monkeypatch, rise, refit_pixels=None):
    """The tiny case, both epochs mapped (AGB_2000, AGB_2020), the model a linear regression on
    LINEAR_PLOTS refit 40 times, NDVI 0.6 + 0.05 x column in 2000 and that + ``rise`` in 2020."""
    from sklearn.linear_model import LinearRegression

    from sinks.rs import biomass_model
    monkeypatch.setitem(biomass_model.MODELS, "random_forest", lambda seed: LinearRegression())
    root = chdir(build_tiny(tmp_path))
    ndvi = 0.6 + 0.05 * np.broadcast_to(np.arange(4), LC_2000.shape)
    make_raster(root / "ndvi_2000.tif", ndvi.astype("float32"))
    make_raster(root / "ndvi_2020.tif", (ndvi + rise).astype("float32"))

    def edit(cfg):
        biomass_config([2000, 2020])(cfg)
        cfg["biomass"].update(bootstrap=40, features={"ndvi": {2000: "ndvi_2000.tif", 2020: "ndvi_2020.tif"}})
        if refit_pixels:
            cfg["biomass"]["refit_pixels"] = refit_pixels
    cfg, _, df = run_tiny_stages(root, edit, before_summary=write_maps({2000: AGB_2000, 2020: AGB_2020},
                                                                       plots=LINEAR_PLOTS))
    refits = biomass_model.bootstrap_refits(pd.DataFrame({"ndvi": LINEAR_PLOTS["ndvi"]}), LINEAR_PLOTS["agb"],
                                            LinearRegression, 40, cfg["uncertainty"]["seed"])
    a = np.array([m.intercept_ for m in refits])
    b = np.array([m.coef_[0] for m in refits])
    return df, a, b


def test_the_sink_carries_the_slope_error_of_the_refits(tmp_path, chdir, monkeypatch):
    """W's pixels mapped at both ends, (0,0), (0,1), (1,0), each with NDVI + 0.1: a refit's
    change is its slope x 0.3 (its intercept cancels), so the coefficient error of W's sink is
    CF (1 + R) / 20 x 44/12 x PX_HA x 0.3 x sd(slope) (refit AGB all < 125: one R), added in
    quadrature to the pixel and factor errors of the test in test_biomass_map_maps."""
    df, a, b = _linear_model_run(tmp_path, chdir, monkeypatch, rise=0.1)
    per_px = CF * (1 + R) / 20 * 44 / 12
    model = per_px * PX_HA * 0.3 * b.std(ddof=1)
    rest = per_px * PX_HA * np.sqrt(600 + (20 * U_CF1R) ** 2)
    sink = rows_where(df, quantity="net_sink", method="biomass_map", ecosystem="all").loc["W"]
    assert model > 0.3 * rest  # the test can tell the part apart
    assert sink.sd == pytest.approx(np.hypot(rest, model), rel=1e-6)
    # The 2000 AGB stock of W: refit AGB on its 3 mapped pixels, 3 a + b (0.6 + 0.65 + 0.6).
    stock = rows_where(df, quantity="carbon_stock_agb", method="biomass_map", ecosystem="all",
                       year_start=2000).loc["W"]
    model0 = CF * PX_HA * (3 * a + 1.85 * b).std(ddof=1)
    assert stock.sd == pytest.approx(np.sqrt((CF * PX_HA) ** 2 * 300 + (240 * U_CF * CF * PX_HA) ** 2 + model0 ** 2), rel=1e-6)


def test_the_coefficient_error_common_to_both_epochs_cancels_in_the_sink(tmp_path, chdir, monkeypatch):
    """Same NDVI at both ends: every refit predicts the same AGB at both, so the sink has no
    coefficient error, though each epoch's stock has one (adding the two epochs' errors would
    give the sink sqrt(2) x per_px / CF x that of a stock, not 0)."""
    df, a, b = _linear_model_run(tmp_path, chdir, monkeypatch, rise=0.0)
    per_px = CF * (1 + R) / 20 * 44 / 12
    sink = rows_where(df, quantity="net_sink", method="biomass_map", ecosystem="all").loc["W"]
    assert sink.sd == pytest.approx(per_px * PX_HA * np.sqrt(600 + (20 * U_CF1R) ** 2), rel=1e-9)
    stock = rows_where(df, quantity="carbon_stock_agb", method="biomass_map", ecosystem="all",
                       year_start=2020).loc["W"]
    assert stock.sd > CF * PX_HA * np.sqrt(4 * 100 + (290 * U_CF) ** 2) * 1.01


def test_refits_on_a_pixel_sample_scale_each_cell_by_its_sampled_area(tmp_path, chdir, monkeypatch):
    """biomass.refit_pixels 3 on the 12 px grid: the refits predict every 2nd row and column
    (s = ceil(sqrt(12 / 3)) = 2), of W's 3 mapped forest pixels only (0, 0), NDVI 0.6, and scale
    it by 3 / 1. The sink's refit change is then 3 x 0.1 b, as on every pixel (each pixel rises
    by 0.1: the same sd as the full computation); the 2000 stock's is 3 (a + 0.6 b) instead of
    3 a + 1.85 b. The rows' values stay the whole map's."""
    for name in ("full", "sample"):
        (tmp_path / name).mkdir()
    full, a, b = _linear_model_run(tmp_path / "full", chdir, monkeypatch, rise=0.1)
    df, _, _ = _linear_model_run(tmp_path / "sample", chdir, monkeypatch, rise=0.1, refit_pixels=3)
    pick = dict(method="biomass_map", ecosystem="all")
    sink, sink_full = (rows_where(d, quantity="net_sink", **pick).loc["W"] for d in (df, full))
    assert sink.value == sink_full.value
    assert sink.sd == pytest.approx(sink_full.sd, rel=1e-6)  # float32 predictions
    stock = rows_where(df, quantity="carbon_stock_agb", year_start=2000, **pick).loc["W"]
    assert stock.value == rows_where(full, quantity="carbon_stock_agb", year_start=2000, **pick).loc["W"].value
    model0 = CF * PX_HA * (3 * a + 1.8 * b).std(ddof=1)
    assert stock.sd == pytest.approx(np.sqrt((CF * PX_HA) ** 2 * 300 + (240 * U_CF * CF * PX_HA) ** 2 + model0 ** 2), rel=1e-6)

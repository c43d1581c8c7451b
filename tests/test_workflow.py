"""User-side tests: `sinks run` on a tiny config of the documented shape, incremental reruns
(dry runs), and the demo at coarse resolution."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from conftest import PX_HA, REPO, make_raster, sinks_cli, write_config

pytestmark = pytest.mark.workflow


def jobs_planned(dry_run_stdout: str) -> dict[str, int]:
    """Rule -> job count from Snakemake's dry-run 'Job stats' table."""
    counts, in_table = {}, False
    for line in dry_run_stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table:
            if len(parts) == 2 and parts[1].isdigit():
                if parts[0] != "total":
                    counts[parts[0]] = int(parts[1])
            elif parts and not set(parts[0]) <= {"-"}:
                break
    return counts


@pytest.fixture(scope="module")
def _tiny_done(tmp_path_factory):
    """One complete run of the tiny case, shared (read-only) by the tests of this module."""
    from conftest import build_tiny
    root = build_tiny(tmp_path_factory.mktemp("tiny_done"))
    res = sinks_cli("run", "config.yaml", "--cores", "2", cwd=root)
    assert res.returncode == 0, res.stderr[-3000:]
    return root


@pytest.fixture
def tiny_run(_tiny_done, tmp_path):
    """A private copy of the completed tiny run (file times and Snakemake metadata kept)."""
    dst = tmp_path / "run"
    shutil.copytree(_tiny_done, dst, symlinks=True)
    return dst


def test_tiny_run_outputs_and_hand_totals(tiny_run):
    out = tiny_run / "data/processed/my_county/outputs"
    for name in ["ecosystem_2000.tif", "carbon_stock_2000.tif", "carbon_stock_2020.tif",
                 "carbon_agb_2020.tif", "net_sink_2000_2020.tif", "zonal_summary.csv",
                 "zones_summary.gpkg", "summary.png", "land_cover_transitions.csv",
                 "net_sink_2000_2020.qml", "carbon_stock_2000.qml"]:
        assert (out / name).is_file(), name
    assert (tiny_run / "data/processed/my_county/run_config.yaml").is_file()
    df = pd.read_csv(out / "zonal_summary.csv", dtype={"zone_id": str})
    assert list(df.columns[:9]) == ["zone_level", "zone_id", "zone_name", "ecosystem", "quantity",
                                    "year_start", "year_end", "value", "unit"]
    assert set(df.zone_level) == {"township"}
    allx = df[df.ecosystem == "all"].set_index(["zone_name", "quantity", "year_start"])["value"]
    # Per-ha totals from conftest (InVEST table, total density 1:45 2:94 3:57 5:0 8:20):
    # 2000 W = 3x94 + 2x57 + 20 = 416, E = 4x45 = 180; 2020 W = 4x94 + 20 + 57 = 453, E = 94+2x45+20 = 204.
    assert allx[("W", "carbon_stock", 2000)] == pytest.approx(416 * PX_HA, rel=1e-6)
    assert allx[("E", "carbon_stock", 2000)] == pytest.approx(180 * PX_HA, rel=1e-6)
    assert allx[("W", "carbon_stock", 2020)] == pytest.approx(453 * PX_HA, rel=1e-6)
    assert allx[("E", "area", 2000)] == pytest.approx(6 * PX_HA, rel=1e-6)
    # Land-use-change component W: (453 - 416) / 20 yr x 44/12 Mg CO2 per ha-pixel (the one
    # change, shrub -> forest, books its soil over D = 20 yr, the whole period here).
    assert allx[("W", "net_sink", 2000)] == pytest.approx(37 / 20 * 44 / 12 * PX_HA, rel=1e-6)
    # The sink map holds the per-ha value: forest gained on r0c2 (cropland 45 -> forest 94).
    with rasterio.open(out / "net_sink_2000_2020.tif") as src:
        sink = src.read(1)
    assert sink[0, 2] == pytest.approx((94 - 45) / 20 * 44 / 12, rel=1e-6)
    assert sink[1, 2] == pytest.approx((20 - 45) / 20 * 44 / 12, rel=1e-6)  # cropland -> built-up: source
    # Transition matrix: land area is conserved (its total equals both epochs' areas), and the
    # off-diagonal area is the changed pixels x pixel area.
    tr = pd.read_csv(out / "land_cover_transitions.csv", dtype={"zone_id": str})
    for zone in ("W", "E"):
        t = tr[tr.zone_name == zone]
        assert t.value.sum() == pytest.approx(allx[(zone, "area", 2000)], rel=1e-9)
        assert t.value.sum() == pytest.approx(allx[(zone, "area", 2020)], rel=1e-9)
    # Time series: cumulative change since 2000 and the period's sink at its end year.
    ts = pd.read_csv(out / "time_series.csv", dtype={"zone_id": str})
    w = ts[(ts.zone_name == "W") & (ts.ecosystem == "all") & (ts.method == "land_use_change")].set_index("year")
    assert w.loc[2020, "cumulative_change"] == pytest.approx((453 - 416) * PX_HA, rel=1e-6)
    assert w.loc[2020, "net_sink"] == pytest.approx(allx[("W", "net_sink", 2000)], rel=1e-9)
    assert np.isnan(w.loc[2000, "net_sink"])
    assert (out / "time_series.png").stat().st_size > 0
    changed = tr[tr.from_class != tr.to_class]
    assert changed.value.sum() == pytest.approx(changed_px(tiny_run) * PX_HA, rel=1e-9)


def changed_px(root: Path) -> int:
    """Pixels whose code differs between the tiny case's two epochs (both valid)."""
    with rasterio.open(root / "lc_2000.tif") as a, rasterio.open(root / "lc_2020.tif") as b:
        x, y = a.read(1), b.read(1)
    return int(((x != y) & (x != 0) & (y != 0)).sum())


def test_dry_run_adding_an_epoch_plans_only_new_work(tiny_run):
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    lc = np.array([[2, 2, 2, 2], [2, 2, 8, 5], [8, 2, 1, 5]], dtype="uint8")
    make_raster(tiny_run / "lc_2030.tif", lc, nodata=0)
    cfg["landcover"]["epochs"][2030] = "lc_2030.tif"
    write_config(tiny_run / "config.yaml", cfg)
    res = sinks_cli("run", "config.yaml", "--dry-run", cwd=tiny_run)
    assert res.returncode == 0, res.stderr[-2000:]
    jobs = jobs_planned(res.stdout)
    assert jobs.get("align_landcover") == 1 and "2030" in res.stdout
    assert jobs.get("compute_stock") == 1
    assert jobs.get("compute_sink") == 1
    assert jobs.get("classify_ecosystem") == 1
    assert "rasterize_zones" not in jobs
    assert "output: data/processed/my_county/outputs/net_sink_2020_2030.tif" in res.stdout


def test_dry_run_changing_densities_reruns_only_carbon(tiny_run):
    table = (tiny_run / "carbon_pools.csv").read_text().replace("2,30,7,55,2", "2,31,7,55,2")
    (tiny_run / "carbon_pools.csv").write_text(table)
    jobs = jobs_planned(sinks_cli("run", "config.yaml", "--dry-run", cwd=tiny_run).stdout)
    assert jobs.get("compute_stock") == 2 and jobs.get("compute_sink") == 1
    assert jobs.get("summarize") == 1
    assert "align_landcover" not in jobs and "classify_ecosystem" not in jobs
    assert "rasterize_zones" not in jobs


def test_dry_run_changing_a_config_parameter_reruns_dependents_only(tiny_run):
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    cfg["outputs"] = {"pool_maps": False}
    write_config(tiny_run / "config.yaml", cfg)
    jobs = jobs_planned(sinks_cli("run", "config.yaml", "--dry-run", cwd=tiny_run).stdout)
    assert jobs.get("compute_stock") == 2
    assert "align_landcover" not in jobs and "rasterize_zones" not in jobs


def test_dry_run_changing_the_compression_rewrites_every_map(tiny_run):
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    cfg["outputs"] = {"compression": "zstd"}
    write_config(tiny_run / "config.yaml", cfg)
    jobs = jobs_planned(sinks_cli("run", "config.yaml", "--dry-run", cwd=tiny_run).stdout)
    assert jobs.get("align_landcover") == 2 and jobs.get("classify_ecosystem") == 2
    assert jobs.get("compute_stock") == 2 and jobs.get("compute_sink") == 1


def test_every_map_names_a_stored_config_after_a_partial_rerun(tiny_run):
    # A config edit reruns some jobs only: the folder then holds maps of two configs, and the
    # config_hash of each must resolve to the config that made it (issue 16, point 8).
    cfg = yaml.safe_load((tiny_run / "config.yaml").read_text())
    cfg["run"]["description"] = "edited"
    cfg["carbon"]["densities"] = "carbon_pools_v2.csv"
    table = (tiny_run / "carbon_pools.csv").read_text().replace("2,30,7,55,2", "2,31,7,55,2")
    (tiny_run / "carbon_pools_v2.csv").write_text(table)
    write_config(tiny_run / "config.yaml", cfg)
    res = sinks_cli("run", "config.yaml", "--cores", "2", cwd=tiny_run)
    assert res.returncode == 0, res.stderr[-3000:]
    run = tiny_run / "data/processed/my_county"
    hashes = set()
    for tif in (run / "outputs").glob("*.tif"):
        with rasterio.open(tif) as src:
            hashes.add(src.tags()["config_hash"])
    assert len(hashes) == 2  # the ecosystem maps kept the first config's hash
    for h in hashes:
        stored = yaml.safe_load((run / "configs" / f"{h}.yaml").read_text())
        assert stored["run"]["name"] == "my_county"
    latest = (run / "run_config.yaml").read_text()
    assert any(latest == (run / "configs" / f"{h}.yaml").read_text() for h in hashes)


def test_nothing_to_do_after_a_complete_run(tiny_run):
    res = sinks_cli("run", "config.yaml", "--dry-run", cwd=tiny_run)
    assert res.returncode == 0
    assert jobs_planned(res.stdout) == {}


@pytest.mark.slow
def test_demo_runs_at_coarse_resolution(tmp_path):
    """The real demo config (real boundaries, MODIS 2019, scenario epochs) at 10 km."""
    cfg = yaml.safe_load((REPO / "config/config.yaml").read_text())
    cfg["grid"]["resolution"] = 10000
    cfg["landcover"]["epochs"][2019] = str(REPO / cfg["landcover"]["epochs"][2019])
    for z in cfg["zones"]:
        z["path"] = str(REPO / z["path"])
    cfg["biomass"]["features"] = {k: {y: str(REPO / p) for y, p in v.items()}
                                  for k, v in cfg["biomass"]["features"].items()}
    cfg["wetland"]["inundation"] = str(REPO / cfg["wetland"]["inundation"])
    for rule in cfg["landcover"]["reclassify"]:
        rule["raster"] = str(REPO / rule["raster"])
    sub = cfg["forest"]["subcompartments"]
    sub["path"] = str(REPO / sub["path"])
    write_config(tmp_path / "demo.yaml", cfg)
    res = sinks_cli("run", "demo.yaml", "--cores", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "data/processed/jiangxi_demo/outputs"
    df = pd.read_csv(out / "zonal_summary.csv", dtype={"zone_id": str})
    assert {"province", "city", "county", "lake", "basin"} <= set(df.zone_level)
    assert df[df.year_start == 2025].basis.str.startswith("scenario").all()
    epoch_2019 = df[(df.year_start == 2019) & (df.year_end == 2019) & (df.method != "biomass_map")]
    assert epoch_2019.basis.str.startswith("observed").all()
    forest = epoch_2019[epoch_2019.method == "forest_inventory"]
    assert (forest.basis == "observed; synthetic sub-compartments").all() and len(forest)
    with rasterio.open(out / "net_sink_2019_2025.tif") as src:
        assert src.tags()["scenario"] == "true" and "SCENARIO" in src.descriptions[0]
    # The plot-calibrated biomass map is labelled synthetic, and its CV report exists.
    with rasterio.open(out / "agb_2019.tif") as src:
        assert src.tags()["synthetic"].startswith("true") and "SYNTHETIC" in src.descriptions[0]
    cv = pd.read_csv(out / "biomass_cv_2019.csv").set_index("fold")
    assert cv.loc["all", "synthetic"] and 0.8 <= cv.loc["all", "coverage"] <= 1.0
    assert (out / "method_comparison.csv").is_file() and (out / "biomass_cv_2019.png").is_file()
    # Wetlands: the lake's open water is its own row, CH4 is a source, the layer is SYNTHETIC.
    lake = df[(df.zone_level == "lake") & (df.method == "gain_loss")]
    assert (lake[(lake.ecosystem == "lake_open_water") & (lake.quantity == "area")].value > 0).all()
    ch4 = df[(df.quantity == "ch4_emissions_co2e") & (df.ecosystem == "all") & (df.zone_level == "province")]
    assert (ch4.value < 0).all() and ch4.basis.str.contains("synthetic inundation").all()
    with rasterio.open(out / "inundation_frequency.tif") as src:
        assert src.tags()["basis"] == "synthetic" and "SYNTHETIC" in src.descriptions[0]
    bm = df[(df.method == "biomass_map") & (df.zone_level == "province") & (df.ecosystem == "forest")
            & (df.quantity == "carbon_stock_agb") & (df.year_start == 2019)].iloc[0]
    with rasterio.open(out / "agb_2019.tif") as src:  # province total = sum of AGB x CF x 100 km2 px
        agb = src.read(1, masked=True)
    assert bm.value == pytest.approx(float(agb.sum()) * 0.47 * 10_000, rel=0.02)
    assert bm.basis == "observed, synthetic plots" and bm.sd > 0
    # The stocks use the maps (2019, 2025); the rs sink exists for 2019-2025 only (no 2030 map).
    with rasterio.open(out / "carbon_stock_2019.tif") as src:
        assert "biomass map agb_2019.tif" in src.tags()["model"]
    with rasterio.open(out / "rs_net_sink_2019_2025.tif") as src:
        assert "SYNTHETIC plots, features" in src.descriptions[0] and src.tags()["scenario"] == "true"
    assert not (out / "rs_net_sink_2025_2030.tif").exists()
    rs = df[(df.method == "biomass_map") & (df.quantity == "net_sink")]
    assert set(zip(rs.year_start, rs.year_end)) == {(2019, 2025)}
    assert (rs.basis == "scenario, synthetic plots, synthetic features").all()  # the 2025 NDVI
    comparison = pd.read_csv(out / "method_comparison.csv", dtype={"zone_id": str})
    prov = comparison[comparison.zone_level == "province"].set_index("year_start")
    assert np.isfinite(prov.loc[2019, "biomass_map_minus_gain_loss_forest"])
    assert np.isnan(prov.loc[2025, "biomass_map"])
    # Dropping the 2025 map reruns the stocks and tables, not the model training.
    cfg["biomass"]["years"] = [2019]
    write_config(tmp_path / "demo.yaml", cfg)
    jobs = jobs_planned(sinks_cli("run", "demo.yaml", "--dry-run", cwd=tmp_path).stdout)
    assert "train_biomass" not in jobs and "predict_biomass" not in jobs
    assert jobs.get("compute_stock") == 2 and jobs.get("summarize") == 1
    # County totals add up to the province total (each pixel in exactly one county).
    tot = df[df.ecosystem == "all"].groupby(["zone_level", "quantity", "year_start", "year_end"])["value"].sum()
    for key in tot.loc["province"].index:
        assert tot.loc[("county", *key)] == pytest.approx(tot.loc[("province", *key)], rel=1e-9)
    # Province area close to the official 166,900 km2 at 10 km pixels.
    area = tot.loc[("province", "area", 2019, 2019)]
    assert area / 100 == pytest.approx(166_900, rel=0.02)
    # Plausibility (shared/reference/parameters.md 6.2): Jiangxi forest vegetation carbon
    # density 26-44 Mg C/ha (inventory); the demo's forest vegetation pools must lie in it.
    prov = df[(df.zone_level == "province") & (df.ecosystem == "forest") & (df.year_start == 2019)
              & (df.year_end == 2019) & (df.method == "stock_difference")].set_index("quantity")["value"]
    veg = (prov["carbon_stock_agb"] + prov["carbon_stock_bgb"] + prov["carbon_stock_dead"]) / prov["area"]
    assert 26.0 <= veg <= 44.3


@pytest.mark.workflow
def test_gain_loss_wetland_run_then_adding_an_epoch_plans_only_new_work(tmp_path):
    """The tiny case with gain-loss and the wetland section through Snakemake; a new epoch
    then needs only its conversion history and the new period's gain-loss maps."""
    from conftest import build_tiny
    root = build_tiny(tmp_path)
    make_raster(root / "flood.tif", np.array([[0, 0, 0, 0], [0, 0, 0, 0.9], [0, 0, 0, 0.4]],
                                             dtype="float32"), nodata=-1.0)
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    cfg["carbon"]["method"] = ["stock_difference", "gain_loss"]
    cfg["wetland"] = {"enabled": True, "inundation": "flood.tif", "open_water_threshold": 0.75}
    write_config(root / "config.yaml", cfg)
    res = sinks_cli("run", "config.yaml", "--cores", "2", cwd=root)
    assert res.returncode == 0, res.stderr[-3000:]
    out = root / "data/processed/my_county"
    assert (out / "outputs/inundation_frequency.tif").is_file()
    assert (out / "interim/conversion_history_2020.tif").is_file()
    make_raster(root / "lc_2030.tif", np.array([[2, 2, 2, 2], [2, 2, 8, 5], [8, 2, 1, 5]],
                                               dtype="uint8"), nodata=0)
    cfg["landcover"]["epochs"][2030] = "lc_2030.tif"
    write_config(root / "config.yaml", cfg)
    jobs = jobs_planned(sinks_cli("run", "config.yaml", "--dry-run", cwd=root).stdout)
    assert jobs.get("track_conversions") == 1 and jobs.get("compute_gain_loss") == 1
    assert "map_inundation" not in jobs

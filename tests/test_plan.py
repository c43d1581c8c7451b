"""The plan (sinks.plan): the config decides which outputs are made and which rules run."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import build_tiny, run_tiny_stages, write_config
from sinks import plan
from sinks.config import load_config
from sinks.paths import run_paths


def _cfg(root, edit=None):
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    if edit:
        edit(cfg)
    write_config(root / "config.yaml", cfg)
    return load_config(root / "config.yaml")


def _names(cfg):
    return {p.name for p in plan.targets(cfg, run_paths(cfg))}


def test_targets_follow_carbon_method(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    sd = _names(_cfg(root))
    assert {"net_sink_2000_2020.tif", "carbon_stock_2000.tif", "carbon_agb_2020.tif",
            "ecosystem_2000.tif", "zonal_summary.csv", "run_config.yaml"} <= sd
    assert "gain_loss_net_2000_2020.tif" not in sd and "method_comparison.csv" not in sd
    # the InVEST table has no sd column: no uncertainty maps or attribution
    assert not any("_sd.tif" in n or "attribution" in n for n in sd)
    gl = _names(_cfg(root, lambda c: c["carbon"].update(method=["gain_loss"])))
    assert "gain_loss_net_2000_2020.tif" in gl and "gross_removals_2000_2020.tif" in gl
    assert "net_sink_2000_2020.tif" not in gl and "method_comparison.csv" not in gl
    assert "carbon_stock_2000.tif" in gl  # stocks are made whatever the method
    both = _names(_cfg(root, lambda c: c["carbon"].update(method=["stock_difference", "gain_loss"])))
    assert {"net_sink_2000_2020.tif", "gain_loss_net_2000_2020.tif", "method_comparison.csv"} <= both
    no_pools = _names(_cfg(root, lambda c: c.update(outputs={"pool_maps": False})))
    assert "carbon_stock_2000.tif" in no_pools and "carbon_agb_2000.tif" not in no_pools


def test_rule_outputs_keep_wildcards_and_expand_the_rest(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    cfg = _cfg(root, lambda c: (c["carbon"].update(method=["stock_difference", "gain_loss"]),
                                c.update(potential={"enabled": True, "target_years": [2030, 2060],
                                                    "scenarios": ["business_as_usual"]})))
    paths = run_paths(cfg)
    assert plan.rule_outputs(cfg, paths, "compute_stock") == [
        str(paths.outputs / f"{k}_{{year}}.tif") for k in
        ("carbon_stock", "carbon_agb", "carbon_bgb", "carbon_dead", "carbon_soc")]
    assert plan.rule_outputs(cfg, paths, "compute_sink") == [str(paths.outputs / "net_sink_{y0}_{y1}.tif")]
    assert plan.rule_outputs(cfg, paths, "map_potential") == [
        str(paths.outputs / f"sink_potential_business_as_usual_{y}.tif") for y in (2030, 2060)]


def test_stage_order_runs_each_job_after_its_inputs(tmp_path, chdir):
    root = chdir(build_tiny(tmp_path))
    cfg = _cfg(root, lambda c: c["carbon"].update(method=["stock_difference", "gain_loss"]))
    jobs = plan.stage_order(cfg)
    rules = [r for r, _ in jobs]
    assert rules.index("rasterize_zones") < rules.index("align_landcover") < rules.index("track_conversions")
    assert rules.index("track_conversions") < rules.index("compute_gain_loss") < rules.index("summarize")
    assert ("align_landcover", {"year": 2020}) in jobs and ("compute_sink", {"y0": 2000, "y1": 2020}) in jobs
    assert rules[-3:] == ["summarize", "qgis_project", "report"] and len(jobs) == len({(r, tuple(j.items())) for r, j in jobs})


def test_gain_loss_alone_runs_without_stock_difference(tmp_path, chdir):
    # carbon.method decides what runs: no net_sink map or stock-difference sink rows, stocks
    # still reported, the summary figure shows the gain-loss map.
    root = chdir(build_tiny(tmp_path))
    cfg, paths, df = run_tiny_stages(root, lambda c: c["carbon"].update(method=["gain_loss"]))
    assert not paths.output("net_sink", y0=2000, y1=2020).exists()
    assert paths.output("gain_loss_net", y0=2000, y1=2020).exists() and paths.output("summary_plot").exists()
    sd = df[df.method == "stock_difference"]
    assert set(sd.quantity) >= {"carbon_stock", "area"} and "net_sink" not in set(sd.quantity)
    assert np.isfinite(df[(df.method == "gain_loss") & (df.quantity == "net_sink")].value).all()


@pytest.mark.parametrize("kind", ["agb", "sink_potential", "carbon_stock_sd"])
def test_plan_names_the_rule_of_every_kind(kind):
    from sinks.io.outputs import OUTPUTS
    assert OUTPUTS[kind].rule in plan.RULES
    assert callable(plan.RULES[OUTPUTS[kind].rule].load())

"""Bad input never yields a number: `sinks validate` / `sinks run` stop with exit 2 and one
line naming the file or key and the fix, and never touch earlier outputs."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import LC_2020, density_table_with_sd, make_halves, make_raster, write_config
from sinks.cli import main


def run_cli(*args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return exc.value.code, ""


def check_error(capsys, *args, expect: list[str]):
    code, _ = run_cli(*args)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("sinks: error:")]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in expect:
        assert word in lines[0], lines[0]
    return lines[0]


def edit_config(root, fn):
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    fn(cfg)
    write_config(root / "config.yaml", cfg)


@pytest.fixture
def case(tiny, chdir):
    chdir(tiny)
    return tiny


def test_valid_case_passes(case, capsys):
    code, _ = run_cli("validate", "config.yaml")
    assert code == 0


def test_validate_states_the_grid_size_before_any_job(case, capsys):
    assert run_cli("validate", "config.yaml")[0] == 0
    grid_line, = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ok  grid:")]
    assert "12 px, 0.00 GiB per float map" in grid_line and "grid.max_pixels 2e+09" in grid_line


def test_missing_raster(case, capsys):
    (case / "lc_2020.tif").unlink()
    check_error(capsys, "validate", "config.yaml", expect=["lc_2020.tif", "not found"])


def test_corrupt_raster(case, capsys):
    (case / "lc_2020.tif").write_bytes(b"II*\x00garbage" * 10)
    check_error(capsys, "validate", "config.yaml", expect=["lc_2020.tif", "cannot be read"])


def test_raster_without_crs(case, capsys):
    make_raster(case / "lc_2020.tif", LC_2020, nodata=0, crs=None)
    check_error(capsys, "validate", "config.yaml", expect=["lc_2020.tif", "no CRS"])


def test_all_nodata_raster(case, capsys):
    make_raster(case / "lc_2020.tif", np.zeros_like(LC_2020), nodata=0)
    check_error(capsys, "validate", "config.yaml", expect=["lc_2020.tif", "nodata"])


def test_raster_not_overlapping_the_region(case, capsys):
    make_raster(case / "lc_2020.tif", LC_2020, nodata=0, origin=(700000.0, 3300000.0))
    check_error(capsys, "validate", "config.yaml", expect=["lc_2020.tif", "does not overlap"])


def test_codes_missing_from_table_are_listed(case, capsys):
    lc = LC_2020.copy()
    lc[0, 0] = 7
    make_raster(case / "lc_2020.tif", lc, nodata=0)
    edit_config(case, lambda c: c["landcover"].update(legend=None))
    check_error(capsys, "validate", "config.yaml", expect=["lc_2020.tif", "[7]", "lucode"])


def test_codes_missing_from_legend_are_listed(case, capsys):
    (case / "legend.csv").write_text("code,ecosystem\n1,cropland\n2,forest\n3,shrub\n5,water\n")
    edit_config(case, lambda c: c["landcover"].update(legend="legend.csv"))
    check_error(capsys, "validate", "config.yaml", expect=["[8]", "legend"])


@pytest.mark.parametrize("row,expect", [
    ("2,-30,7,55,2", ["carbon_pools.csv", "negative"]),
    ("2,thirty,7,55,2", ["carbon_pools.csv", "not a number"]),
    ("2,inf,7,55,2", ["carbon_pools.csv", "not finite"]),
    ("2,1e39,7,55,2", ["carbon_pools.csv", "exceeds 10,000"]),  # beyond float32: was inf in the maps
])
def test_bad_density_values(case, capsys, row, expect):
    table = (case / "carbon_pools.csv").read_text().replace("2,30,7,55,2", row)
    (case / "carbon_pools.csv").write_text(table)
    check_error(capsys, "validate", "config.yaml", expect=expect)


def test_implausible_density_warns(case, capsys, caplog):
    table = (case / "carbon_pools.csv").read_text().replace("2,30,7,55,2", "2,3000,7,55,2")
    (case / "carbon_pools.csv").write_text(table)
    assert run_cli("validate", "config.yaml")[0] == 0
    assert "3000 Mg C ha-1 for lucode 2 is above 1000" in caplog.text


def test_duplicate_codes(case, capsys):
    table = (case / "carbon_pools.csv").read_text() + "2,1,1,1,1\n"
    (case / "carbon_pools.csv").write_text(table)
    check_error(capsys, "validate", "config.yaml", expect=["duplicate lucode", "[2]"])


def test_table_missing_a_pool_column(case, capsys):
    lines = [",".join(ln.split(",")[:4]) for ln in (case / "carbon_pools.csv").read_text().splitlines()]
    (case / "carbon_pools.csv").write_text("\n".join(lines) + "\n")
    check_error(capsys, "validate", "config.yaml", expect=["carbon_pools.csv", "c_dead"])


def test_sinks_table_missing_a_pool_row(case, capsys):
    (case / "dens.csv").write_text("ecosystem,pool,value,unit\nforest,agb,30,Mg C ha-1\n")
    edit_config(case, lambda c: c["carbon"].update(densities="dens.csv"))
    check_error(capsys, "validate", "config.yaml", expect=["dens.csv", "'forest'", "bgb"])


def test_misspelt_config_key(case, capsys):
    edit_config(case, lambda c: c["landcover"].update(lgend=c["landcover"].pop("legend")))
    check_error(capsys, "validate", "config.yaml", expect=["landcover", "'lgend'", "did you mean 'legend'"])


@pytest.mark.parametrize("name", ["..", ".", "../elsewhere", "a/b", "-rf", ".hidden"])
def test_run_name_stays_inside_its_folder(case, capsys, name):
    edit_config(case, lambda c: c["run"].update(name=name))
    check_error(capsys, "validate", "config.yaml", expect=["run.name"])


def test_resolution_in_the_wrong_unit_is_refused_before_any_job(case, capsys):
    # 0.00027 (degrees, ~30 m) typed on a metre CRS: a grid of 4.4e8 x 3.3e8 px
    edit_config(case, lambda c: c["grid"].update(resolution=0.00027))
    line = check_error(capsys, "validate", "config.yaml", expect=["grid.max_pixels", "metre"])
    assert "px at resolution 0.00027 metre" in line


def test_unknown_top_level_key(case, capsys):
    edit_config(case, lambda c: c.update(uncertanty={}))
    check_error(capsys, "validate", "config.yaml", expect=["'uncertanty'"])


def test_epoch_year_not_integer(case, capsys):
    edit_config(case, lambda c: c["landcover"].update(epochs={2000: "lc_2000.tif", "20x0": "lc_2020.tif"}))
    check_error(capsys, "validate", "config.yaml", expect=["landcover.epochs.20x0", "integer"])


def test_epoch_years_not_increasing(case, capsys):
    edit_config(case, lambda c: c["landcover"].update(epochs={2020: "lc_2020.tif", 2000: "lc_2000.tif"}))
    check_error(capsys, "validate", "config.yaml", expect=["landcover.epochs", "increasing"])


def test_zone_file_without_id_field(case, capsys):
    make_halves(case / "townships.gpkg", 4, 3, id_field="other_code")
    check_error(capsys, "validate", "config.yaml", expect=["townships.gpkg", "'code'", "other_code"])


def test_malformed_yaml(case, capsys):
    (case / "config.yaml").write_text("run: {name: x\nlandcover: [\n")
    check_error(capsys, "validate", "config.yaml", expect=["config.yaml", "malformed YAML", "line"])


def test_duplicate_codes_in_csv_legend(case, capsys):
    (case / "legend.csv").write_text("code,ecosystem\n1,cropland\n1,forest\n")
    edit_config(case, lambda c: c["landcover"].update(legend="legend.csv"))
    check_error(capsys, "validate", "config.yaml", expect=["legend.csv", "duplicate code"])


def test_failed_run_keeps_earlier_outputs(case, capsys):
    out = case / "data/processed/my_county/outputs"
    out.mkdir(parents=True)
    earlier = out / "carbon_stock_2000.tif"
    earlier.write_bytes(b"earlier result")
    (case / "lc_2020.tif").write_bytes(b"not a raster")
    check_error(capsys, "run", "config.yaml", "--cores", "1", expect=["lc_2020.tif"])
    assert earlier.read_bytes() == b"earlier result"


def test_a_full_disk_is_one_line(case, capsys, monkeypatch):
    import errno

    import sinks.cli

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "data/processed/my_county/outputs/x.csv")
    monkeypatch.setattr(sinks.cli.cli, "main", full)
    line = check_error(capsys, "run", "config.yaml", expect=["no space left", "outputs/x.csv", "earlier outputs are kept"])
    assert "internal error" not in line


def test_unknown_parameter_override(case, capsys):
    edit_config(case, lambda c: c.update(parameters={"carbon_fracton": 0.5}))
    check_error(capsys, "validate", "config.yaml", expect=["parameters.carbon_fracton",
                                                          "did you mean 'carbon_fraction'"])


def test_unconfirmed_parameter_used_without_override(case, capsys, monkeypatch):
    # Mark the growth rate UNCONFIRMED: a gain-loss run must refuse it, naming the fix.
    import sinks.parameters as P
    original = P.load_registry

    def flagged(overrides=None):
        reg = original(overrides)
        if "gw_plantation_subtropical_humid" not in (overrides or {}):
            reg.loc["gw_plantation_subtropical_humid", "status"] = "UNCONFIRMED"
        return reg
    monkeypatch.setattr(P, "load_registry", flagged)
    edit_config(case, lambda c: c["carbon"].update(method=["stock_difference", "gain_loss"]))
    check_error(capsys, "validate", "config.yaml",
                expect=["gw_plantation_subtropical_humid", "UNCONFIRMED", "parameters section"])


def test_biomass_feature_missing(case, capsys):
    edit_config(case, lambda c: c.update(biomass={"enabled": True, "year": 2000,
                                                  "features": {"ndvi": "ndvi.tif"}}))
    check_error(capsys, "validate", "config.yaml", expect=["ndvi.tif", "not found"])



def test_reclassify_raster_missing(case, capsys):
    rule = {"name": "tree_cover", "from_codes": [1], "to_code": 2, "raster": "ndvi_max.tif", "min": 0.7}
    edit_config(case, lambda c: c["landcover"].update(reclassify=[rule]))
    check_error(capsys, "validate", "config.yaml", expect=["ndvi_max.tif", "not found"])


@pytest.mark.parametrize("name", ["bureau_annual_update.yaml", "research_monte_carlo.yaml"])
def test_example_configs_validate(name, chdir):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[1]
    chdir(repo)
    code, _ = run_cli("validate", f"config/examples/{name}")
    assert code == 0


def test_density_row_not_its_derivation(case, capsys):
    # forest SOC derived_from soc_ref_lac (55) but the table says 60: caught by validate, one
    # line naming the table, the row and both values.
    table = pd.read_csv(io.StringIO(density_table_with_sd()))
    table["derived_from"] = ""
    forest_soc = (table.ecosystem == "forest") & (table.pool == "soc")
    table.loc[forest_soc, ["value", "derived_from"]] = [60, "soc_ref_lac"]
    table.to_csv(case / "dens.csv", index=False)
    edit_config(case, lambda c: c["carbon"].update(densities="dens.csv", paddy_share=0.5))
    check_error(capsys, "validate", "config.yaml", expect=["dens.csv", "forest/soc = 60", "soc_ref_lac = 55"])

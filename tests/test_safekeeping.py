"""Earlier outputs survive a failed rerun; a killed run's temporaries are removed (issue 16, 4)."""

from __future__ import annotations

import os

from sinks.safekeeping import KeptOutputs, remove_stale_temporaries, stale_temporaries


def make_run(root):
    (root / "outputs").mkdir(parents=True)
    (root / "interim").mkdir()
    (root / "logs").mkdir()
    for name, text in (("outputs/a.tif", "old a"), ("outputs/a.qml", "style a"),
                       ("outputs/b.csv", "old b"), ("interim/c.tif", "old c"), ("logs/x.log", "log")):
        (root / name).write_text(text)
    return root


def test_a_failed_rerun_gets_back_what_it_removed_and_keeps_what_it_rewrote(tmp_path):
    run = make_run(tmp_path / "run")
    with KeptOutputs(run) as kept:
        (run / "outputs/a.tif").unlink()  # Snakemake removes a job's outputs before running it
        (run / "interim/c.tif").unlink()
        (run / "outputs/b.csv").unlink()
        (run / "outputs/b.csv").write_text("new b")  # a job that succeeded before the failure
        restored = kept.restore()
    assert sorted(str(p) for p in restored) == [os.path.join("interim", "c.tif"), os.path.join("outputs", "a.tif")]
    assert (run / "outputs/a.tif").read_text() == "old a"
    assert (run / "interim/c.tif").read_text() == "old c"
    assert (run / "outputs/b.csv").read_text() == "new b"
    assert not (run / ".kept").exists()  # no second copy left behind
    assert (run / "logs/x.log").read_text() == "log"


def test_a_successful_run_leaves_no_links(tmp_path):
    run = make_run(tmp_path / "run")
    with KeptOutputs(run) as kept:
        assert (run / ".kept/outputs/a.tif").read_text() == "old a"
        assert os.stat(run / ".kept/outputs/a.tif").st_ino == os.stat(run / "outputs/a.tif").st_ino
        assert "logs" not in {p.parts[0] for p in kept.kept}
    assert not (run / ".kept").exists()


def test_temporaries_of_a_killed_run_are_removed(tmp_path):
    run = make_run(tmp_path / "run")
    for name in ("outputs/.carbon_stock_2019.1a2b3c4d.tiled.tif", "outputs/.net_sink.1a2b3c4d.cog.tif",
                 "interim/.run_config.yaml.tmp"):
        (run / name).write_text("partial")
    assert len(stale_temporaries(run)) == 3
    assert remove_stale_temporaries(run) == 3
    assert stale_temporaries(run) == [] and (run / "outputs/a.tif").exists()

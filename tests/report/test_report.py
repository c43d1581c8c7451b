"""The HTML report: its headline figures are the tables' values, it holds both languages with
the zones' Chinese names, badges follow the flagged inputs, it needs nothing online, and a
headless Chromium opens it without console errors."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import geopandas as gpd
import pandas as pd
import pytest

from sinks import plan
from sinks.report import report_files, write_report
from sinks.report.build import basis_flags, config_flags, scope_flags
from sinks.run import Run
from conftest import build_tiny, run_tiny_stages

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Marked(HTMLParser):
    """Collects the attributes of every element with ``data-quantity``, and every id."""

    def __init__(self):
        super().__init__()
        self.items, self.ids, self.hrefs = [], set(), []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-quantity" in a:
            self.items.append(a)
        if "id" in a:
            self.ids.add(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])


def _parse(path) -> Marked:
    p = Marked()
    p.feed(path.read_text(encoding="utf-8"))
    return p


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory):
    """The tiny case run to its tables and stock maps, its zones given Chinese names and one
    zone note an ASSUMPTION, then reported."""
    root = build_tiny(tmp_path_factory.mktemp("report"))
    zones = gpd.read_file(root / "townships.gpkg")
    zones["name_zh"] = ["西区", "东区"]
    zones.to_file(root / "townships.gpkg", driver="GPKG")

    def edit(cfg):
        cfg["zones"][0]["note"] = "ASSUMPTION: the halves stand in for townships"

    def stocks(cfg, paths):
        run = Run(cfg, paths)
        for rule, wildcards in plan.stage_order(cfg):
            if rule == "compute_stock":
                plan.RULES[rule].load()(run, **wildcards)

    with pytest.MonkeyPatch.context() as mp:  # the tiny config's paths are relative to it
        mp.chdir(root)
        cfg, paths, df = run_tiny_stages(root, edit, before_summary=stocks)
        run = Run(cfg, paths)
        write_report(run)
        yield run, df


def test_both_languages_written_and_linked(tiny_report):
    run, _ = tiny_report
    files = report_files(run)
    assert files["zh"].name == "report.html" and files["en"].name == "report_en.html"
    zh, en = (files[k].read_text(encoding="utf-8") for k in ("zh", "en"))
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert 'href="report_en.html"' in zh and 'href="report.html"' in en
    assert "西区" in zh and "东区" in zh and "西区" not in en  # the zones' Chinese names
    assert "分区统计表" in zh and "Zone tables" in en
    assert "森林" in zh  # class names translated


def test_every_headline_figure_is_its_table_value(tiny_report):
    run, df = tiny_report
    table = pd.read_csv(run.paths.output("zonal_summary"), dtype={"zone_id": str})
    for lang, path in report_files(run).items():
        items = _parse(path).items
        assert {i["data-quantity"] for i in items} >= {"carbon_stock", "net_sink"}, lang
        for a in items:
            assert a["data-source"] == "zonal_summary.csv"
            row = table[(table.zone_level == a["data-level"]) & (table.zone_id == a["data-zone"])
                        & (table.ecosystem == "all") & (table.quantity == a["data-quantity"])
                        & (table.method == a["data-method"])
                        & (table.year_start == int(a["data-year-start"]))
                        & (table.year_end == int(a["data-year-end"]))]
            assert len(row) == 1, a
            assert float(a["data-value"]) == row.value.iloc[0], a
            if a["data-low"]:
                assert float(a["data-low"]) == row.ci_low.iloc[0], a


def test_the_page_needs_nothing_online(tiny_report):
    run, _ = tiny_report
    for path in report_files(run).values():
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "<link" not in text and "@import" not in text
        assert 'src="http' not in text and "url(" not in text
        assert 'src="data:image/png;base64,' in text  # maps and charts inline
        p = _parse(path)
        # every in-page link has its target
        assert all(h[1:] in p.ids for h in p.hrefs if h.startswith("#")), p.hrefs


def test_a_zone_note_assumption_badges_that_level_and_is_explained(tiny_report):
    run, _ = tiny_report
    text = report_files(run)["en"].read_text(encoding="utf-8")
    table_heading = text[text.index('id="zones-township"'):][:400]
    assert 'href="#flag-ASSUMPTION"' in table_heading
    assert 'id="flag-ASSUMPTION"' in text and "the halves stand in for townships" in text


def test_flags_from_basis_config_and_registry():
    assert basis_flags("scenario; synthetic inundation") == {"SCENARIO", "SYNTHETIC"}
    assert basis_flags("observed") == set()
    cfg = {"run": {"name": "x", "description": "2030 SCENARIOS"},
           "landcover": {"epochs": {2019: "a.tif", 2025: {"scenario": {"from": 2019, "changes": [{"name": "aff"}]}}},
                         "reclassify": [{"note": "ASSUMPTION (calibrated): savanna as forest"}]},
           "zones": [{"level": "basin", "note": "STAND-IN: the province for the basin"}], "parameters": {}}
    reg = pd.DataFrame({"value": [1.0, 2.0], "unit": ["1", "1"], "sd": [0.1, 0.1], "uncertainty_type": ["sd"] * 2,
                        "distribution": ["normal"] * 2, "status": ["user", "C1"],
                        "source": ["ASSUMPTION: demo", "IPCC"]}, index=pd.Index(["k", "g"], name="id"))
    flags = config_flags(cfg, reg)
    where = {(f.kind, f.where, f.scope) for f in flags}
    # scenario epochs are listed; figures take SCENARIO from their rows' basis and maps' tags
    assert ("SCENARIO", "landcover.epochs.2025", "config") in where
    assert ("ASSUMPTION", "landcover.reclassify[0].note", "all") in where
    assert ("ASSUMPTION", "zones[0].note", "level:basin") in where
    assert ("ASSUMPTION", "parameters.k", "all") in where
    assert not any(f.where == "parameters.g" for f in flags)
    # the run description names scenarios but touches no figure by itself
    assert ("SCENARIO", "run.description", "config") in where
    assert scope_flags([f for f in flags if f.where.startswith("zones")], "county") == set()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_headless_chromium_opens_the_report_without_console_errors(tiny_report, lang, tmp_path):
    run, _ = tiny_report
    page = report_files(run)[lang]
    shot = tmp_path / f"report_{lang}.png"
    out = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--enable-logging=stderr",
                          "--v=0", f"--screenshot={shot}", "--window-size=1280,4000", page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    bad = [ln for ln in out.stderr.splitlines() if "Uncaught" in ln or ":CONSOLE(" in ln]
    assert not bad, bad
    assert shot.stat().st_size > 10_000


def test_without_a_cjk_font_the_missing_glyphs_are_said_once_not_per_glyph(monkeypatch, caplog):
    import warnings

    import matplotlib.pyplot as plt
    from sinks.report import figures

    monkeypatch.setattr(figures, "CJK_FAMILIES", ("No Such Font",))
    monkeypatch.setattr(figures.font_manager, "findSystemFonts", lambda *a, **k: [])
    figures.cjk_family.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert figures.cjk_family() is None
            with plt.rc_context(figures._style()):
                fig, ax = plt.subplots()
                ax.set_title("碳汇 森林")
                figures._png(fig)
    finally:
        figures.cjk_family.cache_clear()
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert sum("no CJK font found" in r.message for r in caplog.records) == 1

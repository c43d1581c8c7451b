"""The report of a run (rule ``report``): one self-contained HTML page in ``report.language``
(``outputs/report.html``) and the same page in the other language (``report_<lang>.html``),
built from the run's tables and maps (:mod:`sinks.report.build`), drawn
(:mod:`sinks.report.figures`) and written as HTML (:mod:`sinks.report.html`)."""

from __future__ import annotations

import logging
import os

from sinks.report.build import gather, headlines
from sinks.report.figures import all_figures
from sinks.report.html import render
from sinks.run import Run

log = logging.getLogger(__name__)


def report_files(run: Run) -> dict[str, object]:
    """Language -> file of the report: report.language's page is ``report.html``."""
    main = run.cfg["report"]["language"]
    other = "en" if main == "zh" else "zh"
    return {main: run.paths.output("report"), other: run.paths.output("report_translation", lang=other)}


def write_report(run: Run) -> None:
    """Write the report in both languages (each written to a temporary name, then moved)."""
    data = gather(run)
    heads = headlines(data)
    files = report_files(run)
    names = {lang: path.name for lang, path in files.items()}
    for lang, path in files.items():
        maps, charts = all_figures(data, lang)
        page = render(data, heads, maps, charts, lang, names)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, path)
        log.info("wrote %s (%s, %d maps, %d charts, %.1f MB)", path, lang, len(maps), len(charts),
                 path.stat().st_size / 1e6)

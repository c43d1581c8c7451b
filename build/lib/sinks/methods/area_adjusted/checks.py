"""Checks of the accuracy assessment before compute: the assessed epoch (or change period) is
observed and the reference points carry the label fields."""

from __future__ import annotations

from sinks.errors import InputDataError
from sinks.io.vectors import read_points
from sinks.run import Run


def checks(run: Run) -> list[str]:
    """Lines describing what was checked (none without an accuracy assessment)."""
    cfg = run.cfg
    aa = cfg["uncertainty"]["accuracy_assessment"]
    if not aa:
        return []
    observed = [e.year for e in run.epochs if e.path is not None]
    if aa["year"] not in observed:
        raise InputDataError(f"{cfg['_source']}: uncertainty.accuracy_assessment.year "
                             f"{aa['year']} is not an observed epoch ({observed})")
    pts = read_points(aa["samples"], aa["label_field"])
    what = f"{aa['year']}"
    if aa["year_end"] is not None:
        years = [e.year for e in run.epochs]
        after = years[years.index(aa["year"]) + 1] if aa["year"] != years[-1] else None
        if aa["year_end"] != after or after not in observed:
            raise InputDataError(f"{cfg['_source']}: uncertainty.accuracy_assessment.year_end "
                                 f"{aa['year_end']} must be the observed epoch right after "
                                 f"year {aa['year']} (epochs {years}, observed {observed})")
        if not aa["label_field_end"]:
            raise InputDataError(f"{cfg['_source']}: uncertainty.accuracy_assessment.year_end "
                                 "is set: give label_field_end, the field with the reference "
                                 "code at year_end")
        read_points(aa["samples"], aa["label_field_end"])
        what = f"change {aa['year']}-{aa['year_end']}"
    return [f"accuracy assessment {what}: {len(pts)} reference points"]

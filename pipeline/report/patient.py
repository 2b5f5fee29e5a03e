"""Render the one-patient clinician report from a `PatientReport`.

The page shows, in order: a first page that stands alone for the tumour board (printed, it is
page 1 of the A4 print: the patient at a glance in clinical units, what happened on the index line,
an in-sample note, the eligible therapies ranked by predicted benefit against the index therapy
with recalibration ranges and differences, one PFS/OS overlay in the therapies' fixed colours with
the best marked, the strongest drivers in words, the models); then the header (intended use and
limits), predictions for the index therapy, "what if" predictions for the other eligible
therapies, the top drivers with a waterfall each, missing inputs, and validated model
performance. Key numbers carry `data-key` / `data-value` attributes (exact values) so tests can
compare them with the model output.

Data keys (`t` = therapy code, `ep` = pfs | response | os, `v` = variable code, `m` = months):
    pseudonym, index_therapy, made_on; p_response_{t}, p_response_lo_{t}, p_response_hi_{t};
    pfs_{m}_{t}[_lo|_hi], os_{m}_{t}[_lo|_hi]; shap_{ep}_{v}; effect_pfs_12_{ep}_{v},
    effect_pfs_24_{ep}_{v}; metric_{endpoint}_{metric slug}[_lo|_hi]; ineligible_{t}; missing_{i}.

First page (the tumour-board summary, `id="summary"`): glance_{v} (the feature table's value; the
text is in the dictionary's display unit), observed_{i}, in_sample, first_{c}_{t}[_lo|_hi] and
first_diff_{c}_{t}[_lo|_hi] (difference to the index therapy, its recalibration range) for
c = response | pfs_{m} | os_{m},
first_rank_{t}, best_therapy, summary_driver_{ep}_{i}, model_{endpoint}.
"""

from __future__ import annotations

from markupsafe import Markup

from clinical.endpoints import ENDPOINTS as CLINICAL_ENDPOINTS
from clinical.therapies import THERAPIES, therapy_colour, therapy_label
from pipeline.report.data import Driver, PatientReport, TherapyPrediction
from pipeline.report.render import make_image_src, render_template, slugify
from pipeline.report.svg import (
    OverlaySeries,
    draw_outcome_overlay,
    draw_probability_bar,
    draw_survival_chart,
    draw_waterfall,
)

# endpoint -> (heading, SHAP unit, positive SHAP is unfavourable)
ENDPOINTS: dict[str, tuple[str, str, bool]] = {
    name: (CLINICAL_ENDPOINTS[name].label, CLINICAL_ENDPOINTS[name].shap_unit,
           CLINICAL_ENDPOINTS[name].higher_is_worse) for name in ("pfs", "response", "os")}
OBSERVATIONAL_WARNING = (
    "These predictions are associations learnt from observational (real-world) data, not causal "
    "effects. The \u201cwhat if\u201d numbers for other therapies describe similar patients who "
    "received those therapies; they do not prove that switching therapy would change this "
    "patient\u2019s outcome. "
    "Use them alongside, never instead of, clinical judgement and the tumour board."
)


def _check_report(report: PatientReport) -> None:
    """Raise ValueError if the report breaks the layout's assumptions."""
    if not report.predictions:
        raise ValueError("a patient report needs at least one therapy prediction")
    if report.predictions[0].therapy != report.index_therapy:
        raise ValueError("the first prediction must be for the index therapy")
    codes = [p.therapy for p in report.predictions]
    if len(set(codes)) != len(codes):
        raise ValueError("therapy codes in predictions must be unique")


def _at_rows(pred: TherapyPrediction) -> list[dict[str, object]]:
    """Rows of the 12/24-month table (endpoint, month, estimate, interval, key)."""
    rows = []
    for name, table in (("pfs", pred.pfs_at), ("os", pred.os_at)):
        for month in sorted(table):
            est, lo, hi = table[month]
            key = f"{name}_{month}_{slugify(pred.therapy)}"
            label = "Progression-free" if name == "pfs" else "Alive"
            rows.append(
                {"label": f"{label} at {month} months", "est": est, "lo": lo, "hi": hi, "key": key}
            )
    return rows


def _therapy_view(pred: TherapyPrediction) -> dict[str, object]:
    """Everything the template needs for one therapy card."""
    view: dict[str, object] = {
        "pred": pred,
        "slug": slugify(pred.therapy),
        "rows": _at_rows(pred),
        "response_svg": None,
        "pfs_svg": None,
        "os_svg": None,
    }
    if pred.p_response is not None:
        view["response_svg"] = Markup(
            draw_probability_bar(
                pred.p_response, pred.p_response_ci, title=f"Response probability, {pred.label}"
            )
        )
    for name, curve, heading in (
        ("pfs_svg", pred.pfs, "Progression-free survival"),
        ("os_svg", pred.os, "Overall survival"),
    ):
        if curve is not None:
            view[name] = Markup(draw_survival_chart(
                [(pred.label, curve)], title=heading, colours=[therapy_colour(pred.therapy)]))
    return view


def _comparison_svgs(preds: list[TherapyPrediction]) -> dict[str, Markup | None]:
    """Overlay charts of PFS and OS for all eligible therapies (only if more than one)."""
    out: dict[str, Markup | None] = {"pfs": None, "os": None}
    for name, attr, heading in (
        ("pfs", "pfs", "Progression-free survival"),
        ("os", "os", "Overall survival"),
    ):
        chosen = [p for p in preds if getattr(p, attr) is not None]
        if len(chosen) > 1:
            out[name] = Markup(draw_survival_chart(
                [(p.label, getattr(p, attr)) for p in chosen],
                title=f"{heading}: all eligible therapies",
                colours=[therapy_colour(p.therapy) for p in chosen]))
    return out


def _columns(preds: list[TherapyPrediction]) -> list[tuple[str, str, str, int | None]]:
    """(column key, heading, attribute, month) of the comparison table, those with numbers."""
    cols: list[tuple[str, str, str, int | None]] = []
    if any(p.p_response is not None for p in preds):
        cols.append(("response", "Response", "p_response", None))
    for attr, name, short in (("pfs_at", "pfs", "PFS"), ("os_at", "os", "OS")):
        months = sorted({m for p in preds for m in getattr(p, attr)})
        cols += [(f"{name}_{m}", f"{short} {m} mo", attr, m) for m in months]
    return cols


def _cell(pred: TherapyPrediction, attr: str, month: int | None) -> tuple | None:
    """(estimate, lower, upper) of one comparison cell, or None."""
    if attr == "p_response":
        if pred.p_response is None:
            return None
        lo, hi = pred.p_response_ci or (None, None)
        return pred.p_response, lo, hi
    return getattr(pred, attr).get(month)


def _benefit_column(cols: list[tuple[str, str, str, int | None]]) -> tuple | None:
    """The column therapies are ranked by: latest PFS month, else latest OS month, else response."""
    for prefix in ("pfs_", "os_", "response"):
        chosen = [c for c in cols if c[0].startswith(prefix)]
        if chosen:
            return chosen[-1]
    return None


def comparison_rows(report: PatientReport) -> dict[str, object]:
    """Eligible therapies ranked by predicted benefit against the index therapy.

    Benefit is the difference of the ranking column (latest PFS month when there is one) to the
    index therapy; the index therapy ranks first among equals. Each cell carries the estimate,
    its recalibration range and the difference to the index therapy.
    """
    preds = [p for p in report.predictions if p.eligible]
    cols = _columns(preds)
    rank_col = _benefit_column(cols)
    index = report.predictions[0]
    rows = []
    for p in preds:  # loop over <= 5 therapies
        cells = []
        for key, _, attr, month in cols:
            here, ref = _cell(p, attr, month), _cell(index, attr, month) if index.eligible else None
            diff = here[0] - ref[0] if here is not None and ref is not None else None
            cells.append({"key": key, "value": here, "diff": diff,
                          "diff_range": p.diff_ranges.get(key) if diff is not None else None})
        benefit = next((c["diff"] for c in cells if rank_col and c["key"] == rank_col[0]), None)
        rows.append({"pred": p, "slug": slugify(p.therapy), "cells": cells,
                     "benefit": benefit, "is_index": p.therapy == report.index_therapy})
    rows.sort(key=lambda r: (-(r["benefit"] or 0.0), not r["is_index"]))
    best = rows[0]["pred"].therapy if rows and rank_col and index.eligible else None
    return {"columns": cols, "rows": rows, "rank_heading": rank_col[1] if rank_col else "",
            "best": best}


def signed_pp(d: float) -> str:
    """Whole percentage points with a sign ("+8", "\u221212"); "0" when it rounds to 0."""
    text = f"{100 * d:+.0f}"
    return "0" if text in ("+0", "-0") else text.replace("-", "\u2212")


def short_label(pred: TherapyPrediction) -> str:
    """The therapy's short label (``PRRT``, ``SSA``) for the first page; its label if unknown."""
    return therapy_label(pred.therapy, short=True) if pred.therapy in THERAPIES else pred.label


def _overlay_svg(report: PatientReport, best: str | None) -> Markup | None:
    """PFS and OS of every eligible therapy in one chart, therapy colours fixed."""
    series = [OverlaySeries(short_label(p), therapy_colour(p.therapy), p.pfs, p.os,
                            p.therapy == best)
              for p in report.predictions if p.eligible and (p.pfs or p.os)]
    if not series:
        return None
    return Markup(draw_outcome_overlay(series, title="Predicted PFS and OS per therapy",
                                       plot_height=135.0))


def _summary_drivers(report: PatientReport, per_endpoint: int = 2) -> list[dict[str, object]]:
    """The strongest drivers of each endpoint as plain sentences."""
    out = []
    for ep, ds in (("pfs", report.drivers_pfs), ("os", report.drivers_os),
                   ("response", report.drivers_response)):
        if ds:
            out.append({"endpoint": ep, "heading": ENDPOINTS[ep][0],
                        "sentences": [d.sentence for d in ds[:per_endpoint]]})
    return out


def summary_view(report: PatientReport) -> dict[str, object]:
    """Everything the first page (tumour-board summary) shows."""
    table = comparison_rows(report)
    return {"table": table, "overlay": _overlay_svg(report, table["best"]),
            "drivers": _summary_drivers(report)}


def _driver_view(endpoint: str, drivers: list[Driver], report: PatientReport) -> dict[str, object]:
    """Everything the template needs for one endpoint's drivers."""
    heading, unit, higher_is_worse = ENDPOINTS[endpoint]
    view: dict[str, object] = {
        "endpoint": endpoint,
        "heading": heading,
        "unit": unit,
        "higher_is_worse": higher_is_worse,
        "base_text": report.base_text.get(endpoint, ""),
        "drivers": drivers,
        "waterfall_src": None,
        "waterfall_svg": None,
        "show_effects": any(
            d.effect_pfs_12 is not None or d.effect_pfs_24 is not None for d in drivers
        ),
    }
    if endpoint == "pfs" and report.waterfall_svg:
        view["waterfall_src"] = make_image_src(report.waterfall_svg)
    elif drivers:
        view["waterfall_svg"] = Markup(
            draw_waterfall(
                drivers,
                title=f"Top drivers: {heading.lower()}",
                unit=unit,
                higher_is_worse=higher_is_worse,
            )
        )
    return view


def render_patient_report(report: PatientReport) -> str:
    """Render one patient's report as a self-contained HTML page.

    Args:
        report: The numbers and texts to show (pseudonymised).

    Returns:
        The HTML page (no script, no network URL; checked).

    Raises:
        ValueError: If the report is inconsistent or the page would not be self-contained.
    """
    _check_report(report)
    index, others = report.predictions[0], report.predictions[1:]
    eligible = [p for p in others if p.eligible]
    drivers = [
        _driver_view(ep, ds, report)
        for ep, ds in (
            ("pfs", report.drivers_pfs),
            ("response", report.drivers_response),
            ("os", report.drivers_os),
        )
        if ds
    ]
    return render_template(
        "patient.html",
        r=report,
        index=_therapy_view(index),
        others=[_therapy_view(p) for p in eligible],
        ineligible=[p for p in others if not p.eligible],
        all_eligible=[p for p in report.predictions if p.eligible],
        comparison=_comparison_svgs([p for p in report.predictions if p.eligible]),
        drivers=drivers,
        summary=summary_view(report),
        warning=OBSERVATIONAL_WARNING,
        endpoints=ENDPOINTS,
        slugify=slugify,
        colour=therapy_colour,
        short_label=short_label,
        signed_pp=signed_pp,
        short_endpoints={"response": "Response", "pfs": "PFS", "os": "OS"},
    )

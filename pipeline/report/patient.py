"""Render the one-patient clinician report from a `PatientReport`.

The page shows, in order: header (pseudonym, index therapy, models, date, intended use and limits),
predictions for the index therapy, "what if" predictions for the other eligible therapies, the top
drivers with a waterfall each, missing inputs, and validated model performance. Key numbers carry
`data-key` / `data-value` attributes (exact values) so tests can compare them with the model output.

Data keys (`t` = therapy code, `ep` = pfs | response | os, `v` = variable code, `m` = months):
    pseudonym, index_therapy, made_on; p_response_{t}, p_response_lo_{t}, p_response_hi_{t};
    pfs_{m}_{t}[_lo|_hi], os_{m}_{t}[_lo|_hi]; shap_{ep}_{v}; effect_pfs_12_{ep}_{v},
    effect_pfs_24_{ep}_{v}; metric_{endpoint}_{metric slug}[_lo|_hi]; ineligible_{t}; missing_{i}.
"""

from __future__ import annotations

from markupsafe import Markup

from clinical.endpoints import ENDPOINTS as CLINICAL_ENDPOINTS
from pipeline.report.data import Driver, PatientReport, TherapyPrediction
from pipeline.report.render import make_image_src, render_template, slugify
from pipeline.report.svg import draw_probability_bar, draw_survival_chart, draw_waterfall

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
            view[name] = Markup(draw_survival_chart([(pred.label, curve)], title=heading))
    return view


def _comparison_svgs(preds: list[TherapyPrediction]) -> dict[str, Markup | None]:
    """Overlay charts of PFS and OS for all eligible therapies (only if more than one)."""
    out: dict[str, Markup | None] = {"pfs": None, "os": None}
    for name, attr, heading in (
        ("pfs", "pfs", "Progression-free survival"),
        ("os", "os", "Overall survival"),
    ):
        curves = [(p.label, getattr(p, attr)) for p in preds if getattr(p, attr) is not None]
        if len(curves) > 1:
            out[name] = Markup(
                draw_survival_chart(curves, title=f"{heading}: all eligible therapies")
            )
    return out


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
        warning=OBSERVATIONAL_WARNING,
        endpoints=ENDPOINTS,
        slugify=slugify,
    )

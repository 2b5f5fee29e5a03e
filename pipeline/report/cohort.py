"""Render the cohort clinician report from a `CohortReport`.

Global importance (mean |SHAP| bars and the beeswarm), dependence plots of the top variables,
calibration and subgroup performance, validated model performance and links to the patient reports.

Data keys: n_patients, n_events_{name}, made_on, importance_{rank}, importance_label_{rank},
metric_{endpoint}_{metric slug}[_lo|_hi].
"""

from __future__ import annotations

from markupsafe import Markup

from pipeline.report.data import CohortReport
from pipeline.report.render import check_relative_href, make_image_src, render_template, slugify
from pipeline.report.svg import draw_importance_bars


def _format_cell(value: object) -> str:
    """Format one subgroup-table cell: floats with 2 decimals, the rest as text."""
    if isinstance(value, float):
        return f"{value:.2f}"
    return "" if value is None else str(value)


def _subgroup_view(rows: list[dict[str, object]]) -> dict[str, object]:
    """Columns and formatted rows of the subgroup table (columns = keys of the first row)."""
    columns = list(rows[0]) if rows else []
    return {
        "columns": columns,
        "rows": [[_format_cell(row.get(c)) for c in columns] for row in rows],
    }


def render_cohort_report(report: CohortReport) -> str:
    """Render the cohort report as a self-contained HTML page.

    Args:
        report: The cohort numbers, images and links (pseudonymised).

    Returns:
        The HTML page (no script, no network URL; checked). Patient links stay relative.

    Raises:
        ValueError: If a link is not relative, an image is not PNG/SVG, or the page is not
            self-contained.
    """
    links = [(pseudonym, check_relative_href(href)) for pseudonym, href in report.patient_links]
    importance_svg = (
        Markup(
            draw_importance_bars(
                report.global_importance, title="Global importance", unit=report.importance_unit
            )
        )
        if report.global_importance
        else None
    )
    return render_template(
        "cohort.html",
        r=report,
        importance_svg=importance_svg,
        beeswarm_src=make_image_src(report.beeswarm_png)
        if report.beeswarm_png is not None
        else None,
        dependence=[(title, make_image_src(img)) for title, img in report.dependence_pngs],
        calibration=[(title, make_image_src(img)) for title, img in report.calibration_pngs],
        subgroups=_subgroup_view(report.subgroup_table),
        benefit=report.benefit,
        benefit_figures=[(t, make_image_src(img)) for t, img in report.benefit.figures]
        if report.benefit is not None else [],
        links=links,
        slugify=slugify,
    )

"""Build the cohort report: global SHAP importance, beeswarm, dependence, calibration, subgroups.

Pure of side effects except the SHAP figures, which :func:`models.explain_plots.shap_plots` writes
into a folder the caller names (they are inlined into the page as PNG bytes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from clinical.endpoints import ENDPOINTS as CLINICAL_ENDPOINTS
from models.explain import ShapResult, global_importance
from models.explain_plots import shap_plots
from models.explain_text import format_value, label_of, missing_text, spec_of
from pipeline.report import CohortReport
from pipeline.stages.explain_benefit import benefit_section
from pipeline.stages.explain_patient import model_info
from pipeline.stages.explain_shap import EndpointModel

IMPORTANCE_UNITS = {
    ("response", "log_odds"): "mean |SHAP| (log-odds of response)",
    ("pfs", "log_hazard"): "mean |SHAP| (log-hazard of progression)",
    ("os", "log_hazard"): "mean |SHAP| (log-hazard of death)",
    ("pfs", "log_time"): "mean |SHAP| (log time to progression)",
    ("os", "log_time"): "mean |SHAP| (log survival time)",
}
PLOT_TITLES = (
    ("calibration.png", "calibration of the response probability"),
    ("calibration_12m.png", "calibration at 12 months"),
    ("calibration_24m.png", "calibration at 24 months"),
    ("km_by_risk_tertile.png", "Kaplan-Meier by predicted risk tertile"),
    ("subgroups.png", "performance by subgroup"),
)
EVENT_COLUMNS = {"objective response": "response", "progression or death": "pfs_event",
                 "death": "os_event"}
ENDPOINT_NAMES = {name: e.short for name, e in CLINICAL_ENDPOINTS.items()}  # "PFS"
COHORT_USE = (
    "For clinicians and data scientists reviewing the outcome models: what the models rely on "
    "across the whole cohort and how well they performed in validation. Not for decisions about "
    "one patient; use the patient reports for that."
)


def importance_table(result: ShapResult, dictionary: Mapping[str, Any]) -> pd.DataFrame:
    """Global importance (mean |SHAP|) per clinical variable with its label, largest first."""
    table = global_importance(result)
    labels = [label_of(spec_of(dictionary, v), v) for v in table["variable"]]
    return table.assign(label=labels)[["variable", "label", "mean_abs_shap", "mean_shap",
                                       "share"]]


def evaluation_plots(plots_dir: Path, endpoints: Sequence[str]) -> list[tuple[str, Path]]:
    """(title, path) of the evaluation stage's calibration and subgroup plots that exist."""
    out = []
    for endpoint in endpoints:  # loop over endpoints
        for name, title in PLOT_TITLES:
            path = Path(plots_dir) / endpoint / name
            if path.exists():
                out.append((f"{ENDPOINT_NAMES.get(endpoint, endpoint)}: {title}", path))
    return out


def _subgroup_words(row: Mapping[str, Any], dictionary: Mapping[str, Any] | None) -> dict:
    """A subgroup row with the group's label and the level in words ("Pancreas", "not recorded")."""
    group = str(row.get("group", ""))
    if "level" not in row or group == "overall":
        return {**row, "group": "All patients"} if group == "overall" else dict(row)
    spec = spec_of(dictionary, group)
    level = row["level"]
    text = missing_text(spec) if level == "missing" else format_value(level, spec, group)
    return {**row, "group": label_of(spec, group), "level": text}


def subgroup_rows(metrics: Mapping[str, Any], endpoints: Sequence[str],
                  dictionary: Mapping[str, Any] | None = None) -> list[dict[str, object]]:
    """Subgroup performance rows of every endpoint in clinical words, endpoint first."""
    rows = [{"endpoint": ENDPOINT_NAMES.get(ep, ep), **_subgroup_words(row, dictionary)}
            for ep in endpoints for row in metrics.get(ep, {}).get("subgroups", []) or []]
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return [{c: row.get(c) for c in columns} for row in rows]


def count_events(cohort: pd.DataFrame) -> dict[str, int]:
    """Event counts in the explained cohort."""
    return {name: int(pd.to_numeric(cohort[col], errors="coerce").fillna(0).sum())
            for name, col in EVENT_COLUMNS.items() if col in cohort.columns}


def build_cohort_report(cohort: pd.DataFrame, shap: Mapping[str, ShapResult],
                        models: Mapping[str, EndpointModel], metrics: Mapping[str, Any],
                        dictionary: Mapping[str, Any], figures_dir: Path, plots_dir: Path,
                        links: list[tuple[str, str]], made_on: str, *, endpoint: str = "pfs",
                        top_k: int = 15, max_points: int = 2000) -> CohortReport:
    """Everything the cohort report shows.

    Args:
        cohort: The explained rows (cohort table).
        shap: Endpoint -> grouped SHAP values of ``cohort``.
        models: Endpoint -> model.
        metrics: Content of ``metrics.json``.
        dictionary: Feature dictionary.
        figures_dir: Folder for the SHAP figures of ``endpoint``.
        plots_dir: The evaluation stage's plot folder.
        links: (pseudonym, relative href) of the patient reports.
        made_on: ISO date.
        endpoint: Endpoint whose importance, beeswarm and dependence plots are shown.
        top_k: Variables in the importance chart.
        max_points: Patients drawn in the beeswarm.
    """
    if endpoint not in shap:
        endpoint = next(iter(shap))
    result = shap[endpoint]
    table = importance_table(result, dictionary)
    paths = shap_plots(result, cohort.reset_index(drop=True), dictionary, figures_dir,
                       top_k=10, max_points=max_points)
    labels = dict(zip(table["variable"], table["label"], strict=True))
    dependence = [(f"Dependence: {labels.get(k.removeprefix('dependence_'), k)}",
                   p.read_bytes()) for k, p in paths.items() if k.startswith("dependence_")]
    calibration = [(t, p.read_bytes()) for t, p in evaluation_plots(plots_dir, list(models))]
    unit = IMPORTANCE_UNITS.get((endpoint, result.scale), "mean |SHAP| (model margin)")
    return CohortReport(
        n_patients=int(len(cohort)), n_events=count_events(cohort), made_on=made_on,
        global_importance=[(str(r.label), float(r.mean_abs_shap))
                           for r in table.head(top_k).itertuples(index=False)],
        importance_unit=f"{ENDPOINT_NAMES.get(endpoint, endpoint)}: {unit}",
        beeswarm_png=paths["beeswarm"].read_bytes() if "beeswarm" in paths else None,
        dependence_pngs=dependence, calibration_pngs=calibration,
        subgroup_table=subgroup_rows(metrics, list(models), dictionary), patient_links=links,
        models=[model_info(em, metrics) for em in models.values()],
        intended_use=COHORT_USE, benefit=benefit_section(metrics, plots_dir, list(models)),
    )

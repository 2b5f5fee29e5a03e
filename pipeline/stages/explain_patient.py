"""Build one patient's :class:`PatientReport` from the loaded models (no file I/O here).

Drivers are the top |SHAP| clinical variables per endpoint for the index therapy, in clinical words
(:func:`models.explain_text.tidy`); the PFS drivers also carry their effect on the predicted 12- and
24-month PFS (:func:`models.explain.survival_effect_of_drivers`). Every explanation is checked to
add up to the model margin before it is used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.explain import ShapResult, survival_effect_of_drivers
from models.explain_text import format_value, label_of, spec_of, tidy
from pipeline.report import Driver, ModelInfo, PatientReport
from pipeline.report.data import GlanceItem
from pipeline.stages.explain_predict import INTERVAL_TEXT, Reference, predict_therapies
from pipeline.stages.explain_shap import EndpointModel, explain_rows

INTENDED_USE = (
    "Decision support for specialists in neuroendocrine tumours (NET) discussing the next line "
    "of systemic or radioligand therapy for an adult with advanced, well-differentiated NET: "
    "predicted objective response, progression-free and overall survival for the therapy "
    "started at the index line and, for comparison, for the other therapies this patient is "
    "eligible for."
)
LIMITATIONS = [
    "Associations learnt from observational data, not causal effects; confounding by indication "
    "is likely.",
    "Not for G3 neuroendocrine carcinoma, children, or therapies and settings absent from the "
    "training cohort.",
    "Predictions outside the training data (rare therapy for similar patients, many missing "
    "inputs) are extrapolations.",
    INTERVAL_TEXT,
    "Trained on the data of this pipeline run (synthetic by default): validate locally before "
    "any clinical use.",
]
_METRICS = {
    "binary": (("auc", "AUC"), ("calibration_slope", "Calibration slope")),
    "survival": (("harrell_c", "C-index"), ("uno_c", "Uno's C-index"),
                 ("calibration_slope_12", "Calibration slope (12 months)")),
}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def model_info(em: EndpointModel, metrics: Mapping[str, Any]) -> ModelInfo:
    """Identity and validated performance (estimate, 95 % interval) of one endpoint model."""
    block = metrics.get(em.endpoint, {})
    validated = {}
    for key, label in _METRICS[em.kind]:  # loop over <= 3 metrics
        m = block.get("metrics", {}).get(key) or {}
        if all(_finite(m.get(k)) for k in ("mean", "lo", "hi")):
            validated[label] = (float(m["mean"]), float(m["lo"]), float(m["hi"]))
    method = str(block.get("validation", ""))
    if "n" in block:
        method += f"; n = {block['n']}, events = {block.get('events', 'n/a')}"
    reg = em.registered
    if reg.get("name"):  # the registry's name and version, the files' hash beside them
        return ModelInfo(em.endpoint, f"{reg['name']} ({em.name})",
                         f"{reg.get('version', '?')} (files {em.version})", validated,
                         method.strip("; "), alias=reg.get("alias", ""))
    return ModelInfo(em.endpoint, em.name, em.version, validated, method.strip("; "))


def _effects(em: EndpointModel, shap_row: ShapResult, top_k: int) -> dict[str, tuple]:
    """Variable -> (effect on 12-month, on 24-month PFS) for the top drivers."""
    table = survival_effect_of_drivers(em.model.predict_survival_from_margin,
                                       float(shap_row.margin[0]), shap_row, (12, 24), top_k)
    return {v: (float(a), float(b)) for v, a, b in
            zip(table["variable"], table["effect_12"], table["effect_24"], strict=True)}


def assumed_values(em: EndpointModel, row: pd.DataFrame) -> dict[str, float | str]:
    """Variable -> what one model assumed for each of the patient's missing values.

    Linear models put in the training median (a number, shown in the variable's units); tree
    models assume no value (they follow the branch learnt for missing values) and an unknown
    category sets every indicator column to 0 (no category assumed).
    """
    missing = [v for v in em.design.variables_ if pd.isna(row[v].iloc[0])]
    out: dict[str, float | str] = {}
    for variable in missing:  # loop over the patient's missing inputs
        if variable in em.design.levels_:
            out[variable] = "no category assumed"
        elif em.is_tree:
            out[variable] = "no value assumed"
        else:
            prep = em.model.preprocessor_
            out[variable] = float(prep.medians_[prep.input_columns_.index(variable)])
    return out


def build_drivers(em: EndpointModel, shap_row: ShapResult, row: pd.DataFrame,
                  dictionary: Mapping[str, Any], top_k: int) -> list[Driver]:
    """Top drivers of one patient for one endpoint, with sentences (and PFS effects)."""
    table = tidy(shap_row, row.reset_index(drop=True), dictionary, top_k, outcome=em.endpoint,
                 assumed=assumed_values(em, row))
    effects = _effects(em, shap_row, top_k) if em.endpoint == "pfs" else {}
    return [Driver(variable=r.variable, label=r.label, value_text=r.value_text,
                   shap=float(r.shap), sentence=r.sentence,
                   effect_pfs_12=effects.get(r.variable, (None, None))[0],
                   effect_pfs_24=effects.get(r.variable, (None, None))[1])
            for r in table.itertuples(index=False)]


_MODEL_NAMES = {"response": "response", "pfs": "PFS", "os": "OS"}

GLANCE_VARIABLES = (
    "ki67_percent", "who_grade", "differentiation", "krenning_score", "sstr_suvmax",
    "fdg_pet_done", "fdg_positive", "netpet_grade", "cga_log10_uln", "cga_log_slope_per_month",
    "alp", "albumin", "ecog", "hepatic_tumour_burden_pct", "primary_site", "n_prior_lines",
)
"""Inputs of the "patient at a glance" panel, in the order a NET specialist reads them."""


def _raw(value: Any) -> float | str | None:
    """A cell of the feature table as a plain number or code (None when missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value if isinstance(value, str) else float(value)


def at_a_glance(row: pd.DataFrame, dictionary: Mapping[str, Any]) -> list[GlanceItem]:
    """The patient's key inputs in the dictionary's display units; absent columns left out."""
    items = []
    for variable in GLANCE_VARIABLES:  # loop over <= 16 inputs
        if variable not in row.columns:
            continue
        spec = spec_of(dictionary, variable)
        value = row[variable].iloc[0]
        items.append(GlanceItem(variable, label_of(spec, variable),
                                format_value(value, spec, variable), _raw(value)))
    return items


def _months(value: float) -> str:
    return f"{value:.1f} months"


def _observed_time(row: pd.DataFrame, time: str, event: str, what: str) -> str | None:
    """"progression or death at 11.4 months" / "no progression or death seen (11.4 months)"."""
    if time not in row.columns or pd.isna(row[time].iloc[0]):
        return None
    months = float(row[time].iloc[0])
    flag = row[event].iloc[0] if event in row.columns else None
    if flag is None or pd.isna(flag):
        return f"followed for {_months(months)}"
    if float(flag) == 1:
        return f"{what} at {_months(months)}"
    return f"no {what} seen (followed for {_months(months)})"


def observed_outcome(row: pd.DataFrame) -> list[tuple[str, str]]:
    """What actually happened on the index line, when the feature table holds it."""
    out = []
    if "response" in row.columns:
        r = row["response"].iloc[0]
        text = ("not evaluable" if pd.isna(r) else "partial or complete response" if float(r) == 1
                else "no objective response (stable or progressive disease)")
        out.append(("Best response (RECIST)", text))
    for label, time, event, what in (
        ("Progression-free survival", "pfs_months", "pfs_event", "progression or death"),
        ("Overall survival", "os_months", "os_event", "death"),
    ):
        text = _observed_time(row, time, event, what)
        if text is not None:
            out.append((label, text))
    return out


def _handling(em: EndpointModel, variable: str, spec: Mapping[str, Any]) -> str:
    """How one model handled a missing input, in words (the median in clinical units)."""
    if variable in em.design.levels_:
        return "category unknown: all its indicator columns set to 0"
    if em.is_tree:
        return "not imputed: follows the branch learnt for missing values in training (xgboost)"
    prep = em.model.preprocessor_
    median = float(prep.medians_[prep.input_columns_.index(variable)])
    flagged = variable in prep.indicator_columns_
    text = f"replaced by the training median ({format_value(median, spec, variable)})"
    return text + (" plus a missing-value indicator" if flagged else "")


def _models_phrase(endpoints: list[str], n_models: int) -> str:
    if len(endpoints) == n_models > 1:
        return "All models"
    names = [_MODEL_NAMES.get(e, e) for e in endpoints]
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{joined[:1].upper()}{joined[1:]} model{'s' if len(names) > 1 else ''}"


def missing_inputs(models: Mapping[str, EndpointModel], row: pd.DataFrame,
                   dictionary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, how it was handled) for every model input missing in the patient's row."""
    out = []
    variables = dict.fromkeys(v for em in models.values() for v in em.design.variables_)
    for variable in variables:  # loop over model inputs of one patient
        if not pd.isna(row[variable].iloc[0]):
            continue
        spec = spec_of(dictionary, variable)
        by_text: dict[str, list[str]] = {}
        for name, em in models.items():  # loop over endpoints
            if variable in em.design.variables_:
                by_text.setdefault(_handling(em, variable, spec), []).append(name)
        how = "; ".join(f"{_models_phrase(eps, len(models))}: {text}"
                        for text, eps in by_text.items())
        out.append((label_of(spec, variable), how))
    return out


def base_text(em: EndpointModel, result: ShapResult) -> str:
    """Sentence on the starting point (SHAP base value) of one explanation."""
    if em.kind == "binary":
        return (f"The bars start from the cohort-average model output (log-odds "
                f"{result.base_value:.2f}) and add up to this patient's "
                f"{float(result.margin[0]):.2f}.")
    surv = em.model.predict_survival_from_margin(np.array([result.base_value]), (12,))[0, 0]
    event = "progression-free" if em.endpoint == "pfs" else "alive"
    return (f"A patient with the cohort-average model output is {format_value(100 * surv, {})} % "
            f"likely to be {event} at 12 months; the bars add up to this patient's prediction.")


def build_patient_report(pseudonym: str, row: pd.DataFrame, models: Mapping[str, EndpointModel],
                         ref: Reference, metrics: Mapping[str, Any],
                         dictionary: Mapping[str, Any], made_on: str, *,
                         horizons: Sequence[int] = (12, 24), top_k: int = 5) -> PatientReport:
    """Everything one patient report shows, from one cohort row (length-1 DataFrame)."""
    index_therapy = str(row["therapy"].iloc[0])
    predictions = predict_therapies(models, ref, row, index_therapy, horizons)
    drivers, bases = {}, {}
    for name, em in models.items():  # loop over endpoints
        result = explain_rows(em, row)
        drivers[name] = build_drivers(em, result, row, dictionary, top_k)
        bases[name] = base_text(em, result)
    return PatientReport(
        pseudonym=pseudonym, index_therapy=index_therapy, made_on=made_on,
        intended_use=INTENDED_USE, limitations=list(LIMITATIONS), predictions=predictions,
        drivers_response=drivers.get("response", []), drivers_pfs=drivers.get("pfs", []),
        drivers_os=drivers.get("os", []), base_text=bases,
        missing=missing_inputs(models, row, dictionary),
        models=[model_info(em, metrics) for em in models.values()],
        at_a_glance=at_a_glance(row, dictionary), observed=observed_outcome(row),
        in_sample=(pseudonym in ref.patients) if ref.patients else None,
    )

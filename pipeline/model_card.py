"""Model cards (Markdown and self-contained HTML) from the pipeline's own metadata.

Covers the software-supportable TRIPOD+AI items: data source and dates, eligibility, outcome
definitions, predictors with units, sample size and events, missing data per variable and its
handling, model type and tuning, internal validation method, discrimination and calibration with
intervals, decision curve, subgroup table, intended use and limitations.

``collect_card_metadata`` builds the metadata from the cohort, the feature dictionary and the
evaluation outputs; ``render_markdown`` / ``render_html`` render the same sections.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

SECTIONS = (
    "Data source and dates", "Eligibility", "Outcome definition", "Predictors",
    "Sample size and events", "Missing data", "Model type and tuning", "Internal validation",
    "Discrimination and calibration", "Decision curve", "Subgroups", "Intended use",
    "Limitations",
)
OUTCOME_COLUMNS = {"response": ("response", None), "pfs": ("pfs_months", "pfs_event"),
                   "os": ("os_months", "os_event")}
DEFAULT_INTENDED_USE = (
    "Decision support for clinicians choosing among candidate therapies for adults with "
    "advanced well-differentiated neuroendocrine tumours; estimates are associations learnt "
    "from observational data, not treatment effects, and never replace the tumour board."
)
DEFAULT_LIMITATIONS = (
    "Trained and validated internally only; external validation is required before use.",
    "Therapy choice was not randomised: 'what if' predictions can be confounded.",
    "Predictions outside the ranges seen in training are refused by the serving API.",
)
NOT_RECORDED = "not recorded"

Block = tuple[str, Any]  # ("p", text) | ("list", [text]) | ("table", DataFrame)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _interval_rows(metrics: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for key, val in metrics.items():
        if isinstance(val, Mapping):
            est = val.get("mean", val.get("estimate"))
            rows.append({"metric": key, "estimate": est, "95% lo": val.get("lo"),
                         "95% hi": val.get("hi")})
        elif isinstance(val, int | float):
            rows.append({"metric": key, "estimate": float(val), "95% lo": None, "95% hi": None})
    return pd.DataFrame(rows, columns=["metric", "estimate", "95% lo", "95% hi"])


def missing_table(cohort: pd.DataFrame, dictionary: Mapping[str, Any],
                  feature_names: Sequence[str]) -> pd.DataFrame:
    """Predictors with label, unit, and the count and share of missing values."""
    entries = {e["name"]: e for e in dictionary.get("features", [])}
    cols = [c for c in feature_names if c in cohort.columns]
    n_missing = cohort[cols].isna().sum()
    return pd.DataFrame({
        "predictor": cols,
        "label": [entries.get(c, {}).get("label", c) for c in cols],
        "unit": [entries.get(c, {}).get("unit", "") or "–" for c in cols],
        "missing": [int(n_missing[c]) for c in cols],
        "missing %": [round(100.0 * n_missing[c] / max(len(cohort), 1), 1) for c in cols],
    })


def collect_card_metadata(endpoint: str, cohort: pd.DataFrame, dictionary: Mapping[str, Any],
                          feature_names: Sequence[str], *, metrics: Mapping[str, Any],
                          model: Mapping[str, Any], validation: str,
                          data_source: str, eligibility: str,
                          missing_handling: str,
                          decision_curve: pd.DataFrame | None = None,
                          subgroups: pd.DataFrame | None = None,
                          date_column: str | None = "index_date",
                          intended_use: str = DEFAULT_INTENDED_USE,
                          limitations: Sequence[str] = DEFAULT_LIMITATIONS) -> dict[str, Any]:
    """Model-card metadata from the development cohort and the evaluation outputs.

    Args:
        endpoint: ``response``, ``pfs`` or ``os``.
        cohort: the development cohort (features + targets), one row per prediction.
        dictionary: the feature dictionary.
        feature_names: the model's inputs.
        metrics: validated metrics, ``{name: {"mean"|"estimate", "lo", "hi"}}``.
        model: ``{"type", "estimator", "tuning", "hyperparameters"}``.
        validation: internal validation method in words.
        data_source: where the data come from.
        eligibility: who is in the cohort.
        missing_handling: how missing inputs are handled.
        decision_curve: ``threshold, model, treat_all, treat_none`` rows.
        subgroups: ``group, level, n, events, metric, lo, hi`` rows.
        date_column: column giving the dates covered (min-max), if present.
        intended_use: intended use statement.
        limitations: known limitations.
    """
    time_col, event_col = OUTCOME_COLUMNS[endpoint]
    entries = {e["name"]: e for e in dictionary.get("features", [])}
    outcome = cohort[time_col] if event_col is None else cohort[event_col]
    known = outcome.dropna()
    dates = None
    if date_column and date_column in cohort.columns:
        d = pd.to_datetime(cohort[date_column], errors="coerce").dropna()
        dates = [d.min().date().isoformat(), d.max().date().isoformat()] if len(d) else None
    defs = [entries[c]["label"] + ": " + entries[c].get("computation", "")
            for c in (time_col, event_col) if c and c in entries]
    return {
        "endpoint": endpoint,
        "data": {"source": data_source, "dates": dates},
        "eligibility": eligibility,
        "outcome": {"columns": [c for c in (time_col, event_col) if c], "definitions": defs},
        "sample_size": {"n": int(len(cohort)), "n_with_outcome": int(known.size),
                        "events": int(known.astype(float).sum())},
        "predictors": missing_table(cohort, dictionary, feature_names).to_dict("records"),
        "missing_handling": missing_handling,
        "model": dict(model),
        "validation": validation,
        "metrics": dict(metrics),
        "decision_curve": None if decision_curve is None else decision_curve.to_dict("records"),
        "subgroups": None if subgroups is None else subgroups.to_dict("records"),
        "intended_use": intended_use,
        "limitations": list(limitations),
    }


def _table(records: Sequence[Mapping[str, Any]] | None, columns: Sequence[str] | None = None
           ) -> Block:
    if not records:
        return ("p", NOT_RECORDED)
    frame = pd.DataFrame(list(records))
    return ("table", frame[list(columns)] if columns else frame)


def build_sections(meta: Mapping[str, Any]) -> list[tuple[str, list[Block]]]:
    """The card's sections as renderer-neutral blocks, in TRIPOD+AI order."""
    data, size, model = meta.get("data", {}), meta.get("sample_size", {}), meta.get("model", {})
    dates = data.get("dates")
    outcome = meta.get("outcome", {})
    hyper = model.get("hyperparameters") or {}
    dc_cols = ["threshold", "model", "treat_all", "treat_none"]
    sg_cols = ["group", "level", "n", "events", "metric", "lo", "hi"]
    return [
        ("Data source and dates", [("p", data.get("source", NOT_RECORDED)),
                                   ("p", f"Dates covered: {dates[0]} to {dates[1]}"
                                    if dates else f"Dates covered: {NOT_RECORDED}")]),
        ("Eligibility", [("p", meta.get("eligibility", NOT_RECORDED))]),
        ("Outcome definition", [("list", outcome.get("definitions") or [NOT_RECORDED])]),
        ("Predictors", [_table(meta.get("predictors"), ["predictor", "label", "unit"])]),
        ("Sample size and events", [("list", [
            f"Patients (predictions): {size.get('n', NOT_RECORDED)}",
            f"With a known outcome: {size.get('n_with_outcome', NOT_RECORDED)}",
            f"Events: {size.get('events', NOT_RECORDED)}"])]),
        ("Missing data", [_table(meta.get("predictors"),
                                 ["predictor", "missing", "missing %"]),
                          ("p", "Handling: " + meta.get("missing_handling", NOT_RECORDED))]),
        ("Model type and tuning", [("list", [
            f"Model: {model.get('type', NOT_RECORDED)} ({model.get('estimator', '–')})",
            f"Tuning: {model.get('tuning', NOT_RECORDED)}"] +
            [f"{k} = {_fmt(v)}" for k, v in hyper.items()])]),
        ("Internal validation", [("p", meta.get("validation", NOT_RECORDED))]),
        ("Discrimination and calibration", [_table(
            _interval_rows(meta.get("metrics", {})).to_dict("records"))]),
        ("Decision curve", [_table(meta.get("decision_curve"), dc_cols)]),
        ("Subgroups", [_table(meta.get("subgroups"), sg_cols)]),
        ("Intended use", [("p", meta.get("intended_use", DEFAULT_INTENDED_USE))]),
        ("Limitations", [("list", list(meta.get("limitations") or DEFAULT_LIMITATIONS))]),
    ]


def _title(meta: Mapping[str, Any]) -> str:
    return (f"Model card: {meta.get('model_name', 'net-' + str(meta.get('endpoint', '?')))}"
            f" version {meta.get('model_version', '–')}")


def _md_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    sep = "|" + "---|" * len(frame.columns)
    rows = ["| " + " | ".join(_fmt(v).replace("|", "/") for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([head, sep, *rows])


def render_markdown(meta: Mapping[str, Any]) -> str:
    """The model card as Markdown."""
    out = [f"# {_title(meta)}", ""]
    for title, blocks in build_sections(meta):
        out += [f"## {title}", ""]
        for kind, body in blocks:
            if kind == "p":
                out += [str(body), ""]
            elif kind == "list":
                out += [f"- {item}" for item in body] + [""]
            else:
                out += [_md_table(body), ""]
    return "\n".join(out)


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "color:#1a1a1a}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.2rem .5rem;text-align:left}th{background:#f2f2f2}h2{margin-top:1.6rem}")


def render_html(meta: Mapping[str, Any]) -> str:
    """The model card as one self-contained HTML page (inline CSS, no script, no network)."""
    parts = [f"<h1>{html.escape(_title(meta))}</h1>"]
    for title, blocks in build_sections(meta):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        for kind, body in blocks:
            if kind == "p":
                parts.append(f"<p>{html.escape(str(body))}</p>")
            elif kind == "list":
                items = "".join(f"<li>{html.escape(str(i))}</li>" for i in body)
                parts.append(f"<ul>{items}</ul>")
            else:
                parts.append(_html_table(body))
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(_title(meta))}</title><style>{_CSS}</style></head><body>"
            + "".join(parts) + "</body></html>")

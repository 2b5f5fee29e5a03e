"""SHAP figures with clinical labels: waterfall (one patient), beeswarm, bar and dependence plots.

Figures are written as PNG (and SVG on request, for inlining in self-contained HTML). They contain
patient-level values: treat the files as health data.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap

from models.explain import ShapResult, global_importance
from models.explain_text import (
    describe_value,
    display_scale,
    format_value,
    label_of,
    missing_text,
    spec_of,
    subject_of,
)

__all__ = ["shap_plots"]

logger = logging.getLogger(__name__)

_SCALE_TITLE = {
    "log_odds": "log-odds of response",
    "log_hazard": "log hazard vs an average patient (higher = higher risk)",
    "log_time": "log survival time (higher = longer survival)",
}
_N_DEPENDENCE = 5


def _numeric_frame(result: ShapResult, frame_values: pd.DataFrame | None) -> pd.DataFrame:
    """Numeric value per variable for colouring (categories and text become NaN)."""
    numeric = pd.DataFrame(np.nan, index=result.values.index, columns=result.values.columns)
    if frame_values is None:
        return numeric
    for variable in result.values.columns:  # loop over variables
        if variable in frame_values.columns:
            column = frame_values[variable]
            if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
                numeric[variable] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    return numeric


def _save(fig: Any, out_dir: Path, name: str, formats: Sequence[str]) -> dict[str, Path]:
    paths = {}
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        fig.savefig(path, format=fmt, bbox_inches="tight", dpi=110)
        paths[name if fmt == "png" else f"{name}_{fmt}"] = path
    plt.close(fig)
    return paths


def _patient_texts(
    frame_values: pd.DataFrame | None,
    dictionary: Mapping[str, Any] | None,
    labels: Mapping[str, str],
    position: int,
) -> list[str]:
    """'Label value' phrase per variable for one patient."""
    texts = []
    for variable, label in labels.items():
        value_text, subject = "", label
        if frame_values is not None and variable in frame_values.columns:
            spec = spec_of(dictionary, variable)
            value_text = format_value(frame_values[variable].iloc[position], spec, variable)
            subject = subject_of(spec, variable)  # the measure, for "was it measured" flags
        texts.append(describe_value(subject, value_text))
    return texts


def _waterfall(result: ShapResult, texts: list[str], position: int, top_k: int, title: str) -> Any:
    explanation = shap.Explanation(
        values=result.values.iloc[position].to_numpy(dtype=float),
        base_values=result.base_value,
        data=None,
        feature_names=texts,
    )
    shap.plots.waterfall(explanation, max_display=top_k + 1, show=False)
    fig = plt.gcf()
    fig.suptitle(f"Contributions to the {title}", fontsize=10)
    return fig


def _beeswarm(result: ShapResult, numeric: pd.DataFrame, labels: list[str], rows, top_k: int):
    explanation = shap.Explanation(
        values=result.values.iloc[rows].to_numpy(dtype=float),
        base_values=np.full(len(rows), result.base_value),
        data=numeric.iloc[rows].to_numpy(dtype=float),
        feature_names=labels,
    )
    state = np.random.get_state()  # shap jitters with the global RNG: seed it, then restore,
    np.random.seed(0)              # so the same run draws the same bytes (dvc.lock unchanged)
    try:
        with warnings.catch_warnings():  # all-NaN colour columns (categories) are drawn grey
            warnings.simplefilter("ignore", RuntimeWarning)
            shap.plots.beeswarm(explanation, max_display=top_k, show=False)
    finally:
        np.random.set_state(state)
    return plt.gcf()


def _bar(importance: pd.DataFrame, labels: Mapping[str, str], top_k: int, title: str):
    top = importance.head(top_k).iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(top) + 1.2))
    ax.barh([labels[v] for v in top["variable"]], top["mean_abs_shap"], color="#3b6ea5")
    ax.set_xlabel(f"mean |SHAP| ({title})")
    ax.set_title("Global importance")
    return fig


def _dependence(
    result: ShapResult,
    frame_values: pd.DataFrame | None,
    dictionary: Mapping[str, Any] | None,
    variable: str,
    title: str,
):
    spec = spec_of(dictionary, variable)
    label = label_of(spec, variable)
    shap_values = result.values[variable].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4))
    raw = frame_values[variable] if frame_values is not None and variable in frame_values else None
    if raw is None:
        ax.hist(shap_values, bins=30, color="#3b6ea5")
        ax.set_xlabel(f"SHAP ({title})")
    elif pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        x, unit, log_axis = display_scale(pd.to_numeric(raw, errors="coerce"), spec)
        seen = ~np.isnan(x)
        ax.scatter(x[seen], shap_values[seen], s=6, alpha=0.5, color="#3b6ea5")
        if (~seen).any() and seen.any():
            low, high = np.min(x[seen]), np.max(x[seen])
            left = low / 2 if log_axis else low - 0.1 * ((high - low) or 1.0)
            ax.scatter(np.full((~seen).sum(), left), shap_values[~seen], s=6, color="#999999",
                       label=missing_text(spec))
            ax.legend(loc="best", fontsize=8)
        if log_axis:
            ax.set_xscale("log")
        ax.set_xlabel(f"{label} ({unit})" if unit else label)
    else:
        words = pd.Series([format_value(v, spec, variable) for v in raw.astype(object)])
        categories = sorted(words.unique())
        codes = words.map({c: i for i, c in enumerate(categories)}).to_numpy(dtype=float)
        jitter = ((np.arange(len(codes)) * 0.6180339887) % 1.0 - 0.5) * 0.4  # deterministic
        ax.scatter(codes + jitter, shap_values, s=6, alpha=0.5, color="#3b6ea5")
        ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
        ax.set_xlabel(label)
    ax.axhline(0.0, color="#444444", linewidth=0.8)
    ax.set_ylabel(f"SHAP ({title})")
    ax.set_title(f"Dependence: {label}")
    return fig


def shap_plots(
    result: ShapResult,
    frame_values: pd.DataFrame | None,
    dictionary: Mapping[str, Any] | None,
    out_dir: Path | str,
    *,
    patient_row: int | None = None,
    top_k: int = 10,
    formats: Sequence[str] = ("png",),
    max_points: int = 2000,
) -> dict[str, Path]:
    """Write the SHAP figures with clinical labels.

    Args:
        result: SHAP values, ideally grouped by clinical variable.
        frame_values: Clinical values (same rows as ``result``) for value texts and colours.
        dictionary: Feature dictionary (labels, units, categories).
        out_dir: Folder to write into (created if absent).
        patient_row: Position of the patient for the waterfall (None: no waterfall).
        top_k: Variables shown in waterfall, beeswarm and bar.
        formats: File formats, e.g. ``("png", "svg")``; SVG can be inlined in HTML.
        max_points: Patients drawn in the beeswarm (evenly spaced rows; all if fewer).

    Returns:
        Name -> path: ``waterfall``, ``beeswarm``, ``bar``, ``dependence_<variable>`` (top five
        variables by mean |SHAP|); other formats get a ``_<format>`` suffix (``bar_svg``).
    """
    if plt.get_backend().lower() != "agg":
        plt.switch_backend("agg")  # never open windows; files only
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = _SCALE_TITLE.get(result.scale or "", "model margin")
    labels = {v: label_of(spec_of(dictionary, v), v) for v in result.values.columns}
    importance = global_importance(result)
    paths: dict[str, Path] = {}
    with matplotlib.rc_context({"font.size": 9}):
        if patient_row is not None:
            texts = _patient_texts(frame_values, dictionary, labels, patient_row)
            fig = _waterfall(result, texts, patient_row, top_k, title)
            paths |= _save(fig, out, "waterfall", formats)
        if len(result) > 1:
            count = min(len(result), max_points)
            rows = np.unique(np.linspace(0, len(result) - 1, count).round().astype(int))
            numeric = _numeric_frame(result, frame_values)
            fig = _beeswarm(result, numeric, list(labels.values()), rows, top_k)
            fig.axes[0].set_xlabel(f"SHAP value ({title})")
            paths |= _save(fig, out, "beeswarm", formats)
        paths |= _save(_bar(importance, labels, top_k, title), out, "bar", formats)
        for variable in importance["variable"].head(_N_DEPENDENCE):
            fig = _dependence(result, frame_values, dictionary, variable, title)
            paths |= _save(fig, out, f"dependence_{variable}", formats)
    logger.info("wrote %d SHAP figures to %s", len(paths), out)
    return paths

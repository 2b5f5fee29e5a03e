"""SHAP values in clinical words: value texts with units, tidy tables and one sentence per driver.

The feature dictionary is the plain dict written by the features stage:
``{"version": 1, "features": [{"name", "label", "unit", "family", "role", "dtype", "categories"?,
"range"}, ...]}``. For one-hot groups the entry's ``name`` is the original categorical column
(``primary_site``) and its value is the category (``pancreas``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.explain import ShapResult

__all__ = [
    "describe_driver",
    "describe_value",
    "direction_of",
    "format_value",
    "label_of",
    "spec_of",
    "tidy",
    "who_grade",
]

_OUTCOME_EVENT = {"pfs": "progression", "os": "death"}
_DEFAULT_SCALE = {"response": "log_odds", "pfs": "log_hazard", "os": "log_hazard"}
_SCALE_WORDS = {
    "log_odds": ("log-odds", "odds ratio"),
    "log_hazard": ("log hazard ratio", "hazard ratio"),
    "log_time": ("log survival time", "time ratio"),
}
_UNITLESS = {"", "-", "1", "ratio", "unitless", "none", "score", "count", "flag"}
_CATEGORICAL_DTYPES = {"category", "categorical", "string", "str", "object"}
_BOOLEAN_DTYPES = {"bool", "boolean", "binary", "flag"}
_KI67 = "ki67_percent"
_ZERO = 1e-12


def spec_of(dictionary: Mapping[str, Any] | None, variable: str) -> dict[str, Any]:
    """Return the dictionary entry of a variable (empty dict if absent)."""
    if not dictionary:
        return {}
    for entry in dictionary.get("features", []):
        if entry.get("name") == variable:
            return dict(entry)
    return {}


def label_of(spec: Mapping[str, Any], variable: str) -> str:
    """Clinical label of a variable; falls back to the column name in words."""
    label = spec.get("label")
    return str(label) if label else variable.replace("_", " ").capitalize()


def who_grade(ki67_percent: float) -> str:
    """WHO 2019 grade from the Ki-67 index: G1 < 3 %, G2 3-20 %, G3 > 20 %."""
    if ki67_percent < 3:
        return "G1"
    return "G2" if ki67_percent <= 20 else "G3"


def _format_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    magnitude = abs(value)
    if magnitude >= 100:
        text = f"{value:.0f}"
    elif magnitude >= 1:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2g}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _category_words(value: Any, categories: Any) -> str:
    if isinstance(categories, Mapping) and value in categories:
        return str(categories[value])
    if isinstance(categories, list):
        for item in categories:
            if isinstance(item, Mapping) and item.get("value") == value and item.get("label"):
                return str(item["label"])
    return str(value).replace("_", " ")


def format_value(value: Any, spec: Mapping[str, Any], variable: str = "") -> str:
    """One value in clinical words and units.

    Args:
        value: Raw value from the clinical frame (number, category, bool, NaN).
        spec: The variable's dictionary entry (may be empty).
        variable: Variable name (``ki67_percent`` also gets its WHO grade).

    Returns:
        E.g. ``"15 % (G2)"``, ``"4.2"``, ``"pancreas"``, ``"yes"``, ``"missing"``.
    """
    if _is_missing(value):
        return "missing"
    dtype = str(spec.get("dtype", "")).lower()
    if dtype in _BOOLEAN_DTYPES or isinstance(value, (bool, np.bool_)):
        return "yes" if bool(value) else "no"
    if dtype in _CATEGORICAL_DTYPES or spec.get("categories") or isinstance(value, str):
        return _category_words(value, spec.get("categories"))
    number = float(value)
    if not math.isfinite(number):
        return "missing"
    unit = str(spec.get("unit") or "").strip()
    text = _format_number(number)
    if unit.lower() not in _UNITLESS:
        text = f"{text} {unit}"
    if variable == _KI67:
        text = f"{text} ({who_grade(number)})"
    return text


def describe_value(label: str, value_text: str) -> str:
    """Label and value as one phrase: "Ki-67 index 15 % (G2)", "Primary site: pancreas"."""
    if not value_text:
        return label
    if value_text == "missing":
        return f"{label} (missing)"
    if value_text[0].isdigit() or value_text[0] in "-+<>.":
        return f"{label} {value_text}"
    return f"{label}: {value_text}"


def direction_of(shap_value: float, scale: str | None) -> str:
    """Effect of a contribution on the event: ``raises``, ``lowers`` or ``none``.

    The event is response for log-odds models and progression/death for survival models; on the
    AFT ``log_time`` scale a positive contribution lengthens survival, so it lowers the risk.
    """
    if abs(shap_value) <= _ZERO or not math.isfinite(shap_value):
        return "none"
    up = shap_value > 0
    if scale == "log_time":
        up = not up
    return "raises" if up else "lowers"


def _effect_phrase(direction: str, outcome: str) -> str:
    if outcome == "response":
        if direction == "none":
            return "does not change the chance of a response"
        return f"makes a response {'more' if direction == 'raises' else 'less'} likely"
    event = _OUTCOME_EVENT[outcome]
    if direction == "none":
        return f"does not change the risk of {event}"
    return f"{direction} the risk of {event}"


def describe_driver(
    variable_label: str,
    value_text: str,
    shap_value: float,
    *,
    outcome: str,
    scale: str | None = None,
) -> str:
    """One sentence in clinical words for one driver.

    Args:
        variable_label: Clinical label (``"Ki-67 index"``).
        value_text: Value in words (``"15 % (G2)"``, ``"missing"``).
        shap_value: Contribution on the margin scale.
        outcome: ``"response"``, ``"pfs"`` or ``"os"``.
        scale: Margin scale; defaults to log-odds for response and log hazard for PFS/OS.
            Pass ``"log_time"`` for AFT models (positive = longer survival).

    Returns:
        E.g. ``"Ki-67 index 15 % (G2) raises the risk of progression (hazard ratio 1.38)."``
    """
    if outcome not in _DEFAULT_SCALE:
        raise ValueError(f"outcome must be one of {sorted(_DEFAULT_SCALE)}, got {outcome!r}")
    scale = scale or _DEFAULT_SCALE[outcome]
    if scale not in _SCALE_WORDS:
        raise ValueError(f"unknown scale {scale!r}")
    value = float(shap_value)
    direction = direction_of(value, scale)
    subject = describe_value(variable_label, value_text)
    subject = subject[:1].upper() + subject[1:]
    _, ratio_words = _SCALE_WORDS[scale]
    detail = f"{ratio_words} {math.exp(value):.2f}" if math.isfinite(value) else "undefined"
    return f"{subject} {_effect_phrase(direction, outcome)} ({detail})."


def _value_texts(
    long: pd.DataFrame,
    frame_values: pd.DataFrame | None,
    dictionary: Mapping[str, Any] | None,
) -> np.ndarray:
    """Value text for each (position, variable) row of the long table."""
    texts = np.full(len(long), "", dtype=object)
    if frame_values is None:
        return texts
    for variable, rows in long.groupby("variable", sort=False).indices.items():  # per variable
        if variable not in frame_values.columns:
            continue
        spec = spec_of(dictionary, variable)
        column = frame_values[variable].iloc[long["position"].to_numpy()[rows]].astype(object)
        seen = pd.Series(pd.unique(column.to_numpy()), dtype=object)
        words = {v: format_value(v, spec, variable) for v in seen if not _is_missing(v)}
        mapped = column.map(words).to_numpy(dtype=object)
        texts[rows] = np.where(column.isna().to_numpy(), "missing", mapped)
    return texts


def _describe_values(labels: pd.Series, texts: pd.Series) -> np.ndarray:
    """Vectorised :func:`describe_value` over two aligned columns."""
    texts = texts.astype(str)
    conditions = [
        (texts == "").to_numpy(),
        (texts == "missing").to_numpy(),
        texts.str.match(r"[0-9+\-<>.]").to_numpy(dtype=bool),
    ]
    choices = [labels, labels + " (missing)", labels + " " + texts]
    return np.select(
        conditions,
        [c.to_numpy(dtype=object) for c in choices],
        (labels + ": " + texts).to_numpy(dtype=object),
    )


def tidy(
    result: ShapResult,
    frame_values: pd.DataFrame | None,
    dictionary: Mapping[str, Any] | None,
    top_k: int | None = None,
    *,
    outcome: str | None = None,
) -> pd.DataFrame:
    """Long table of SHAP values in clinical words, one row per (patient, variable).

    Args:
        result: SHAP values (grouped by clinical variable for readable output).
        frame_values: Clinical values per patient (same row order as ``result``), columns named
            like the variables; None leaves ``value_text`` empty.
        dictionary: Feature dictionary (labels, units, categories); None uses column names.
        top_k: Keep each patient's ``top_k`` largest |SHAP| rows.
        outcome: ``"response"``, ``"pfs"`` or ``"os"`` to add a ``sentence`` column.

    Returns:
        Columns ``row`` (the patient's index label), ``rank`` (1 = largest |SHAP|), ``variable``,
        ``label``, ``value_text``, ``description`` (label and value), ``shap``, ``direction``
        (``raises``/``lowers``/``none`` the event: response, or progression/death) and
        optionally ``sentence``.
    """
    values = result.values
    n, p = values.shape
    if frame_values is not None and len(frame_values) != n:
        raise ValueError(f"frame_values has {len(frame_values)} rows, SHAP values have {n}")
    labels = {v: label_of(spec_of(dictionary, v), v) for v in values.columns}
    shap_matrix = values.to_numpy(dtype=np.float64)
    order = np.argsort(-np.abs(shap_matrix), axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(n)[:, None], order] = np.arange(1, p + 1)[None, :]
    long = pd.DataFrame(
        {
            "row": np.repeat(values.index.to_numpy(), p),
            "position": np.repeat(np.arange(n), p),
            "rank": ranks.ravel(),
            "variable": np.tile(values.columns.to_numpy(dtype=object), n),
            "shap": shap_matrix.ravel(),
        }
    )
    if top_k is not None:
        long = long[long["rank"] <= top_k]
    long = long.sort_values(["position", "rank"], kind="stable").reset_index(drop=True)
    long.insert(4, "value_text", _value_texts(long, frame_values, dictionary))
    long = long.drop(columns="position")
    long.insert(3, "label", long["variable"].map(labels))
    long.insert(5, "description", _describe_values(long["label"], long["value_text"]))
    sign = np.sign(long["shap"].to_numpy()) * (-1.0 if result.scale == "log_time" else 1.0)
    sign[np.abs(long["shap"].to_numpy()) <= _ZERO] = 0.0
    long["direction"] = np.select([sign > 0, sign < 0], ["raises", "lowers"], "none")
    if outcome is not None:
        long["sentence"] = [
            describe_driver(lab, txt, s, outcome=outcome, scale=result.scale)
            for lab, txt, s in zip(long["label"], long["value_text"], long["shap"], strict=True)
        ]
    return long.reset_index(drop=True)

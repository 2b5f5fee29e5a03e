"""SHAP values in clinical words: value texts with units, tidy tables and one sentence per driver.

The feature dictionary is the plain dict written by the features stage:
``{"version": 1, "features": [{"name", "label", "unit", "family", "role", "dtype", "categories"?,
"range", "display"?}, ...]}``. For one-hot groups the entry's ``name`` is the original categorical
column (``primary_site``) and its value is the category (``pancreas``).

``display`` holds the entry's display hints (``features.dictionary`` documents them): a
``transform`` (log10 multiples of the ULN back-transformed, natural-log slopes as % per month with
a doubling time), the ``unit`` shown, ``value_labels`` for codes and scores, the ``missing_text``
and ``indicator_of`` for "was it measured" flags. Every value text of every report comes from
:func:`format_value`, so a code or a log value never reaches a clinician as such.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clinical.grades import grade_from_ki67
from clinical.measures import NOT_MEASURED
from models.explain import ShapResult

__all__ = [
    "describe_driver",
    "describe_value",
    "direction_of",
    "display_scale",
    "doubling_time_months",
    "format_value",
    "label_of",
    "missing_text",
    "percent_per_month",
    "spec_of",
    "subject_of",
    "tidy",
    "who_grade",
]

_OUTCOME_EVENT = {"pfs": "progression", "os": "death"}
_DEFAULT_SCALE = {"response": "log_odds", "pfs": "log_hazard", "os": "log_hazard"}
# exp(SHAP) compares this patient's value with an average patient of the training cohort (the
# SHAP base value); it is not a trial's hazard ratio, so it is named as what it is.
_SCALE_WORDS = {
    "log_odds": ("log-odds", "the odds of an average patient"),
    "log_hazard": ("log hazard", "the hazard of an average patient"),
    "log_time": ("log survival time", "the survival time of an average patient"),
}
_UNITLESS = {"", "-", "1", "ratio", "unitless", "none", "score", "count", "flag"}
_CATEGORICAL_DTYPES = {"category", "categorical", "string", "str", "object"}
_BOOLEAN_DTYPES = {"bool", "boolean", "binary", "flag"}
_KI67 = "ki67_percent"
_ZERO = 1e-12
_LN2 = math.log(2.0)
_LONGEST_MONTHS = 120.0  # doubling times beyond ten years read as "over 10 years"
_PREDICATE = r"(not |at most |measured$|done$)"  # value texts read after the label without a colon


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
    """WHO 2019 grade from the Ki-67 index: G1 < 3 %, G2 3-20 %, G3 > 20 % (clinical.grades)."""
    return str(grade_from_ki67([ki67_percent])[0])


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


def _display(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    display = spec.get("display")
    return display if isinstance(display, Mapping) else {}


def missing_text(spec: Mapping[str, Any]) -> str:
    """What a missing value of this variable is called ("not measured" unless the entry says)."""
    return str(_display(spec).get("missing_text") or NOT_MEASURED)


def _same(value: Any, code: Any) -> bool:
    """Value equals code; numbers compare as numbers ("2.0" and 2 are the same Krenning score)."""
    if isinstance(code, (int, float)) and not isinstance(code, bool):
        try:
            return float(value) == float(code)
        except (TypeError, ValueError):
            return False
    return str(value) == str(code)


def _value_label(value: Any, labels: Any) -> str | None:
    """Word of a code from ``[{"value", "label"}, ...]`` or ``{code: label}``; None if absent."""
    if isinstance(labels, Mapping):
        labels = [{"value": k, "label": v} for k, v in labels.items()]
    for item in labels if isinstance(labels, list) else []:
        if isinstance(item, Mapping) and item.get("label") and _same(value, item.get("value")):
            return str(item["label"])
    return None


def _category_words(value: Any, categories: Any) -> str:
    words = _value_label(value, categories)
    return words if words is not None else str(value).replace("_", " ")


def _significant(value: float, digits: int = 3) -> str:
    """``31.6``, ``0.229``, ``3,160``: ``digits`` significant figures, thousands separated."""
    if value == 0 or not math.isfinite(value):
        return _format_number(value)
    exponent = math.floor(math.log10(abs(value)))
    rounded = round(value, digits - 1 - exponent)
    if abs(rounded) >= 10 ** (digits - 1):
        return f"{rounded:,.0f}"
    return f"{rounded:.{max(digits - 1 - exponent, 0)}f}".rstrip("0").rstrip(".")


def _uln_multiple_text(log10_multiple: float, display: Mapping[str, Any]) -> str:
    """log10(value / ULN) back-transformed: ``"31.6 × ULN (about 3,160 ng/mL)"``."""
    multiple = f"{_significant(10.0 ** log10_multiple)} {display.get('unit') or '× ULN'}"
    reference = display.get("reference") or {}
    uln = reference.get("value")
    if not isinstance(uln, (int, float)) or uln <= 0:
        return multiple
    unit = str(reference.get("unit") or "")
    amount = 10.0 ** log10_multiple * float(uln)
    floor = reference.get("floor")
    if isinstance(floor, (int, float)) and amount <= float(floor) * (1 + 1e-9):
        return f"at most {multiple} ({_significant(amount)} {unit} or less)"
    return f"{multiple} (about {_significant(amount)} {unit})"


def percent_per_month(ln_slope: float) -> float:
    """Change per month, in %, of a value whose natural log rises by ``ln_slope`` per month."""
    return 100.0 * math.expm1(ln_slope)


def doubling_time_months(ln_slope: float) -> float:
    """Months to double (slope > 0) or to halve (slope < 0): ln 2 / |slope|; inf when flat."""
    return _LN2 / abs(ln_slope) if ln_slope else math.inf


def _rate_text(ln_slope: float, display: Mapping[str, Any]) -> str:
    """A natural-log slope per month: ``"+2.8 % per month (doubling time 24.8 months)"``."""
    percent = percent_per_month(ln_slope)
    unit = display.get("unit") or "% per month"
    if abs(percent) < 0.05:
        return f"stable (about 0 {unit})"
    kind = "doubling" if ln_slope > 0 else "halving"
    months = doubling_time_months(ln_slope)
    when = (f"{_format_number(months)} months" if months <= _LONGEST_MONTHS
            else f"over {_LONGEST_MONTHS / 12:g} years")
    return f"{percent:+.1f} {unit} ({kind} time {when})"


_TRANSFORMS = {"log10_multiple": _uln_multiple_text, "ln_rate_per_month": _rate_text}


def _display_unit(spec: Mapping[str, Any]) -> str:
    """The unit shown: the display hint's when given (may be ""), else the stored unit."""
    display = _display(spec)
    return str(display["unit"] if "unit" in display else spec.get("unit") or "").strip()


def _number_text(number: float, spec: Mapping[str, Any], variable: str) -> str:
    display = _display(spec)
    transform = display.get("transform")
    if transform in _TRANSFORMS:
        return _TRANSFORMS[transform](number, display)
    if transform:
        raise ValueError(f"dictionary entry {variable or spec.get('name')!r}: unknown display "
                         f"transform {transform!r}; known: {', '.join(_TRANSFORMS)}")
    unit = _display_unit(spec)
    text = _format_number(number)
    if unit.lower() not in _UNITLESS:
        text = f"{text} {unit}"
    if variable == _KI67:
        text = f"{text} ({who_grade(number)})"
    return text


def display_scale(values: np.ndarray, spec: Mapping[str, Any]) -> tuple[np.ndarray, str, bool]:
    """Numbers of one variable on the scale clinicians read, for a chart axis.

    Returns:
        (values, unit, log axis): log10 multiples of the ULN become multiples (drawn on a log
        axis), natural-log slopes per month become % per month; other values are unchanged, in
        the entry's display unit.
    """
    values = np.asarray(values, dtype=float)
    display = _display(spec)
    transform = display.get("transform")
    unit = _display_unit(spec)
    if transform == "log10_multiple":
        return np.power(10.0, values), f"{unit or '× ULN'}, log scale", True
    if transform == "ln_rate_per_month":
        return 100.0 * np.expm1(values), unit or "% per month", False
    return values, unit, False


def format_value(value: Any, spec: Mapping[str, Any], variable: str = "") -> str:
    """One value in clinical words and units, following the entry's display hints.

    Args:
        value: Raw value from the clinical frame (number, category, bool, NaN).
        spec: The variable's dictionary entry (may be empty).
        variable: Variable name (``ki67_percent`` also gets its WHO grade).

    Returns:
        E.g. ``"15 % (G2)"``, ``"4.2"``, ``"Pancreas"``, ``"yes"``, ``"3 (uptake above liver)"``,
        ``"31.6 × ULN (about 3,160 ng/mL)"``, ``"+2.8 % per month (doubling time 24.8 months)"``
        or the entry's missing text (``"not measured"``).

    Raises:
        ValueError: If the entry names an unknown display transform.
    """
    if _is_missing(value):
        return missing_text(spec)
    words = _value_label(value, _display(spec).get("value_labels"))
    if words is not None:
        return words
    dtype = str(spec.get("dtype", "")).lower()
    if dtype in _BOOLEAN_DTYPES or isinstance(value, (bool, np.bool_)):
        return "yes" if bool(value) else "no"
    if dtype in _CATEGORICAL_DTYPES or spec.get("categories") or isinstance(value, str):
        return _category_words(value, spec.get("categories"))
    number = float(value)
    if not math.isfinite(number):
        return missing_text(spec)
    return _number_text(number, spec, variable)


def subject_of(spec: Mapping[str, Any], variable: str) -> str:
    """Who a value text is about: the measure for "was it measured" flags, else the label."""
    indicator = _display(spec).get("indicator_of")
    if isinstance(indicator, Mapping) and indicator.get("label"):
        return str(indicator["label"])
    return label_of(spec, variable)


def describe_value(label: str, value_text: str) -> str:
    """Label and value as one phrase.

    E.g. "Ki-67 index 15 % (G2)", "Primary tumour site: Pancreas", "Ki-67 index not measured".
    """
    if not value_text:
        return label
    if value_text[0].isdigit() or value_text[0] in "-+<>." or re.match(_PREDICATE, value_text):
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
        variable_label: Clinical label (``"Ki-67 index"``); for a "was it measured" flag, the
            measure (:func:`subject_of`).
        value_text: Value in words (``"15 % (G2)"``, ``"not measured"``).
        shap_value: Contribution on the margin scale.
        outcome: ``"response"``, ``"pfs"`` or ``"os"``.
        scale: Margin scale; defaults to log-odds for response and log hazard for PFS/OS.
            Pass ``"log_time"`` for AFT models (positive = longer survival).

    Returns:
        E.g. ``"Ki-67 index 15 % (G2) raises the risk of progression (1.38 × the hazard of an
        average patient)."``: exp(SHAP) compares with an average patient of the training cohort.
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
    detail = f"{math.exp(value):.2f} × {ratio_words}" if math.isfinite(value) else "undefined"
    return f"{subject} {_effect_phrase(direction, outcome)} ({detail})."


def _assumption(variable: str, spec: Mapping[str, Any], assumed: Mapping[str, Any] | None) -> str:
    """What the model assumed for a missing value (``" (assumed 8.2 % (G2))"``), "" if unknown."""
    if not assumed or variable not in assumed or _is_missing(assumed[variable]):
        return ""
    what = assumed[variable]
    if isinstance(what, str):
        return f" ({what})"
    return f" (assumed {format_value(what, spec, variable)})"


def _value_texts(
    long: pd.DataFrame,
    frame_values: pd.DataFrame | None,
    dictionary: Mapping[str, Any] | None,
    assumed: Mapping[str, Any] | None = None,
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
        absent = missing_text(spec) + _assumption(variable, spec, assumed)
        texts[rows] = np.where(column.isna().to_numpy(), absent, mapped)
    return texts


def _describe_values(labels: pd.Series, texts: pd.Series) -> np.ndarray:
    """Vectorised :func:`describe_value` over two aligned columns."""
    texts = texts.astype(str)
    conditions = [
        (texts == "").to_numpy(),
        texts.str.match(r"[0-9+\-<>.]").to_numpy(dtype=bool)
        | texts.str.match(_PREDICATE).to_numpy(dtype=bool),
    ]
    choices = [labels, labels + " " + texts]
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
    assumed: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Long table of SHAP values in clinical words, one row per (patient, variable).

    Args:
        result: SHAP values (grouped by clinical variable for readable output).
        frame_values: Clinical values per patient (same row order as ``result``), columns named
            like the variables; None leaves ``value_text`` empty.
        dictionary: Feature dictionary (labels, units, categories); None uses column names.
        top_k: Keep each patient's ``top_k`` largest |SHAP| rows.
        outcome: ``"response"``, ``"pfs"`` or ``"os"`` to add a ``sentence`` column.
        assumed: Variable -> what the model assumed when its value is missing: a value (the
            imputed training median, shown in the variable's units) or words; added to the
            variable's "not measured" text.

    Returns:
        Columns ``row`` (the patient's index label), ``rank`` (1 = largest |SHAP|), ``variable``,
        ``label``, ``value_text``, ``description`` (the measure and its value: "Ki-67 index 15 %
        (G2)", "Ki-67 index not measured (assumed 8 % (G2))"), ``shap``, ``direction``
        (``raises``/``lowers``/``none`` the event: response, or progression/death) and
        optionally ``sentence``.
    """
    values = result.values
    n, p = values.shape
    if frame_values is not None and len(frame_values) != n:
        raise ValueError(f"frame_values has {len(frame_values)} rows, SHAP values have {n}")
    labels = {v: label_of(spec_of(dictionary, v), v) for v in values.columns}
    subjects = {v: subject_of(spec_of(dictionary, v), v) for v in values.columns}
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
    long.insert(4, "value_text", _value_texts(long, frame_values, dictionary, assumed))
    long = long.drop(columns="position")
    long.insert(3, "label", long["variable"].map(labels))
    subject = long["variable"].map(subjects)
    long.insert(5, "description", _describe_values(subject, long["value_text"]))
    sign = np.sign(long["shap"].to_numpy()) * (-1.0 if result.scale == "log_time" else 1.0)
    sign[np.abs(long["shap"].to_numpy()) <= _ZERO] = 0.0
    long["direction"] = np.select([sign > 0, sign < 0], ["raises", "lowers"], "none")
    if outcome is not None:
        long["sentence"] = [
            describe_driver(lab, txt, s, outcome=outcome, scale=result.scale)
            for lab, txt, s in zip(subject, long["value_text"], long["shap"], strict=True)
        ]
    return long.reset_index(drop=True)

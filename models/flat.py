"""A user's single-table cohort: type its columns into a feature dictionary, pick evaluation times.

``evaluate-flat`` runs the pipeline's model choice on one CSV (one row per patient). The
pipeline's estimators read a feature dictionary (:class:`models.design.DesignMatrix`); this module
builds one from the table itself: numeric columns stay numeric, 0/1 and boolean columns become
``binary``, text / category columns with few levels become one-hot ``categorical``, and columns
that cannot be used (all missing, constant, free text or identifiers with many levels) are
listed as excluded with the reason. It also chooses the times at which survival is evaluated
from the observed event times, since a user's table may count days, months or years.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

__all__ = [
    "LEAK_AUC",
    "LEAK_SPEARMAN",
    "MAX_LEVELS",
    "MIN_CENSORING_SURVIVAL",
    "evaluation_times",
    "identifier_name",
    "infer_dictionary",
    "screen_columns",
    "truncation_time",
]

logger = logging.getLogger(__name__)

#: Text columns with more distinct values than this are not one-hot encoded (identifier-like).
MAX_LEVELS = 20


def _is_binary(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return True
    seen = pd.unique(values.dropna())
    return bool(pd.api.types.is_numeric_dtype(values) and np.isin(seen, (0, 1)).all())


def _type_column(values: pd.Series, max_levels: int) -> tuple[str | None, list[str] | None, str]:
    """(dtype, categories, reason if excluded) of one column."""
    present = values.dropna()
    if present.empty:
        return None, None, "all values missing"
    if present.nunique() < 2:
        return None, None, "constant"
    if _is_binary(values):
        return "binary", None, ""
    if pd.api.types.is_numeric_dtype(values):
        return "numeric", None, ""
    if isinstance(values.dtype, pd.CategoricalDtype):
        used = set(present.astype(str))
        cats = [str(c) for c in values.cat.categories if str(c) in used]
    else:
        as_number = pd.to_numeric(present, errors="coerce")
        if as_number.notna().all():  # numbers stored as text
            return "numeric", None, ""
        cats = sorted(map(str, pd.unique(present.astype(str))))
    if len(cats) > max_levels:
        return None, None, f"{len(cats)} distinct text values (identifier or free text?)"
    return "categorical", cats, ""


def infer_dictionary(
    frame: pd.DataFrame,
    exclude: Iterable[str] = (),
    *,
    treatment: str | None = None,
    max_levels: int = MAX_LEVELS,
) -> dict:
    """Feature dictionary of a single-table cohort, typed from the column values.

    Args:
        frame: The cohort, one row per patient (not modified).
        exclude: Columns that are not model inputs (outcome columns, identifiers).
        treatment: Column to mark with role ``treatment`` (still a model input).
        max_levels: Text columns with more levels are excluded, not one-hot encoded.

    Returns:
        ``{"version": 1, "features": [{"name", "role", "dtype", "categories"?}],
        "excluded": [{"name", "reason"}]}``; dtypes are ``numeric``, ``binary`` or
        ``categorical`` (levels sorted, or in the order of a pandas categorical).

    Raises:
        ValueError: If ``treatment`` is not a column of ``frame``.
    """
    if treatment is not None and treatment not in frame.columns:
        raise ValueError(f"treatment column {treatment!r} is not in the table")
    skip = set(exclude) - {treatment}
    features, excluded = [], []
    for name in frame.columns:
        if name in skip:
            continue
        dtype, cats, reason = _type_column(frame[name], max_levels)
        if name == treatment and dtype is not None:  # arms are categories, whatever their codes
            dtype = "categorical"
            cats = sorted(map(str, pd.unique(frame[name].dropna().astype(str))))
        if dtype is None:
            excluded.append({"name": str(name), "reason": reason})
            logger.info("column %s not used as a model input: %s", name, reason)
            continue
        entry = {"name": str(name), "role": "treatment" if name == treatment else "feature",
                 "dtype": dtype}
        if cats is not None:
            entry["categories"] = cats
        features.append(entry)
    return {"version": 1, "features": features, "excluded": excluded}


def _round_sig(values: np.ndarray, digits: int = 4) -> np.ndarray:
    """Round to ``digits`` significant digits (so ``f"{t:g}"`` names them exactly)."""
    return np.array([float(f"{v:.{digits}g}") for v in values], dtype=np.float64)


#: The IPCW metrics stop where the censoring survival (the share of patients not yet censored,
#: Kaplan-Meier) falls below this: beyond it a few patients would carry huge weights, and where
#: every survivor is censored at one study end it reaches zero (the weights are undefined).
MIN_CENSORING_SURVIVAL = 0.1


def censoring_survival(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier of the censoring times: ``(distinct times, G(t))``, G right-continuous.

    At a time with both events and censorings the events come first (they are not at risk of
    being censored), the usual convention of the IPCW weights.
    """
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    times, inverse = np.unique(time, return_inverse=True)
    events = np.bincount(inverse, weights=event, minlength=times.size)
    censored = np.bincount(inverse, weights=~event, minlength=times.size)
    at_risk = time.size - np.concatenate([[0.0], np.cumsum(events + censored)[:-1]])
    exposed = at_risk - events
    hazard = np.divide(censored, exposed, out=np.zeros_like(censored), where=exposed > 0)
    return times, np.cumprod(1.0 - hazard)


def truncation_time(time: np.ndarray, event: np.ndarray,
                    floor: float = MIN_CENSORING_SURVIVAL) -> dict[str, float]:
    """The time ``tau`` up to which the IPCW metrics are computed.

    ``tau`` is the first observed time at which the censoring survival ``G`` falls below
    ``floor`` (in a fixed-length study: the study end, where ``G`` is zero), else the last
    observed time. The IPCW metrics use the events before ``tau`` only, and every time before
    it has ``G >= floor``.

    Returns:
        ``{"tau", "censoring_survival_before_tau", "min_censoring_survival",
        "events_at_or_after_tau"}``.
    """
    times, g = censoring_survival(time, event)
    low = np.flatnonzero(g < floor)
    k = int(low[0]) if low.size else times.size - 1
    before = float(g[k - 1]) if k > 0 else 1.0
    late = int(np.sum(np.asarray(event, dtype=bool) & (np.asarray(time, float) >= times[k])))
    return {"tau": float(times[k]), "censoring_survival_before_tau": round(before, 4),
            "min_censoring_survival": floor, "events_at_or_after_tau": late}


def evaluation_times(
    time: np.ndarray, event: np.ndarray, n_grid: int = 20, tau: float | None = None
) -> tuple[list[float], list[float]]:
    """Horizons for the time-dependent AUC and the grid for the integrated Brier score.

    The horizons are the quartiles of the observed event times; the grid spans the 10th to
    90th percentile of the event times (as ``sksurv`` recommends for the IBS) in ``n_grid``
    steps and includes the horizons. Both depend on the outcome only, in the table's unit.
    With ``tau`` only the event times before it count (so horizons and grid lie before it).

    Args:
        time: Follow-up times, shape ``(n,)``.
        event: Event indicators (bool or 0/1), shape ``(n,)``.
        n_grid: Number of evenly spaced grid times.
        tau: Truncation time of the IPCW metrics (:func:`truncation_time`), or ``None``.

    Returns:
        ``(horizons, grid)``, each sorted and unique.

    Raises:
        ValueError: If fewer than two distinct event times are observed.
    """
    times = np.asarray(time, dtype=np.float64)[np.asarray(event, dtype=bool)]
    if tau is not None:
        times = times[times < tau]
    if np.unique(times).size < 2:
        raise ValueError("need at least two distinct event times to evaluate survival")
    horizons = np.unique(_round_sig(np.quantile(times, [0.25, 0.5, 0.75])))
    lo, hi = np.quantile(times, [0.1, 0.9])
    grid = np.unique(np.concatenate([_round_sig(np.linspace(lo, hi, n_grid)), horizons]))
    return horizons.tolist(), grid.tolist()


# --- leakage and identifier screen ---------------------------------------------------------

#: A model input whose values (or whose being recorded) separate events from non-events with an
#: AUC at or above this (either direction) nearly determines the outcome: refused.
LEAK_AUC = 0.90
#: A model input whose |Spearman correlation| with the follow-up time is at or above this: refused.
LEAK_SPEARMAN = 0.90
#: Integer columns unique per row are identifiers only from this many recorded rows on.
MIN_ROWS_UNIQUE = 20

_ID_TOKENS = frozenset({"id", "ids", "pid", "mrn", "ssn", "uuid", "guid", "identifier", "nhs",
                        "nhi", "chi", "bsn", "ipp"})
_ID_JOINED = ("patientid", "subjectid", "studyid", "caseid", "recordid", "personid",
              "participantid", "patientnumber", "patientno", "hospitalnumber", "recordnumber",
              "medicalrecord", "encounterid", "admissionid", "accession")


def identifier_name(name: str) -> bool:
    """Whether a column is named like an identifier (``id``, ``patient_id``, ``MRN``, ...).

    Words are split at non-letters and at lower-to-upper case changes, so ``thyroid`` or
    ``carcinoid`` are not identifiers.
    """
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name))
    words = [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]
    joined = "".join(words)
    return bool(_ID_TOKENS.intersection(words)) or any(k in joined for k in _ID_JOINED)


def _folded_auc(score: np.ndarray, outcome: np.ndarray) -> float:
    """ROC AUC of ``score`` for a 0/1 ``outcome``, folded to >= 0.5 (NaN with one class)."""
    if np.unique(outcome).size < 2 or np.unique(score).size < 2:
        return float("nan")
    auc = float(roc_auc_score(outcome, score))
    return max(auc, 1.0 - auc)


def _value_score(values: pd.Series, y: np.ndarray) -> np.ndarray | None:
    """A score per recorded value: the number itself, or (text) the outcome rate of its level.

    ``None`` for text with fewer than 10 rows a level on average (level rates would fit noise).
    """
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=np.float64)
    codes, levels = pd.factorize(values.astype(str), sort=True)
    if len(levels) > max(2, len(values) // 10):
        return None
    return pd.Series(y).groupby(codes).transform("mean").to_numpy(dtype=np.float64)


def _outcome_checks(values: pd.Series, outcomes: dict[str, np.ndarray], time: np.ndarray
                    ) -> list[tuple[str, str, float, float]]:
    """(check, statistic, value, threshold) of the outcome checks one column fails."""
    found = []
    present = values.notna().to_numpy()
    for name, y in outcomes.items():
        known = ~np.isnan(y)
        recorded = _folded_auc(present[known].astype(float), y[known])
        if recorded >= LEAK_AUC:
            found.append((f"whether it is recorded nearly determines the {name}",
                          f"AUC of recorded-vs-missing for the {name}", recorded, LEAK_AUC))
        rows = known & present
        if rows.sum() < MIN_ROWS_UNIQUE:
            continue
        score = _value_score(values[rows], y[rows])
        auc = float("nan") if score is None else _folded_auc(score, y[rows])
        if auc >= LEAK_AUC:
            found.append((f"its values nearly determine the {name}",
                          f"AUC of the values for the {name}", auc, LEAK_AUC))
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    rows = ~np.isnan(numeric) & ~np.isnan(time)
    varied = np.unique(numeric[rows]).size > 1 and np.unique(time[rows]).size > 1
    if rows.sum() >= MIN_ROWS_UNIQUE and varied:
        rho = abs(float(spearmanr(numeric[rows], time[rows]).statistic))
        if rho >= LEAK_SPEARMAN:
            found.append(("its values nearly determine the follow-up time",
                          "|Spearman| with the follow-up time", rho, LEAK_SPEARMAN))
    return found


def _identifier_checks(name: str, values: pd.Series) -> list[tuple[str, str, float, float]]:
    found = []
    if identifier_name(name):
        found.append(("named like an identifier", "column name", 1.0, 1.0))
    present = values.dropna()
    n = len(present)
    numeric = pd.to_numeric(present, errors="coerce")
    # numbers: only whole numbers count (measurements with decimals are often all distinct)
    codes = (numeric.notna().all()
             and not bool(np.all(np.mod(numeric.to_numpy(float), 1) == 0)))
    if n >= MIN_ROWS_UNIQUE and not codes and present.astype(str).nunique() == n:
        kind = "whole numbers" if numeric.notna().all() else "values"
        found.append((f"unique per row ({n} distinct {kind} in {n} recorded rows)",
                      "distinct values / recorded rows", 1.0, 1.0))
    return found


def screen_columns(
    frame: pd.DataFrame,
    columns: Iterable[str],
    *,
    time: np.ndarray,
    outcomes: dict[str, np.ndarray],
) -> list[dict]:
    """Model inputs that look like identifiers or that nearly determine an outcome.

    A column is flagged when it is named like an identifier (:func:`identifier_name`), holds
    text or whole numbers unique per row, when whether it is recorded or its values separate the
    outcome's two classes with an AUC >= :data:`LEAK_AUC` (text levels scored by their outcome
    rate, when there are >= 10 rows a level on average), or when its |Spearman| with the
    follow-up time is >= :data:`LEAK_SPEARMAN`.

    Args:
        frame: The rows (aligned with ``time`` and ``outcomes``).
        columns: The model inputs to screen.
        time: Follow-up time per row (NaN: unknown).
        outcomes: Name (``event``, ``response``) -> 0/1 per row (NaN: unknown).

    Returns:
        One ``{"column", "problem", "statistic", "value", "threshold"}`` per finding.
    """
    time = np.asarray(time, dtype=np.float64)
    outcomes = {k: np.asarray(v, dtype=np.float64) for k, v in outcomes.items()}
    findings = []
    for name in columns:
        values = frame[name]
        checks = _identifier_checks(str(name), values) + _outcome_checks(values, outcomes, time)
        findings += [{"column": str(name), "problem": problem, "statistic": statistic,
                      "value": round(float(value), 3), "threshold": threshold}
                     for problem, statistic, value, threshold in checks]
    return findings

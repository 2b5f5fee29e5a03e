"""Performance of a model from its out-of-fold predictions: per-fold metrics and their summary.

The ``evaluate`` stage feeds the out-of-fold predictions of nested cross-validation here. Each
outer test fold gives one value of every metric (the fold's training rows, i.e. the rest of the
same repeat, serve as the censoring reference of the IPCW metrics); values are summarised as
mean with a 2.5-97.5 percentile interval across folds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.evaluation.bootstrap import summarise
from models.evaluation.calibration import (
    brier,
    calibration_intercept_slope,
    integrated_calibration_index,
    survival_calibration_by_decile,
)
from models.evaluation.discrimination import (
    brier_at,
    harrell_c,
    integrated_brier,
    roc_auc,
    time_dependent_auc,
    uno_c,
)
from models.evaluation.oracle import oracle_auc, oracle_c_index

__all__ = [
    "binary_fold_metrics",
    "cv_metrics",
    "surv_columns",
    "survival_fold_metrics",
    "truncate",
]

logger = logging.getLogger(__name__)


def surv_columns(frame: pd.DataFrame) -> dict[float, str]:
    """Map horizon (months) -> column of predicted survival (``surv_<h>``), sorted by horizon."""
    cols = {float(c[5:]): c for c in frame.columns if c.startswith("surv_")}
    return dict(sorted(cols.items()))


def binary_fold_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, Brier, calibration intercept and slope, ICI of one test fold."""
    cal = calibration_intercept_slope(y, p)
    return {
        "auc": roc_auc(y, p),
        "brier": brier(y, p),
        "calibration_intercept": cal["intercept"],
        "calibration_slope": cal["slope"],
        "ici": integrated_calibration_index(y, p),
    }


def survival_fold_metrics(
    y_train: np.ndarray,
    y_test: np.ndarray,
    risk: np.ndarray,
    surv: pd.DataFrame,
    horizons: Sequence[float],
    calibration_horizons: Sequence[float] = (12.0, 24.0),
    tau: float | None = None,
) -> dict[str, float]:
    """Harrell's and Uno's C, time-dependent AUC, Brier and calibration of one test fold.

    With ``tau`` (a time where the censoring survival is still clearly positive) the IPCW
    metrics use every test row with its follow-up truncated at ``tau`` or the last training
    time, whichever is earlier (:func:`truncate`), instead of dropping the test rows beyond the
    training follow-up; horizons and grid times at or beyond it are not used.

    Args:
        y_train: Survival outcome of the fold's training rows (censoring reference).
        y_test: Survival outcome of the test rows.
        risk: Predicted risk (higher = worse), shape ``(n_test,)``.
        surv: Predicted survival, one column ``surv_<t>`` per time on the grid.
        horizons: Horizons for the time-dependent AUC.
        calibration_horizons: Horizons for calibration and Brier.
        tau: Truncation time of the IPCW metrics, or ``None``.
    """
    grid = surv_columns(surv)
    out = {"harrell_c": harrell_c(y_test, risk)}
    # IPCW metrics need test times below the training follow-up (the censoring distribution is
    # unknown beyond it): they use the test rows inside it (or, with tau, every row truncated
    # at tau); Harrell's C uses every row.
    if tau is not None:  # and never beyond the training follow-up (G unknown there)
        tau = min(float(tau), _max_time(y_train))
        y_train, y_test = truncate(y_train, tau), truncate(y_test, tau)
        horizons = [h for h in horizons if h < tau]
    inside = y_test[y_test.dtype.names[1]] < _max_time(y_train)
    if tau is None and not inside.all():
        y_test, risk = y_test[inside], np.asarray(risk)[inside]
        surv = surv.loc[inside] if isinstance(surv, pd.DataFrame) else surv[inside]
    out["uno_c"] = uno_c(y_train, y_test, risk, tau)
    td = time_dependent_auc(y_train, y_test, risk, list(horizons))
    for t, auc in zip(td["times"], td["auc"], strict=True):
        out[f"td_auc_{t:g}"] = float(auc)
    times = np.array(list(grid))
    first_event = float(np.min(y_test[y_test.dtype.names[1]]))
    inside = (times > first_event) & (times < _max_time(y_test)) & (times < _max_time(y_train))
    times = times[inside]
    if times.size >= 2:
        matrix = np.column_stack([surv[grid[t]].to_numpy() for t in times])
        out["ibs"] = integrated_brier(y_train, y_test, matrix, times)
    for t in calibration_horizons:
        if t not in grid or t >= _max_time(y_test):
            continue
        s = surv[grid[t]].to_numpy()
        out[f"brier_{t:g}"] = brier_at(y_train, y_test, s, t)
        cal = survival_calibration_by_decile(y_test, s, t)
        out[f"calibration_slope_{t:g}"] = float(cal["slope"])
        out[f"calibration_citl_{t:g}"] = float(cal["citl"])
    return out


def truncate(y: np.ndarray, tau: float) -> np.ndarray:
    """Survival outcome administratively censored at ``tau``: events at or after it censored."""
    event_name, time_name = y.dtype.names
    out = y.copy()
    out[event_name] = y[event_name] & (y[time_name] < tau)
    out[time_name] = np.minimum(y[time_name], tau)
    return out


def _max_time(y: np.ndarray) -> float:
    return float(np.max(y[y.dtype.names[1]]))


def _oracle_pair(kind: str, y: Any, rows: np.ndarray, score: np.ndarray,
                 truth_score: np.ndarray) -> tuple[float, float]:
    """(model metric, oracle metric) on the test rows whose true risk is known."""
    known = np.isfinite(truth_score[rows])
    rows, score = rows[known], score[known]
    if kind == "binary":
        y_test = np.asarray(y)[rows]
        return roc_auc(y_test, score), oracle_auc(y_test, truth_score[rows])
    return harrell_c(y[rows], score), oracle_c_index(y[rows], truth_score[rows])


def cv_metrics(
    predictions: pd.DataFrame,
    y: Any,
    *,
    kind: str,
    horizons: Sequence[float] = (12.0, 24.0, 36.0),
    truth_score: np.ndarray | None = None,
    on_error: Callable[[str], None] | None = None,
    tau: float | None = None,
) -> dict[str, Any]:
    """Summarise the out-of-fold predictions of ONE candidate over its folds.

    Args:
        predictions: Rows of one candidate: ``repeat``, ``fold``, ``row``, ``score`` and (survival)
            ``surv_<t>`` columns; ``row`` indexes ``y``.
        y: Outcome of all rows (0/1 array or survival structured array).
        kind: ``binary`` or ``survival``.
        horizons: Horizons of the time-dependent AUC.
        truth_score: Optional true risk of every row (simulated data): the oracle's metric is
            computed on the same test rows, and the ratio model / oracle reported.
        on_error: Called with a message when a fold's metric is undefined (skipped, counted).
        tau: Truncation time of the IPCW metrics (:func:`survival_fold_metrics`), or ``None``.

    Returns:
        ``{"metrics": {name: {mean, lo, hi, sd, n}}, "oracle": {...} | None, "n_folds": k}``.
    """
    per_fold: list[dict[str, float]] = []
    oracle_vals: list[tuple[float, float]] = []
    for (repeat, _fold), test in predictions.groupby(["repeat", "fold"], sort=True):
        rows = test["row"].to_numpy()
        try:
            if kind == "binary":
                vals = binary_fold_metrics(np.asarray(y)[rows], test["score"].to_numpy())
            else:
                in_repeat = predictions.loc[predictions["repeat"] == repeat, "row"].to_numpy()
                train_rows = np.setdiff1d(in_repeat, rows)
                vals = survival_fold_metrics(
                    y[train_rows], y[rows], test["score"].to_numpy(), test, horizons, tau=tau
                )
        except ValueError as err:
            if on_error:
                on_error(f"repeat {repeat} fold {_fold}: {err}")
            continue
        per_fold.append(vals)
        if truth_score is not None:
            oracle_vals.append(_oracle_pair(kind, y, rows, test["score"].to_numpy(), truth_score))
    names = sorted({k for d in per_fold for k in d})
    metrics = {k: summarise([d.get(k, np.nan) for d in per_fold]) for k in names}
    oracle = None
    if oracle_vals:
        model_m, oracle_m = np.array(oracle_vals).T
        oracle = {
            "metric": "auc" if kind == "binary" else "harrell_c",
            "model": summarise(model_m),
            "oracle": summarise(oracle_m),
            "ratio": summarise(model_m / oracle_m),
        }
    return {"metrics": metrics, "oracle": oracle, "n_folds": len(per_fold)}

"""Discrimination and overall accuracy: C-indices, time-dependent AUC, Brier scores, ROC AUC.

One argument convention, as in ``sksurv.metrics``: ``(y_train, y_test, estimate, times)`` where
``y_*`` are structured arrays from ``sksurv.util.Surv.from_arrays(event, time)``; ``y_train``
only serves to estimate the censoring distribution (IPCW).

Horizons beyond the test follow-up cannot be evaluated; ``usable_times`` keeps the horizons
inside ``[first test event, min(last test time, last train time))``, the metrics use only
those, and they report (or log) which were used.

References:
    Harrell FE et al. (1996) Stat Med 15:361-387.
    Uno H et al. (2011) Stat Med 30:1105-1117.
    Uno H et al. (2007) JASA 102:527-537; Hung H, Chiang CT (2010) Can J Stat 38:8-26.
    Graf E et al. (1999) Stat Med 18:2529-2545.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.stats import rankdata
from sksurv.metrics import brier_score, cumulative_dynamic_auc, integrated_brier_score
from sksurv.nonparametric import CensoringDistributionEstimator

from models.evaluation._checks import (
    _check_binary,
    _check_both_classes,
    _check_score,
    _check_survival,
    _check_times,
)
from models.evaluation.concordance import weighted_concordance

__all__ = [
    "brier_at",
    "harrell_c",
    "integrated_brier",
    "roc_auc",
    "time_dependent_auc",
    "uno_c",
    "usable_times",
]

logger = logging.getLogger(__name__)


def _check_events(event: np.ndarray, name: str) -> None:
    if not event.any():
        raise ValueError(f"{name}: all {event.size} samples are censored")


def usable_times(y_train: np.ndarray, y_test: np.ndarray, times) -> np.ndarray:
    """Boolean mask of the horizons that can be evaluated on this test set.

    A horizon ``t`` is usable when ``first test event <= t < min(last test time, last train
    time)``: some test patient has had the event and the censoring distribution is positive.

    Args:
        y_train: survival array used for the censoring distribution.
        y_test: survival array of the evaluated patients.
        times: horizons, strictly increasing.

    Returns:
        Boolean mask, shape ``(n_times,)``.
    """
    _, time_train = _check_survival(y_train, "y_train")
    event_test, time_test = _check_survival(y_test, "y_test")
    _check_events(event_test, "y_test")
    times = _check_times(times)
    upper = min(time_test.max(), time_train.max())
    return (times >= time_test[event_test].min()) & (times < upper)


def _kept_times(y_train, y_test, times) -> tuple[np.ndarray, np.ndarray]:
    times = _check_times(times)
    mask = usable_times(y_train, y_test, times)
    if not mask.any():
        raise ValueError(f"no horizon in {times.tolist()} lies within the test follow-up")
    if not mask.all():
        logger.info("horizons beyond follow-up dropped: %s", times[~mask].tolist())
    return times[mask], mask


def harrell_c(y: np.ndarray, risk) -> float:
    """Harrell's concordance index (higher ``risk`` = earlier event).

    Args:
        y: survival array, shape ``(n_samples,)``.
        risk: predicted risk score, shape ``(n_samples,)``.

    Returns:
        Fraction of comparable pairs ordered correctly (ties in risk count 1/2).
    """
    event, time = _check_survival(y)
    _check_events(event, "y")
    risk = _check_score(risk, time.size)
    return weighted_concordance(event, time, risk)[0]


def uno_c(y_train: np.ndarray, y_test: np.ndarray, risk, tau: float | None = None) -> float:
    """Uno's IPCW concordance index, truncated at ``tau``.

    ``tau`` defaults to (and is clipped to) the last training time, beyond which the
    censoring distribution cannot be estimated.

    Args:
        y_train: survival array for the censoring distribution.
        y_test: survival array of the evaluated patients.
        risk: predicted risk score for ``y_test``, shape ``(n_test,)``.
        tau: truncation time, or ``None``.

    Returns:
        Uno's C.
    """
    _, time_train = _check_survival(y_train, "y_train")
    event_test, time_test = _check_survival(y_test, "y_test")
    _check_events(event_test, "y_test")
    risk = _check_score(risk, time_test.size)
    limit = float(time_train.max())
    if tau is not None and (not np.isfinite(tau) or tau <= 0):
        raise ValueError(f"tau must be finite and > 0, got {tau!r}")
    tau_used = limit if tau is None else min(float(tau), limit)
    inside = time_test < tau_used
    weight = np.zeros(time_test.size)
    if inside.any():
        censoring = CensoringDistributionEstimator().fit(y_train)
        weight[inside] = np.square(censoring.predict_ipcw(y_test[inside]))
    return weighted_concordance(event_test, time_test, risk, weight)[0]


def time_dependent_auc(y_train: np.ndarray, y_test: np.ndarray, risk, times) -> dict:
    """Cumulative/dynamic AUC at each usable horizon (``sksurv.metrics.cumulative_dynamic_auc``).

    Args:
        y_train: survival array for the censoring distribution.
        y_test: survival array of the evaluated patients.
        risk: risk for ``y_test``, shape ``(n_test,)`` or ``(n_test, n_times)`` (one column
            per horizon in ``times``, e.g. ``1 - S(t)``).
        times: horizons, strictly increasing.

    Returns:
        ``{"times": used horizons, "auc": AUC per used horizon, "mean_auc": float,
        "dropped_times": horizons beyond follow-up}``.
    """
    times_all = _check_times(times)
    kept, mask = _kept_times(y_train, y_test, times_all)
    risk = np.asarray(risk, dtype=float)
    n_test = y_test.shape[0]
    if risk.ndim == 2:
        if risk.shape != (n_test, times_all.size):
            raise ValueError(f"risk has shape {risk.shape}, expected ({n_test}, {times_all.size})")
        risk = risk[:, mask]
    else:
        risk = _check_score(risk, n_test)
    auc, mean_auc = cumulative_dynamic_auc(y_train, y_test, risk, kept)
    return {
        "times": kept,
        "auc": np.asarray(auc, dtype=float),
        "mean_auc": float(mean_auc),
        "dropped_times": times_all[~mask],
    }


def _check_surv_matrix(surv_probs, n: int, n_times: int) -> np.ndarray:
    arr = np.asarray(surv_probs, dtype=float)
    if arr.ndim == 1 and n_times == 1:
        arr = arr[:, None]
    if arr.shape != (n, n_times):
        raise ValueError(f"surv_probs has shape {arr.shape}, expected ({n}, {n_times})")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 1:
        raise ValueError("surv_probs must be finite survival probabilities in [0, 1]")
    return arr


def integrated_brier(y_train: np.ndarray, y_test: np.ndarray, surv_probs, times) -> float:
    """Integrated Brier score over the usable horizons (IPCW, Graf et al. 1999).

    Args:
        y_train: survival array for the censoring distribution.
        y_test: survival array of the evaluated patients.
        surv_probs: predicted survival ``S(t)``, shape ``(n_test, n_times)``.
        times: horizons matching the columns of ``surv_probs`` (a fine grid, >= 2 usable).

    Returns:
        Integrated Brier score (trapezoid rule over the usable horizons / their span).
    """
    times_all = _check_times(times)
    probs = _check_surv_matrix(surv_probs, y_test.shape[0], times_all.size)
    kept, mask = _kept_times(y_train, y_test, times_all)
    if kept.size < 2:
        raise ValueError(f"need >= 2 usable horizons to integrate, got {kept.tolist()}")
    return float(integrated_brier_score(y_train, y_test, probs[:, mask], kept))


def brier_at(y_train: np.ndarray, y_test: np.ndarray, surv_probs_at_t, t: float) -> float:
    """IPCW Brier score at one horizon ``t``.

    Args:
        y_train: survival array for the censoring distribution.
        y_test: survival array of the evaluated patients.
        surv_probs_at_t: predicted ``S(t)``, shape ``(n_test,)``.
        t: horizon inside the test follow-up.

    Returns:
        Brier score at ``t``.
    """
    times = _check_times([t], "t")
    probs = _check_surv_matrix(surv_probs_at_t, y_test.shape[0], 1)
    if not usable_times(y_train, y_test, times)[0]:
        raise ValueError(f"t={t} lies outside the test follow-up")
    return float(brier_score(y_train, y_test, probs, times)[1][0])


def roc_auc(y, p) -> float:
    """Area under the ROC curve of a binary outcome.

    Args:
        y: 0/1 outcome, shape ``(n_samples,)``.
        p: score or probability, shape ``(n_samples,)``.

    Returns:
        ROC AUC.
    """
    y = _check_binary(y)
    _check_both_classes(y)
    p = _check_score(p, y.size, "p")
    positive = y == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    ranks = rankdata(p)  # Mann-Whitney U with mid-ranks: ties count one half
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

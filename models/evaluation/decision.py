"""Decision-curve analysis: net benefit of treating patients whose predicted risk >= threshold.

Binary outcome (Vickers & Elkin 2006, Med Decis Making 26:565):
``NB(pt) = TP/n - FP/n * pt / (1 - pt)``; treat-all uses everybody as positive, treat-none is 0.

Survival outcome at a horizon (Vickers et al. 2008, BMC Med Inform Decis Mak 8:53): with
``f`` the fraction with risk >= pt and ``x = 1 - KM(horizon)`` among them,
``TP = x f``, ``FP = (1 - x) f``, so censoring is handled by the Kaplan-Meier estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.evaluation._checks import (
    _check_binary,
    _check_probability,
    _check_survival,
    _check_times,
    _km_survival_at,
)

__all__ = ["net_benefit"]


def _check_thresholds(thresholds) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if arr.ndim != 1 or arr.size == 0 or np.any((arr <= 0) | (arr >= 1)):
        raise ValueError(f"thresholds must lie strictly in (0, 1), got {arr.tolist()[:5]}")
    return arr


def _binary_rates(y: np.ndarray, p: np.ndarray, pts: np.ndarray) -> tuple:
    positive = p[None, :] >= pts[:, None]
    tp = (positive & (y[None, :] == 1)).mean(axis=1)
    fp = (positive & (y[None, :] == 0)).mean(axis=1)
    prevalence = y.mean()
    return tp, fp, prevalence, 1 - prevalence


def _survival_rates(event, time, p, pts, horizon) -> tuple:
    tp, fp = np.zeros(pts.size), np.zeros(pts.size)
    for i, pt in enumerate(pts):  # one KM per threshold, not per patient
        positive = p >= pt
        f = positive.mean()
        if f > 0:
            x = 1 - _km_survival_at(event[positive], time[positive], horizon)
            tp[i], fp[i] = x * f, (1 - x) * f
    risk_all = 1 - _km_survival_at(event, time, horizon)
    return tp, fp, risk_all, 1 - risk_all


def net_benefit(y_binary_or_surv, risk_prob, thresholds, horizon: float | None = None):
    """Net benefit of the model, treat-all and treat-none over threshold probabilities.

    Args:
        y_binary_or_surv: 0/1 outcome, or a survival array (then ``horizon`` is required).
        risk_prob: predicted probability of the outcome (for survival: ``1 - S(horizon)``),
            shape ``(n_samples,)``.
        thresholds: threshold probabilities in (0, 1).
        horizon: time horizon for a survival outcome.

    Returns:
        DataFrame ``threshold``, ``model``, ``treat_all``, ``treat_none``, ``tp_rate``,
        ``fp_rate`` (per patient).
    """
    pts = _check_thresholds(thresholds)
    y_arr = np.asarray(y_binary_or_surv)
    if y_arr.dtype.names is not None:
        if horizon is None:
            raise ValueError("horizon is required for a survival outcome, got None")
        event, time = _check_survival(y_arr)
        horizon = float(_check_times([horizon], "horizon")[0])
        p = _check_probability(risk_prob, time.size, "risk_prob")
        tp, fp, event_rate, non_event_rate = _survival_rates(event, time, p, pts, horizon)
    else:
        if horizon is not None:
            raise ValueError(f"horizon={horizon!r} given for a binary outcome")
        y = _check_binary(y_arr)
        p = _check_probability(risk_prob, y.size, "risk_prob")
        tp, fp, event_rate, non_event_rate = _binary_rates(y, p, pts)
    odds = pts / (1 - pts)
    return pd.DataFrame(
        {
            "threshold": pts,
            "model": tp - fp * odds,
            "treat_all": event_rate - non_event_rate * odds,
            "treat_none": 0.0,
            "tp_rate": tp,
            "fp_rate": fp,
        }
    )

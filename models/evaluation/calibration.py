"""Calibration of predicted probabilities (response) and of predicted survival at a horizon.

Response: logistic recalibration (Cox 1958; Steyerberg 2019, ch. 15) gives the calibration
slope (coefficient of logit p) and calibration-in-the-large (intercept with logit p as an
offset); the integrated calibration index (ICI, Austin & Steyerberg 2019, Stat Med 38:4051)
is the mean absolute gap between p and a lowess-smoothed observed rate.

statsmodels is not installed, so ``_lowess`` implements the smoother with numpy: local linear
regression, tricube weights on the ``span`` fraction of nearest points, no robustness
iterations (as R ``loess(family="gaussian")``, which Austin & Steyerberg use; robustness
iterations would down-weight the 0/1 outcomes they are meant to model). It is evaluated on
<= 200 quantiles of p and linearly interpolated in between.

Survival: patients are grouped by predicted risk ``1 - S(t)``; observed risk per group is
``1 - KM(t)``. Summary (documented choice): ``slope`` is the Cox coefficient of the
complementary log-log of predicted risk, ``log(-log S_i(t))``, with follow-up administratively
censored at ``t`` (1 = ideal; < 1 = over-confident; Crowson et al. 2016, SMMR 25:1692;
Austin et al. 2020, Stat Med 39:2714); ``citl`` is observed KM risk at ``t`` minus mean
predicted risk (0 = ideal) and ``oe_ratio`` their ratio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sksurv.compare import compare_survival
from sksurv.nonparametric import kaplan_meier_estimator

from models.evaluation._checks import (
    _check_binary,
    _check_both_classes,
    _check_positive_int,
    _check_probability,
    _check_score,
    _check_survival,
    _check_times,
)

__all__ = [
    "brier",
    "calibration_curve",
    "calibration_intercept_slope",
    "integrated_calibration_index",
    "km_by_risk_group",
    "survival_calibration_by_decile",
]

_EPS = 1e-10


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _fit_logistic(design: np.ndarray, y: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Maximum-likelihood logistic coefficients by Newton-Raphson (IRLS)."""
    coef = np.zeros(design.shape[1])
    for _ in range(50):
        mu = 1.0 / (1.0 + np.exp(-(design @ coef + offset)))
        weights = np.clip(mu * (1 - mu), 1e-12, None)
        step = np.linalg.solve(design.T @ (design * weights[:, None]), design.T @ (y - mu))
        coef = coef + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return coef


def calibration_intercept_slope(y, p) -> dict[str, float]:
    """Calibration slope and calibration-in-the-large of predicted probabilities.

    Args:
        y: 0/1 outcome, shape ``(n_samples,)``.
        p: predicted probability, shape ``(n_samples,)``.

    Returns:
        ``{"intercept": CITL (0 ideal), "slope": slope (1 ideal)}``.
    """
    y = _check_binary(y)
    _check_both_classes(y)
    lp = _logit(_check_probability(p, y.size))
    ones = np.ones((y.size, 1))
    slope = _fit_logistic(np.column_stack([ones, lp]), y, np.zeros_like(lp))[1]
    intercept = _fit_logistic(ones, y, lp)[0]
    return {"intercept": float(intercept), "slope": float(slope)}


def _lowess(x: np.ndarray, y: np.ndarray, x_eval: np.ndarray, span: float) -> np.ndarray:
    """Local linear regression with tricube weights on the ``span`` nearest fraction."""
    k = max(int(np.ceil(span * x.size)), 2)
    fitted = np.empty(x_eval.size)
    for start in range(0, x_eval.size, 64):  # chunks of evaluation points bound the memory
        g = x_eval[start : start + 64, None]
        dist = np.abs(x[None, :] - g)
        h = np.partition(dist, k - 1, axis=1)[:, k - 1 : k]
        h = np.where(h > 0, h * 1.000001, 1.0)
        w = np.clip(1 - (dist / h) ** 3, 0, None) ** 3
        s0, s1, s2 = w.sum(1), w @ x, w @ (x * x)
        t0, t1 = w @ y, w @ (x * y)
        denom = s0 * s2 - s1**2
        flat = np.abs(denom) < 1e-12 * np.maximum(s0 * s2, 1e-300)
        beta = np.where(flat, 0.0, (s0 * t1 - s1 * t0) / np.where(flat, 1.0, denom))
        fitted[start : start + 64] = (t0 - beta * s1) / s0 + beta * g[:, 0]
    return fitted


def calibration_curve(y, p, span: float = 0.75, n_points: int = 200) -> pd.DataFrame:
    """Lowess-smoothed observed rate against predicted probability.

    Args:
        y: 0/1 outcome, shape ``(n_samples,)``.
        p: predicted probability, shape ``(n_samples,)``.
        span: fraction of points in each local fit (R loess default 0.75).
        n_points: maximum number of evaluation points (quantiles of p).

    Returns:
        DataFrame with columns ``predicted``, ``observed`` (sorted by predicted).
    """
    y = _check_binary(y)
    p = _check_probability(p, y.size)
    if not 0 < span <= 1:
        raise ValueError(f"span must lie in (0, 1], got {span!r}")
    grid = np.unique(np.quantile(p, np.linspace(0, 1, _check_positive_int(n_points, "n_points"))))
    return pd.DataFrame({"predicted": grid, "observed": _lowess(p, y, grid, span)})


def integrated_calibration_index(y, p, span: float = 0.75) -> float:
    """Integrated calibration index: mean |p - lowess-smoothed observed rate at p|.

    Args:
        y: 0/1 outcome, shape ``(n_samples,)``.
        p: predicted probability, shape ``(n_samples,)``.
        span: lowess span.

    Returns:
        ICI (0 = perfect calibration).
    """
    curve = calibration_curve(y, p, span=span)
    p = np.asarray(p, dtype=float).ravel()
    smoothed = np.interp(p, curve["predicted"].to_numpy(), curve["observed"].to_numpy())
    return float(np.mean(np.abs(p - smoothed)))


def brier(y, p) -> float:
    """Brier score of predicted probabilities: mean ``(p - y)**2``.

    Args:
        y: 0/1 outcome, shape ``(n_samples,)``.
        p: predicted probability, shape ``(n_samples,)``.

    Returns:
        Brier score.
    """
    y = _check_binary(y)
    return float(np.mean((_check_probability(p, y.size) - y) ** 2))


def _risk_groups(score: np.ndarray, n_groups: int) -> np.ndarray:
    """Equal-size groups 0..n_groups-1 by ascending score (ties broken by order)."""
    if n_groups > score.size:
        raise ValueError(f"n_groups={n_groups} exceeds the number of samples ({score.size})")
    ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable")
    return ranks * n_groups // score.size


def _km_at(event: np.ndarray, time: np.ndarray, t: float) -> tuple[float, float, float]:
    """KM survival at ``t`` with a log-log 95% interval."""
    km_time, km_surv, ci = kaplan_meier_estimator(event, time, conf_type="log-log")
    i = np.searchsorted(km_time, t, side="right") - 1
    if i < 0:
        return 1.0, 1.0, 1.0
    return float(km_surv[i]), float(ci[0][i]), float(ci[1][i])


def survival_calibration_by_decile(y: np.ndarray, surv_at_t, t: float, n_groups: int = 10) -> dict:
    """Predicted vs Kaplan-Meier observed risk at horizon ``t`` per predicted-risk group.

    Args:
        y: survival array, shape ``(n_samples,)``.
        surv_at_t: predicted ``S(t)``, shape ``(n_samples,)``.
        t: horizon (same unit as ``y`` times).
        n_groups: number of equal-size risk groups (deciles by default).

    Returns:
        ``{"table": DataFrame(group, n, events, predicted, observed, observed_lo,
        observed_hi), "slope", "citl", "oe_ratio", "ici_groups", "t"}``; ``ici_groups`` is the
        size-weighted mean |predicted - observed| over groups.
    """
    event, time = _check_survival(y)
    t = float(_check_times([t], "t")[0])
    surv = _check_probability(surv_at_t, time.size, "surv_at_t")
    n_groups = _check_positive_int(n_groups, "n_groups")
    if not event.any() or t < time[event].min():
        raise ValueError(f"t={t} precedes the first event; nothing to calibrate")
    risk = 1.0 - surv
    groups = _risk_groups(risk, n_groups)
    rows = []
    for g in range(n_groups):
        sel = groups == g
        s, lo, hi = _km_at(event[sel], time[sel], t)
        rows.append(
            {
                "group": g + 1,
                "n": int(sel.sum()),
                "events": int((event[sel] & (time[sel] <= t)).sum()),
                "predicted": float(risk[sel].mean()),
                "observed": 1.0 - s,
                "observed_lo": 1.0 - hi,
                "observed_hi": 1.0 - lo,
            }
        )
    table = pd.DataFrame(rows)
    observed = 1.0 - _km_at(event, time, t)[0]
    expected = float(risk.mean())
    gaps = np.abs(table["predicted"] - table["observed"])
    return {
        "table": table,
        "slope": _cox_slope(event, time, surv, t),
        "citl": observed - expected,
        "oe_ratio": observed / expected if expected > 0 else float("nan"),
        "ici_groups": float(np.average(gaps, weights=table["n"])),
        "t": t,
    }


def _fit_cox_1d(x: np.ndarray, event: np.ndarray, time: np.ndarray,
                weights: np.ndarray | None = None) -> float:
    """Cox coefficient of one covariate (Breslow ties) by Newton-Raphson, O(n log n).

    ``weights``: optional case weights (e.g. inverse propensity) in the weighted partial
    likelihood; None = 1 for everyone.
    """
    order = np.argsort(time, kind="stable")
    x, event, time = x[order], event[order], time[order]
    case = np.ones(x.size) if weights is None else np.asarray(weights, dtype=float)[order]
    first = np.searchsorted(time, time, side="left")  # risk set = all with time >= t_i
    coef = 0.0
    for _ in range(50):
        eta = coef * x
        w = case * np.exp(eta - eta.max())
        s0, s1, s2 = (np.cumsum(v[::-1])[::-1][first] for v in (w, w * x, w * x * x))
        mean = s1[event] / s0[event]
        score = np.sum(case[event] * (x[event] - mean))
        info = np.sum(case[event] * (s2[event] / s0[event] - mean**2))
        if info <= 0:
            return float("nan")
        step = score / info
        coef += step
        if abs(step) < 1e-10:
            break
    return float(coef)


def _cox_slope(event: np.ndarray, time: np.ndarray, surv: np.ndarray, t: float) -> float:
    """Cox coefficient of log(-log S(t)) with follow-up censored at ``t``."""
    cll = np.log(-np.log(np.clip(surv, _EPS, 1 - _EPS)))
    event_t = event & (time <= t)
    if not event_t.any() or np.ptp(cll) == 0:
        return float("nan")
    return _fit_cox_1d(cll, event_t, np.minimum(time, t))


def km_by_risk_group(y: np.ndarray, risk, n_groups: int = 3) -> pd.DataFrame:
    """Kaplan-Meier curves per equal-size group of predicted risk (tertiles by default).

    Args:
        y: survival array, shape ``(n_samples,)``.
        risk: predicted risk score (higher = worse), shape ``(n_samples,)``.
        n_groups: number of groups.

    Returns:
        Tidy DataFrame ``group`` (1 = lowest risk), ``label``, ``time``, ``survival``, ``lo``,
        ``hi``, ``n`` (group size), with a ``time = 0`` row per group. ``attrs["logrank_p"]``
        holds the log-rank p-value across groups.
    """
    event, time = _check_survival(y)
    risk = _check_score(risk, time.size)
    n_groups = _check_positive_int(n_groups, "n_groups")
    groups = _risk_groups(risk, n_groups)
    labels = ["low", "intermediate", "high"] if n_groups == 3 else None
    parts = []
    for g in range(n_groups):
        sel = groups == g
        km_time, km_surv, ci = kaplan_meier_estimator(event[sel], time[sel], conf_type="log-log")
        parts.append(
            pd.DataFrame(
                {
                    "group": g + 1,
                    "label": labels[g] if labels else f"Q{g + 1}",
                    "time": np.r_[0.0, km_time],
                    "survival": np.r_[1.0, km_surv],
                    "lo": np.r_[1.0, ci[0]],
                    "hi": np.r_[1.0, ci[1]],
                    "n": int(sel.sum()),
                }
            )
        )
    table = pd.concat(parts, ignore_index=True)
    if n_groups > 1 and event.any():
        table.attrs["logrank_p"] = float(compare_survival(y, groups)[1])
    return table

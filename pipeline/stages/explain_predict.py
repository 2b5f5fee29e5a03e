"""Per-therapy predictions of one patient for the report: response, PFS and OS with intervals.

Every candidate therapy is scored with :func:`models.counterfactual.predict_what_if` (only the
therapy changed; eligibility rules and the positivity note come from there).

Intervals (documented choice, shown in the report): the validated calibration slope says how far
a model's out-of-sample risks should be stretched or shrunk (1 = ideal). The interval is the range
of the patient's prediction when recalibrated with the slope set to the lower and upper ends of its
validated 95 % interval (``metrics.json``), pivoting at the cohort average on the logit scale
(response) or the complementary log-log scale ``log(-log S(t))`` at each month (survival, the scale
the evaluation stage fits the slope on). It shows how much the estimate depends on the model's
validated calibration; it is not a full confidence interval (sampling error of the baseline and of
the fitted trees or coefficients is not included). Without a validated slope no interval is shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from clinical.therapies import therapy_label
from models.counterfactual import PositivityModel, fit_positivity, predict_what_if
from pipeline.report import Curve, TherapyPrediction
from pipeline.stages.explain_shap import EndpointModel

INTERVAL_TEXT = (
    "Intervals: range of the prediction when the model is recalibrated with its validated "
    "calibration slope set to the ends of its 95 % interval (cross-validation, metrics.json). "
    "They show how much the number depends on the model's validated calibration; they are not "
    "full confidence intervals (sampling error of the baseline and of the fitted model is not "
    "included)."
)
_EPS = 1e-12
_SLOPE_KEYS = {"binary": ("calibration_slope",),
               "survival": ("calibration_slope_12", "calibration_slope_24",
                            "calibration_slope_36")}


@dataclass(frozen=True)
class Reference:
    """Cohort-level numbers fixed once per set of models.

    Attributes:
        grid: Monthly survival grid (0..60).
        pivots: Endpoint -> pivot of the recalibration: mean logit (response) or mean
            ``log(-log S(t))`` per grid month (survival), over the reference rows.
        slopes: Endpoint -> (lo, hi) of the validated calibration slope, or None.
        positivity: Propensity model of therapy given covariates, or None.
        patients: Pseudonyms of the reference (training) rows: a report of one of them is an
            in-sample prediction.
    """

    grid: tuple[float, ...]
    pivots: dict[str, np.ndarray]
    slopes: dict[str, tuple[float, float] | None]
    positivity: PositivityModel | None
    patients: frozenset[str] = frozenset()


def slope_interval(metrics: Mapping[str, Any], endpoint: str, kind: str
                   ) -> tuple[float, float] | None:
    """(lo, hi) of the validated calibration slope of an endpoint, or None if not available."""
    block = metrics.get(endpoint, {}).get("metrics", {})
    for key in _SLOPE_KEYS[kind]:
        m = block.get(key) or {}
        lo, hi = m.get("lo"), m.get("hi")
        if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
            return float(lo), float(hi)
    return None


def _cll(surv: np.ndarray) -> np.ndarray:
    return np.log(-np.log(np.clip(surv, _EPS, 1 - _EPS)))


def fit_reference(models: Mapping[str, EndpointModel], reference: pd.DataFrame,
                  metrics: Mapping[str, Any], months: int = 60, *,
                  positivity: PositivityModel | None = None) -> Reference:
    """Pivots, slopes and the positivity model from the reference (development) rows.

    Args:
        models: Endpoint -> model.
        reference: The rows the models were developed on.
        metrics: Content of ``metrics.json`` (calibration-slope intervals).
        months: Last month of the survival grid.
        positivity: A positivity model already fitted on ``reference`` (else fitted here).
    """
    grid = tuple(float(m) for m in range(months + 1))
    pivots, slopes = {}, {}
    for name, em in models.items():  # loop over endpoints
        X = em.design.transform(reference)
        if em.kind == "binary":
            pivots[name] = np.asarray(np.mean(logit(np.clip(em.model.predict_proba(X), _EPS,
                                                            1 - _EPS))))
        else:
            pivots[name] = _cll(em.model.predict_survival(X, grid)).mean(axis=0)
        slopes[name] = slope_interval(metrics, name, em.kind)
    if positivity is None:
        try:
            positivity = fit_positivity(reference, next(iter(models.values())).design)
        except ValueError:  # a single therapy in the cohort: no rarity note
            positivity = None
    ids = reference["patient_id"].astype(str) if "patient_id" in reference else ()
    return Reference(grid, pivots, slopes, positivity, frozenset(ids))


def recalibrate(values: np.ndarray, pivot: np.ndarray, slopes: tuple[float, float] | None,
                kind: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Lower and upper envelope of ``values`` recalibrated with slopes (lo, 1, hi).

    Args:
        values: Probabilities: P(response) (n,) or S(t) (n, len(grid)).
        pivot: Pivot on the transformed scale (scalar, or per grid time).
        slopes: Validated slope interval, or None (then no interval).
        kind: ``binary`` (logit scale) or ``survival`` (cloglog scale).

    Returns:
        ``(lower, upper)`` arrays shaped like ``values``, or None.
    """
    if slopes is None:
        return None
    if kind == "binary":
        z = logit(np.clip(values, _EPS, 1 - _EPS))
        candidates = [expit(pivot + b * (z - pivot)) for b in (slopes[0], 1.0, slopes[1])]
        candidates[1] = values
    else:
        z = _cll(values)
        candidates = [np.exp(-np.exp(pivot + b * (z - pivot))) for b in (slopes[0], slopes[1])]
        candidates = [np.where(values >= 1.0, 1.0, c) for c in candidates] + [values]
    stack = np.stack(candidates)
    return stack.min(axis=0), stack.max(axis=0)


def _under_slopes(values: np.ndarray, pivot: np.ndarray, slopes: tuple[float, float],
                  kind: str) -> np.ndarray:
    """``values`` recalibrated with the slope at its lower end, 1 and its upper end (3 rows)."""
    if kind == "binary":
        z = logit(np.clip(values, _EPS, 1 - _EPS))
        return np.stack([expit(pivot + b * (z - pivot)) for b in (slopes[0], 1.0, slopes[1])])
    z = _cll(values)
    rows = [np.exp(-np.exp(pivot + b * (z - pivot))) for b in (slopes[0], 1.0, slopes[1])]
    return np.stack([np.where(values >= 1.0, 1.0, r) for r in rows])


def difference_range(values: np.ndarray, index_values: np.ndarray, pivot: np.ndarray,
                     slopes: tuple[float, float] | None, kind: str
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """Recalibration range of a difference to the index therapy (this therapy minus the index).

    Both predictions are recalibrated with the same slope (lower end, 1, upper end of its
    validated interval), the difference taken per slope; the range is its min and max. Like the
    estimates' ranges it is not a confidence interval.
    """
    if slopes is None:
        return None
    diff = (_under_slopes(values, pivot, slopes, kind)
            - _under_slopes(index_values, pivot, slopes, kind))
    return diff.min(axis=0), diff.max(axis=0)


def _difference_ranges(models: Mapping[str, EndpointModel], ref: Reference,
                       raw: Mapping[str, np.ndarray], index: Mapping[str, np.ndarray],
                       horizons: Sequence[int]) -> dict[str, tuple[float, float]]:
    """Column key (``response``, ``pfs_12``, ...) -> recalibration range of the difference."""
    out = {}
    for name, values in raw.items():  # loop over endpoints
        em = models[name]
        band = difference_range(values, index[name], ref.pivots[name], ref.slopes[name], em.kind)
        if band is None:
            continue
        if em.kind == "binary":
            out["response"] = (float(band[0][0]), float(band[1][0]))
            continue
        for h in horizons:  # loop over 2 horizons
            i = ref.grid.index(float(h))
            out[f"{name}_{int(h)}"] = (float(band[0][i]), float(band[1][i]))
    return out


def _curve(surv: np.ndarray, band: tuple[np.ndarray, np.ndarray] | None, grid) -> Curve:
    lo = band[0].tolist() if band is not None else None
    hi = band[1].tolist() if band is not None else None
    return Curve(times=list(grid), surv=surv.tolist(), lo=lo, hi=hi)


def _at(curve: Curve, horizons: Sequence[int]) -> dict[int, tuple[float, float, float]]:
    out = {}
    for h in horizons:  # loop over 2 horizons
        i = curve.times.index(float(h))
        lo = curve.lo[i] if curve.lo is not None else None
        hi = curve.hi[i] if curve.hi is not None else None
        out[int(h)] = (curve.surv[i], lo, hi)
    return out


def predict_therapies(models: Mapping[str, EndpointModel], ref: Reference, row: pd.DataFrame,
                      index_therapy: str, horizons: Sequence[int] = (12, 24)
                      ) -> list[TherapyPrediction]:
    """Predictions for one patient row under every therapy the design knows (index first).

    Args:
        models: Endpoint -> model (``response``, ``pfs``, ``os``; any subset).
        ref: Reference numbers from :func:`fit_reference`.
        row: One cohort row (DataFrame of length 1).
        index_therapy: The therapy actually started at the index line.
        horizons: Months reported with estimates (must be on the monthly grid).

    Returns:
        One :class:`TherapyPrediction` per therapy; ineligible ones carry only the reason.
    """
    first = next(iter(models.values()))
    levels = list(first.design.levels_[first.design.treatment_])
    therapies = [index_therapy] + [t for t in levels if t != index_therapy]
    tables = {name: predict_what_if(em.model, em.design, row, therapies,
                                    positivity=ref.positivity, horizons=ref.grid)
              for name, em in models.items()}
    base = next(iter(tables.values()))
    out, raws = [], []
    for i, therapy in enumerate(therapies):  # loop over <= 5 therapies
        meta = base.iloc[i]
        if not bool(meta["eligible"]):
            out.append(TherapyPrediction(therapy, therapy_label(therapy), eligible=False,
                                         ineligible_reason=str(meta["reason"])))
            raws.append(None)
            continue
        fields, raw = _therapy_fields(models, ref, tables, i, horizons)
        note = str(meta["positivity_note"]) or None
        out.append(TherapyPrediction(therapy, therapy_label(therapy), eligible=True,
                                     positivity_note=note, **fields))
        raws.append(raw)
    if raws[0] is None:
        return out
    return [replace(p, diff_ranges=_difference_ranges(models, ref, raw, raws[0], horizons))
            if raw is not None and i > 0 else p for i, (p, raw) in enumerate(zip(out, raws,
                                                                                  strict=True))]


def _therapy_fields(models: Mapping[str, EndpointModel], ref: Reference,
                    tables: Mapping[str, pd.DataFrame], i: int, horizons: Sequence[int]
                    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Prediction fields of the ``i``-th therapy, and its raw values per endpoint."""
    fields: dict[str, Any] = {}
    raw: dict[str, np.ndarray] = {}
    for name, table in tables.items():  # loop over endpoints
        em, r = models[name], table.iloc[i]
        if em.kind == "binary":
            p = float(r["response_prob"])
            band = recalibrate(np.array([p]), ref.pivots[name], ref.slopes[name], "binary")
            fields["p_response"] = p
            fields["p_response_ci"] = (float(band[0][0]), float(band[1][0])) if band else None
            raw[name] = np.array([p])
        else:
            surv = r[[f"survival_{t:g}" for t in ref.grid]].to_numpy(dtype=np.float64)
            band = recalibrate(surv, ref.pivots[name], ref.slopes[name], "survival")
            curve = _curve(surv, band, ref.grid)
            fields[name] = curve
            fields[f"{name}_at"] = _at(curve, horizons)
            raw[name] = surv
    return fields, raw

"""Clinical-validity gates for promoting a challenger model over the current champion.

Pure functions on arrays: both models' predictions on the same held-out patients go in, a list
of ``GateResult`` comes out. Metrics come from ``models.evaluation``:

- discrimination non-inferiority: paired bootstrap of the C-index (survival) or AUC (response)
  difference challenger - champion; the lower bound of its interval must exceed ``min_delta``;
- calibration: slope within ``slope_range`` and calibration-in-the-large within ``±citl_max``,
  on the response probability or on survival at ``horizon`` (Kaplan-Meier observed risk);
- net benefit: the challenger's net benefit >= treat-all at every threshold of the range;
- subgroups: no level of primary site, grade, therapy, centre or sex loses more than
  ``max_subgroup_loss`` of C-index/AUC against the champion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sksurv.util import Surv

from models.evaluation.bootstrap import bootstrap_ci, paired_bootstrap_difference
from models.evaluation.calibration import (
    calibration_intercept_slope,
    survival_calibration_by_decile,
)
from models.evaluation.decision import net_benefit
from models.evaluation.discrimination import harrell_c, roc_auc
from models.evaluation.subgroups import subgroup_metrics

__all__ = [
    "GateConfig",
    "GateResult",
    "Predictions",
    "check_calibration",
    "check_discrimination",
    "check_net_benefit",
    "check_subgroups",
    "run_gates",
]

KINDS = ("response", "survival")
DEFAULT_SUBGROUPS = ("primary_site", "who_grade", "therapy", "centre_id", "sex")


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict with the figures it was decided on."""

    name: str
    passed: bool
    figures: dict[str, Any]
    threshold: str


@dataclass(frozen=True)
class Predictions:
    """One model's predictions on the held-out patients.

    Attributes:
        score: discrimination score: response probability, or risk score (higher = worse).
        prob: response probability, or predicted survival ``S(horizon)``.
    """

    score: np.ndarray
    prob: np.ndarray


@dataclass(frozen=True)
class GateConfig:
    """Gate thresholds (from ``params.yaml`` ``promote`` section)."""

    min_delta: float = -0.01
    n_boot: int = 500
    level: float = 0.95
    slope_range: tuple[float, float] = (0.8, 1.25)
    citl_max: float = 0.1
    horizon: float = 12.0
    nb_thresholds: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
    nb_tolerance: float = 0.005
    max_subgroup_loss: float = 0.05
    min_subgroup_size: int = 30
    subgroup_columns: tuple[str, ...] = field(default=DEFAULT_SUBGROUPS)
    #: With no champion yet: the lower bound of the challenger's own C-index/AUC interval and its
    #: worst judged subgroup must reach these absolute floors (a first champion is not free).
    first_champion_min: float = 0.6
    first_champion_subgroup_min: float = 0.55


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def _metric_name(kind: str) -> str:
    return "auc" if kind == "response" else "c_index"


def _discrimination(kind: str):
    return roc_auc if kind == "response" else harrell_c


def check_discrimination(
    kind: str,
    y,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    min_delta: float = -0.01,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int | np.random.Generator = 0,
    floor: float = 0.6,
) -> GateResult:
    """Non-inferiority of discrimination by a paired bootstrap of the difference.

    With no champion the challenger must stand on its own: the lower bound of the bootstrap
    interval of its C-index/AUC must exceed the absolute ``floor``.

    Args:
        kind: ``response`` (AUC) or ``survival`` (Harrell's C).
        y: 0/1 outcome or survival structured array, shape ``(n,)``.
        challenger: challenger score, shape ``(n,)``.
        champion: champion score on the same patients, or None (no champion yet).
        min_delta: the interval's lower bound must exceed this.
        n_boot: bootstrap resamples.
        level: interval coverage.
        seed: int or ``numpy.random.Generator``.
    """
    _check_kind(kind)
    metric, name = _discrimination(kind), _metric_name(kind)
    rule = f"lower {level:.0%} bound of delta {name} > {min_delta:g}"
    if champion is None:
        own = bootstrap_ci(metric, y, np.asarray(challenger), n_boot=n_boot, seed=seed,
                           level=level)
        figures = {f"challenger_{name}": own["estimate"], f"challenger_{name}_lo": own["lo"],
                   f"challenger_{name}_hi": own["hi"], "floor": float(floor),
                   "note": "no champion: absolute floor of a first champion"}
        return GateResult("discrimination", bool(own["lo"] > floor), figures,
                          f"no champion: lower {level:.0%} bound of {name} > {floor:g}")
    diff = paired_bootstrap_difference(
        metric,
        y,
        np.asarray(challenger),
        np.asarray(champion),
        n_boot=n_boot,
        seed=seed,
        level=level,
    )
    figures = {
        f"challenger_{name}": float(metric(y, challenger)),
        f"champion_{name}": float(metric(y, champion)),
        "delta": diff["estimate"],
        "delta_lo": diff["lo"],
        "delta_hi": diff["hi"],
        "n_boot": int(n_boot),
    }
    return GateResult("discrimination", bool(diff["lo"] > min_delta), figures, rule)


def check_calibration(
    kind: str,
    y,
    prob: np.ndarray,
    slope_range: Sequence[float] = (0.8, 1.25),
    citl_max: float = 0.1,
    horizon: float = 12.0,
) -> GateResult:
    """Calibration slope and calibration-in-the-large of the challenger.

    CITL is on the probability scale for both kinds, so one ``citl_max`` fits both.
    Response: slope from logistic recalibration of ``prob``; CITL = observed rate minus mean
    predicted probability (the logit-scale intercept is reported as ``citl_logit``).
    Survival: ``prob`` is ``S(horizon)``; slope is the Cox coefficient of log(-log S) with
    follow-up censored at the horizon, CITL is Kaplan-Meier observed minus mean predicted risk.
    """
    _check_kind(kind)
    lo, hi = float(slope_range[0]), float(slope_range[1])
    figures: dict[str, Any] = {}
    if kind == "response":
        cal = calibration_intercept_slope(y, prob)
        slope = cal["slope"]
        citl = float(np.mean(np.asarray(y, float)) - np.mean(np.asarray(prob, float)))
        figures["citl_logit"] = float(cal["intercept"])
        where = "response probability"
    else:
        cal = survival_calibration_by_decile(y, prob, horizon)
        slope, citl = cal["slope"], cal["citl"]
        figures["oe_ratio"] = float(cal["oe_ratio"])
        where = f"{horizon:g}-month survival"
    ok = bool(
        np.isfinite(slope) and lo <= slope <= hi and np.isfinite(citl) and abs(citl) <= citl_max
    )
    rule = f"slope in [{lo:g}, {hi:g}] and |CITL| <= {citl_max:g} ({where})"
    figures = {"slope": float(slope), "citl": float(citl), **figures}
    return GateResult("calibration", ok, figures, rule)


def check_net_benefit(
    kind: str,
    y,
    prob: np.ndarray,
    thresholds: Sequence[float],
    horizon: float = 12.0,
    tolerance: float = 0.005,
) -> GateResult:
    """Net benefit of the challenger at least that of treat-all at every threshold.

    ``prob`` is the response probability, or ``S(horizon)`` (event risk = 1 - S).
    ``tolerance`` (net true positives per patient) absorbs sampling noise where treat-all and
    the model treat nearly everybody (low thresholds): even the true risk model falls
    0.001-0.003 below treat-all there on 600 simulated patients.
    """
    _check_kind(kind)
    if kind == "response":
        table = net_benefit(y, prob, thresholds)
    else:
        table = net_benefit(y, 1.0 - np.asarray(prob, float), thresholds, horizon=horizon)
    gap_all = table["model"] - table["treat_all"]
    gap_none = table["model"] - table["treat_none"]
    worst = int(np.argmin(gap_all.to_numpy()))
    figures = {
        "min_gap_vs_treat_all": float(gap_all.min()),
        "at_threshold": float(table["threshold"].iloc[worst]),
        "min_gap_vs_treat_none": float(gap_none.min()),
        "thresholds": f"{min(thresholds):g}-{max(thresholds):g} ({len(thresholds)})",
    }
    rule = f"net benefit >= treat-all - {tolerance:g} at every threshold"
    return GateResult("net_benefit", bool(gap_all.min() >= -tolerance - 1e-12), figures, rule)


def _subgroup_frame(
    kind: str, y, groups: pd.DataFrame, a: np.ndarray, b: np.ndarray
) -> pd.DataFrame:
    frame = groups.reset_index(drop=True).copy()
    y_arr = np.asarray(y)
    if kind == "survival":
        names = y_arr.dtype.names
        frame["event"] = y_arr[names[0]].astype(bool)
        frame["time"] = y_arr[names[1]].astype(float)
    else:
        frame["event"] = y_arr.astype(float)
    return frame.assign(score_a=np.asarray(a, float), score_b=np.asarray(b, float))


def _subgroup_metric_fn(kind: str, column: str):
    if kind == "survival":
        return lambda sub: harrell_c(
            Surv.from_arrays(sub["event"].to_numpy(bool), sub["time"].to_numpy(float)),
            sub[column].to_numpy(),
        )
    return lambda sub: roc_auc(sub["event"].to_numpy(), sub[column].to_numpy())


def _subgroup_floor(kind: str, y, groups: pd.DataFrame, challenger: np.ndarray,
                    cols: Sequence[str], min_size: int, floor: float) -> GateResult:
    """First champion: every judged subgroup's C-index/AUC at least ``floor``."""
    name = _metric_name(kind)
    frame = _subgroup_frame(kind, y, groups, challenger, challenger)
    kw = {"min_size": min_size, "n_boot": 0, "event_column": "event"}
    own = subgroup_metrics(frame, list(cols), _subgroup_metric_fn(kind, "score_a"), **kw)
    judged = own["metric"].iloc[1:].dropna()
    figures: dict[str, Any] = {"n_levels_judged": int(judged.size), "floor": float(floor),
                               "note": "no champion: absolute floor of a first champion"}
    if judged.size:
        worst = judged.idxmin()
        figures.update({"min_metric": float(judged.min()),
                        "worst_subgroup": f"{own['group'][worst]}={own['level'][worst]}",
                        "worst_n": int(own["n"][worst])})
    passed = bool(judged.size == 0 or judged.min() >= floor)
    return GateResult("subgroups", passed, figures,
                      f"no champion: every subgroup's {name} >= {floor:g}")


def check_subgroups(
    kind: str,
    y,
    groups: pd.DataFrame,
    challenger: np.ndarray,
    champion: np.ndarray | None,
    max_loss: float = 0.05,
    min_size: int = 30,
    columns: Sequence[str] = DEFAULT_SUBGROUPS,
    floor: float = 0.55,
) -> GateResult:
    """No subgroup loses more than ``max_loss`` of C-index/AUC against the champion.

    Levels with fewer than ``min_size`` patients (or where the metric is undefined) are not
    judged and are counted in ``n_levels_not_judged``. With no champion, the challenger's worst
    judged subgroup must reach the absolute ``floor`` instead.
    """
    _check_kind(kind)
    name = _metric_name(kind)
    cols = [c for c in columns if c in groups.columns]
    if champion is None:
        return _subgroup_floor(kind, y, groups[cols], challenger, cols, min_size, floor)
    rule = f"no subgroup loses more than {max_loss:g} {name}"
    frame = _subgroup_frame(kind, y, groups[cols], challenger, champion)
    kw = {"min_size": min_size, "n_boot": 0, "event_column": "event"}
    a = subgroup_metrics(frame, cols, _subgroup_metric_fn(kind, "score_a"), **kw)
    b = subgroup_metrics(frame, cols, _subgroup_metric_fn(kind, "score_b"), **kw)
    loss = (b["metric"] - a["metric"]).iloc[1:]
    judged = loss.dropna()
    figures: dict[str, Any] = {
        "n_levels_judged": int(judged.size),
        "n_levels_not_judged": int(loss.size - judged.size),
        "columns": ", ".join(cols) or "none",
    }
    if judged.size:
        worst = judged.idxmax()
        figures.update(
            {
                "max_loss": float(judged.max()),
                "worst_subgroup": f"{a['group'][worst]}={a['level'][worst]}",
                "worst_n": int(a["n"][worst]),
            }
        )
    passed = bool(judged.size == 0 or judged.max() <= max_loss)
    return GateResult("subgroups", passed, figures, rule)


def run_gates(
    kind: str,
    y,
    challenger: Predictions,
    champion: Predictions | None,
    groups: pd.DataFrame | None = None,
    config: GateConfig | None = None,
    seed: int | np.random.Generator = 0,
) -> list[GateResult]:
    """All four gates, in order: discrimination, calibration, net benefit, subgroups.

    Args:
        kind: ``response`` or ``survival``.
        y: held-out outcome (0/1 vector or survival structured array).
        challenger: challenger predictions on the held-out patients.
        champion: champion predictions on the same patients, or None.
        groups: held-out subgroup columns (one row per patient), or None.
        config: thresholds; defaults when None.
        seed: bootstrap seed or ``numpy.random.Generator``.
    """
    cfg = config or GateConfig()
    champ_score = None if champion is None else champion.score
    results = [
        check_discrimination(
            kind, y, challenger.score, champ_score, cfg.min_delta, cfg.n_boot, cfg.level, seed,
            cfg.first_champion_min,
        ),
        check_calibration(kind, y, challenger.prob, cfg.slope_range, cfg.citl_max, cfg.horizon),
        check_net_benefit(
            kind, y, challenger.prob, cfg.nb_thresholds, cfg.horizon, cfg.nb_tolerance
        ),
    ]
    if groups is not None:
        results.append(
            check_subgroups(
                kind,
                y,
                groups,
                challenger.score,
                champ_score,
                cfg.max_subgroup_loss,
                cfg.min_subgroup_size,
                cfg.subgroup_columns,
                cfg.first_champion_subgroup_min,
            )
        )
    return results

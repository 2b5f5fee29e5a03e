"""Survival models for PFS and OS: xgboost Cox and AFT, and a penalised Cox baseline.

Every model takes the numeric design (NaN allowed) and a survival outcome built by
:func:`make_surv`, and answers ``predict_risk(X)`` (higher = worse), ``predict_survival(X, times)``
(n, len(times)) and ``predict_margin(X)`` (log hazard ratio for Cox models, log time for AFT).
Cox models get survival curves from a Breslow baseline cumulative hazard estimated on the training
rows with the model's own margins. Models save as xgboost UBJSON + JSON sidecar or pure JSON.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm
from sklearn.base import BaseEstimator
from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis
from sksurv.util import Surv

from models.design import INTERACTION
from models.response import LinearModelMixin, XGBBoosterModel

__all__ = [
    "DEFAULT_AFT_PARAMS",
    "DEFAULT_COX_PARAMS",
    "DEFAULT_PENALISED_COX_PARAMS",
    "PenalisedCoxSurvival",
    "XGBAFTSurvival",
    "XGBCoxSurvival",
    "breslow_cumulative_hazard",
    "make_surv",
    "split_surv",
]

logger = logging.getLogger(__name__)

_TREE_DEFAULTS: dict[str, Any] = {
    "n_estimators": 500, "learning_rate": 0.03, "max_depth": 2, "min_child_weight": 5.0,
    "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0, "reg_alpha": 0.0,
    "early_stopping_rounds": 30, "validation_fraction": 0.2, "n_jobs": 1, "random_state": 0,
}
#: Defaults of :class:`XGBCoxSurvival` (the pipeline overrides them from params.yaml).
DEFAULT_COX_PARAMS: dict[str, Any] = dict(_TREE_DEFAULTS)
#: Defaults of :class:`XGBAFTSurvival`.
DEFAULT_AFT_PARAMS: dict[str, Any] = {**_TREE_DEFAULTS, "distribution": "normal", "sigma": 1.0}
#: Defaults of :class:`PenalisedCoxSurvival`.
DEFAULT_PENALISED_COX_PARAMS: dict[str, Any] = {"method": "coxnet", "alpha": 0.02,
                                                "l1_ratio": 0.5}
_MIN_TIME = 1e-6  # times of 0 are moved here (Cox label sign, AFT log)


def make_surv(time: Any, event: Any) -> np.ndarray:
    """The survival outcome: a ``sksurv.util.Surv`` structured array (``event`` bool, ``time``).

    Raises:
        ValueError: On length mismatch, NaN or negative times, NaN events, or all censored.
    """
    t = np.asarray(time, dtype=np.float64).ravel()
    e_raw = np.asarray(event, dtype=np.float64).ravel()
    if t.shape != e_raw.shape:
        raise ValueError(f"time and event differ in length: {t.size} vs {e_raw.size}")
    if np.isnan(t).any() or np.isnan(e_raw).any():
        raise ValueError("survival time or event contains NaN; drop those rows first")
    if (t < 0).any():
        raise ValueError(f"negative survival time: min {t.min():g}")
    if not np.isin(e_raw, (0.0, 1.0)).all():
        raise ValueError("event must be 0/1 or boolean")
    if not e_raw.any():
        raise ValueError("all observations are censored")
    return Surv.from_arrays(event=e_raw.astype(bool), time=t)


def split_surv(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(time float64, event bool)`` of a :func:`make_surv` array (validated again)."""
    if not (isinstance(y, np.ndarray) and y.dtype.names and len(y.dtype.names) == 2):
        raise TypeError("y must be a structured array from make_surv(time, event)")
    event_name, time_name = y.dtype.names
    y = make_surv(y[time_name], y[event_name])
    return y["time"].astype(np.float64), y["event"].astype(bool)


def breslow_cumulative_hazard(margin: np.ndarray, time: np.ndarray,
                              event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breslow baseline cumulative hazard at the distinct event times.

    ``H0(t) = sum_{t_i <= t} d_i / sum_{j: t_j >= t_i} exp(margin_j)``.

    Returns:
        ``(event_times, cumulative_hazard)``, both float64, increasing.
    """
    order = np.argsort(time, kind="stable")
    t, e, r = time[order], event[order].astype(bool), np.exp(margin[order] - margin.max())
    uniq, first = np.unique(t, return_index=True)
    at_risk = np.cumsum(r[::-1])[::-1][first]  # sum of exp(margin) with t_j >= t
    deaths = np.bincount(np.searchsorted(uniq, t[e]), minlength=uniq.size)
    keep = deaths > 0
    hazard = deaths[keep] / at_risk[keep] * np.exp(-margin.max())
    return uniq[keep].astype(np.float64), np.cumsum(hazard)


def _step_at(times: Sequence[float], knots: np.ndarray, values: np.ndarray) -> np.ndarray:
    grid = np.asarray(times, dtype=np.float64).ravel()
    if (grid < 0).any() or np.isnan(grid).any():
        raise ValueError("prediction times must be >= 0")
    pos = np.searchsorted(knots, grid, side="right") - 1
    return np.where(pos >= 0, values[np.clip(pos, 0, None)], 0.0)


class _CoxBaselineMixin:
    """Survival curves from a Breslow baseline: ``S(t|x) = exp(-H0(t) exp(margin))``."""

    def _fit_baseline(self, margin: np.ndarray, time: np.ndarray, event: np.ndarray) -> None:
        self.baseline_times_, self.baseline_cumhaz_ = breslow_cumulative_hazard(
            margin, time, event)

    def predict_survival_from_margin(self, margin: np.ndarray,
                                     times: Sequence[float]) -> np.ndarray:
        """S(t) for given margins, shape (len(margin), len(times))."""
        h0 = _step_at(times, self.baseline_times_, self.baseline_cumhaz_)
        return np.exp(-np.exp(np.asarray(margin, dtype=np.float64))[:, None] * h0[None, :])

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Log hazard ratio (higher = worse), shape (n,)."""
        return self.predict_margin(X)

    def predict_survival(self, X: pd.DataFrame, times: Sequence[float]) -> np.ndarray:
        """Survival probability at ``times``, shape (n, len(times)), non-increasing in time."""
        return self.predict_survival_from_margin(self.predict_margin(X), times)

    def _baseline_state(self) -> dict[str, Any]:
        return {"baseline_times": self.baseline_times_.tolist(),
                "baseline_cumhaz": self.baseline_cumhaz_.tolist()}

    def _set_baseline(self, state: Mapping[str, Any]) -> None:
        self.baseline_times_ = np.asarray(state["baseline_times"], dtype=np.float64)
        self.baseline_cumhaz_ = np.asarray(state["baseline_cumhaz"], dtype=np.float64)


class _XGBSurvivalBase(XGBBoosterModel):
    def __init__(self, *, n_estimators: int = 500, learning_rate: float = 0.03,
                 max_depth: int = 2, min_child_weight: float = 5.0, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, reg_alpha: float = 0.0,
                 early_stopping_rounds: int | None = 30, validation_fraction: float = 0.2,
                 n_jobs: int = 1, random_state: int = 0, refit: bool = True,
                 max_bin: int = 256) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.refit = refit
        self.max_bin = max_bin

    def _strata(self, y: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return y[1]

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _XGBSurvivalBase:
        """Fit on the design and a :func:`make_surv` outcome."""
        self._fit_booster(X, split_surv(y))
        return self


class XGBCoxSurvival(_CoxBaselineMixin, _XGBSurvivalBase):
    """xgboost ``survival:cox`` + Breslow baseline; early stopping on inner Cox neg log-lik.

    ``booster_`` is the final booster (refit on all rows with the early-stopped number of rounds).
    """

    _objective = "survival:cox"
    _eval_metric = "cox-nloglik"

    def _labels(self, y: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> dict[str, Any]:
        time, event = y[0][rows], y[1][rows]
        t = np.maximum(time, _MIN_TIME)
        return {"label": np.where(event, t, -t)}  # negative label = censored

    def _fit_extra(self, X: pd.DataFrame, y: tuple[np.ndarray, np.ndarray]) -> None:
        self._fit_baseline(self.predict_margin(X), y[0], y[1])

    def _extra_state(self) -> dict[str, Any]:
        return self._baseline_state()

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        self._set_baseline(state)


class XGBAFTSurvival(_XGBSurvivalBase):
    """xgboost ``survival:aft``; survival from the AFT distribution, risk = -predicted log time.

    ``log T = margin + sigma * Z`` with Z ``normal`` or ``logistic``.
    """

    _objective = "survival:aft"
    _eval_metric = "aft-nloglik"

    def __init__(self, *, n_estimators: int = 500, learning_rate: float = 0.03,
                 max_depth: int = 2, min_child_weight: float = 5.0, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, reg_alpha: float = 0.0,
                 early_stopping_rounds: int | None = 30, validation_fraction: float = 0.2,
                 distribution: str = "normal", sigma: float = 1.0, n_jobs: int = 1,
                 random_state: int = 0, refit: bool = True, max_bin: int = 256) -> None:
        super().__init__(
            n_estimators=n_estimators, learning_rate=learning_rate, max_depth=max_depth,
            min_child_weight=min_child_weight, subsample=subsample,
            colsample_bytree=colsample_bytree, reg_lambda=reg_lambda, reg_alpha=reg_alpha,
            early_stopping_rounds=early_stopping_rounds, validation_fraction=validation_fraction,
            n_jobs=n_jobs, random_state=random_state, refit=refit, max_bin=max_bin)
        self.distribution = distribution
        self.sigma = sigma

    def _extra_booster_params(self) -> dict[str, Any]:
        return {"aft_loss_distribution": self.distribution,
                "aft_loss_distribution_scale": float(self.sigma)}

    def _labels(self, y: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> dict[str, Any]:
        t = np.maximum(y[0][rows], _MIN_TIME)
        return {"label_lower_bound": t, "label_upper_bound": np.where(y[1][rows], t, np.inf)}

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> XGBAFTSurvival:
        """Fit on the design and a :func:`make_surv` outcome."""
        if self.distribution not in ("normal", "logistic"):
            raise ValueError(f"distribution must be normal or logistic, got {self.distribution!r}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be > 0, got {self.sigma}")
        return super().fit(X, y)

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        """Minus the predicted log survival time (higher = worse), shape (n,)."""
        return -self.predict_margin(X)

    def predict_survival_from_margin(self, margin: np.ndarray,
                                     times: Sequence[float]) -> np.ndarray:
        """S(t) = P(log T > log t) under the AFT distribution, shape (n, len(times))."""
        grid = np.maximum(np.asarray(times, dtype=np.float64).ravel(), 0.0)
        with np.errstate(divide="ignore"):
            z = (np.log(grid)[None, :] - np.asarray(margin, np.float64)[:, None]) / self.sigma
        return norm.sf(z) if self.distribution == "normal" else expit(-z)

    def predict_survival(self, X: pd.DataFrame, times: Sequence[float]) -> np.ndarray:
        """Survival probability at ``times``, shape (n, len(times))."""
        return self.predict_survival_from_margin(self.predict_margin(X), times)


def _coxnet_path_end(data: np.ndarray, target: np.ndarray, alpha: float,
                     l1_ratio: float, penalty_factor: np.ndarray | None = None) -> np.ndarray:
    """Elastic-net Cox coefficients at ``alpha``, reached along a warm-started path.

    Fitting a single small alpha directly can overflow (sksurv's "weights are too large"); a
    descending path of 30 log-spaced alphas from the data's alpha_max (the smallest penalty with
    all coefficients zero) warm-starts each step and converges reliably. Starting above alpha_max
    would let glmnet stop the path early on the flat all-zero stretch.
    """
    alpha_max = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, n_alphas=2, alpha_min_ratio=0.9,
                                       penalty_factor=penalty_factor).fit(data, target).alphas_[0]
    path = np.geomspace(max(float(alpha_max), alpha), alpha, 30)
    model = CoxnetSurvivalAnalysis(l1_ratio=l1_ratio, alphas=path, max_iter=100000,
                                   penalty_factor=penalty_factor)
    with warnings.catch_warnings():  # the heavily penalised start of the path is all zeros
        warnings.filterwarnings("ignore", message="all coefficients are zero")
        model.fit(data, target)
    return np.asarray(model.coef_[:, -1], dtype=np.float64)


class PenalisedCoxSurvival(_CoxBaselineMixin, LinearModelMixin, BaseEstimator):
    """Penalised Cox on the imputed, indicator-augmented, scaled design + Breslow baseline.

    ``log_columns``, ``treatment_interactions``, ``treatment_prefix`` and ``treatment_weight``
    shape the linear
    predictor (see :class:`models.response.LinearModelMixin`): therapy-by-covariate terms let
    the PRRT effect grow with SSTR uptake, or the SSA effect fade with Ki-67, as in the trials.

    ``method="coxnet"``: elastic net (sksurv ``CoxnetSurvivalAnalysis``, one ``alpha``,
    ``l1_ratio``); ``method="ridge"``: sksurv ``CoxPHSurvivalAnalysis(alpha)``. Coefficients,
    preprocessing and baseline are stored as JSON numbers; ``intercept_`` is 0.

    ``treatment_penalty`` multiplies the penalty of the therapy main-effect columns (glmnet's
    penalty factor): 0 leaves the therapy effects unpenalised, so a what-if keeps them at
    their estimated size. ``interaction_penalty`` does the same for the therapy-by-covariate
    terms (below 1: effect modifiers shrunk less than the prognostic inputs).
    """

    def __init__(self, *, method: str = "coxnet", alpha: float = 0.02,
                 l1_ratio: float = 0.5, log_columns: tuple[str, ...] = (),
                 treatment_interactions: tuple[str, ...] = (),
                 treatment_prefix: str = "therapy__", treatment_weight: float = 1.0,
                 treatment_penalty: float = 1.0, interaction_penalty: float = 1.0) -> None:
        self.method = method
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.treatment_penalty = treatment_penalty
        self.interaction_penalty = interaction_penalty
        self._set_shape(log_columns, treatment_interactions, treatment_prefix, treatment_weight)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> PenalisedCoxSurvival:
        """Fit on the design and a :func:`make_surv` outcome."""
        if self.method not in ("coxnet", "ridge"):
            raise ValueError(f"method must be coxnet or ridge, got {self.method!r}")
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")
        time, event = split_surv(y)
        data = self._fit_preprocessor(X)
        target = make_surv(time, event)
        factor = self._penalty_factor()
        if self.method == "coxnet":
            coef = _coxnet_path_end(data, target, self.alpha, self.l1_ratio,
                                    None if factor is None else factor)
        else:
            alpha = self.alpha if factor is None else self.alpha * factor
            coef = CoxPHSurvivalAnalysis(alpha=alpha, ties="breslow").fit(data, target).coef_
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = 0.0
        self._fit_baseline(data @ self.coef_, time, event)
        return self

    def _penalty_factor(self) -> np.ndarray | None:
        """Penalty factor per preprocessed column (None: all 1, glmnet's default)."""
        for name in ("treatment_penalty", "interaction_penalty"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.treatment_penalty == 1.0 and self.interaction_penalty == 1.0:
            return None
        prep = self.preprocessor_
        therapy = {c for c in prep.input_columns_ if c.startswith(self.treatment_prefix)}
        main = np.array([c in therapy for c in prep.feature_names_out_])
        crossed = np.array([c.startswith(self.treatment_prefix) and c not in therapy
                            and INTERACTION in c for c in prep.feature_names_out_])
        factor = np.ones(main.size)
        factor[main] = float(self.treatment_penalty)
        factor[crossed] = float(self.interaction_penalty)
        return factor

    def _extra_state(self) -> dict[str, Any]:
        return self._baseline_state()

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        self._set_baseline(state)


SurvivalModel = XGBCoxSurvival | XGBAFTSurvival | PenalisedCoxSurvival

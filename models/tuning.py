"""Bounded hyper-parameter search (Optuna TPE) inside the training folds only.

``tune`` never sees test rows: the caller passes the training rows, and every trial is scored by
cross-validation within them. The search space arrives as a plain dict (the pipeline reads it
from params.yaml); each entry is ``{"type": "int"|"float"|"categorical", "low", "high",
"log"?, "step"?, "choices"?}`` or a constant. Deterministic given ``seed`` (TPESampler(seed),
sequential trials) as long as ``timeout_s`` does not cut the search short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from models.evaluation.discrimination import harrell_c, roc_auc

__all__ = [
    "DEFAULT_COX_SPACE",
    "DEFAULT_PENALISED_COX_SPACE",
    "DEFAULT_RESPONSE_SPACE",
    "score_auc",
    "score_harrell_c",
    "tune",
]

logger = logging.getLogger(__name__)

#: Default search space for the xgboost response model (override from params.yaml).
DEFAULT_RESPONSE_SPACE: dict[str, Any] = {
    "max_depth": {"type": "int", "low": 2, "high": 5},
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.2, "log": True},
    "min_child_weight": {"type": "float", "low": 1.0, "high": 20.0, "log": True},
    "subsample": {"type": "float", "low": 0.6, "high": 1.0},
    "reg_lambda": {"type": "float", "low": 0.1, "high": 20.0, "log": True},
}
#: Default search space for the xgboost Cox / AFT models.
DEFAULT_COX_SPACE: dict[str, Any] = {
    "max_depth": {"type": "int", "low": 1, "high": 4},
    "learning_rate": {"type": "float", "low": 0.01, "high": 0.1, "log": True},
    "min_child_weight": {"type": "float", "low": 1.0, "high": 30.0, "log": True},
    "subsample": {"type": "float", "low": 0.6, "high": 1.0},
    "reg_lambda": {"type": "float", "low": 0.1, "high": 20.0, "log": True},
}
#: Default search space for the penalised Cox model.
DEFAULT_PENALISED_COX_SPACE: dict[str, Any] = {
    "alpha": {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
    "l1_ratio": {"type": "float", "low": 0.05, "high": 1.0},
}

Scorer = Callable[[Any, pd.DataFrame, Any], float]


def score_harrell_c(model: Any, X: pd.DataFrame, y: np.ndarray) -> float:
    """Harrell's C of ``model.predict_risk`` on a :func:`models.survival.make_surv` outcome."""
    return harrell_c(y, model.predict_risk(X))


def score_auc(model: Any, X: pd.DataFrame, y: Any) -> float:
    """ROC AUC of ``model.predict_proba`` (shape (n,)) on a 0/1 response."""
    return roc_auc(np.asarray(y, dtype=float), model.predict_proba(X))


def _suggest(trial: optuna.Trial, name: str, spec: Any) -> Any:
    if not isinstance(spec, Mapping):
        return spec  # a constant
    kind = spec.get("type")
    if kind == "int":
        return trial.suggest_int(name, int(spec["low"]), int(spec["high"]),
                                 step=int(spec.get("step", 1)), log=bool(spec.get("log", False)))
    if kind == "float":
        return trial.suggest_float(name, float(spec["low"]), float(spec["high"]),
                                   step=spec.get("step"), log=bool(spec.get("log", False)))
    if kind == "categorical":
        return trial.suggest_categorical(name, list(spec["choices"]))
    raise ValueError(f"parameter {name!r}: type must be int, float or categorical, got {kind!r}")


def _strata_of(y: Any) -> np.ndarray:
    if isinstance(y, np.ndarray) and y.dtype.names:
        return y[y.dtype.names[0]].astype(int)  # event indicator
    return np.asarray(y, dtype=float).astype(int)


def _folds(cv_splits: int | Iterable | Any, y: Any, seed: int) -> list[tuple[np.ndarray, ...]]:
    if isinstance(cv_splits, int):
        splitter = StratifiedKFold(n_splits=cv_splits, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), _strata_of(y)))
    if hasattr(cv_splits, "split"):
        return list(cv_splits.split(np.zeros(len(y)), _strata_of(y)))
    return [(np.asarray(a), np.asarray(b)) for a, b in cv_splits]


def _subset(y: Any, rows: np.ndarray) -> Any:
    return y[rows] if isinstance(y, np.ndarray) else np.asarray(y)[rows]


def tune(estimator_factory: Callable[..., Any], param_space: Mapping[str, Any],
         X: pd.DataFrame, y: Any, *, scorer: Scorer, n_trials: int, timeout_s: float | None,
         cv_splits: int | Iterable | Any, seed: int) -> dict[str, Any]:
    """Optuna TPE search maximising the mean cross-validated score within the given rows.

    Args:
        estimator_factory: ``factory(**params) -> estimator`` (e.g. the model class).
        param_space: Name -> spec dict (see module docstring) or constant.
        X: Design of the training rows only.
        y: Their outcome (0/1 response or a ``make_surv`` array).
        scorer: ``scorer(fitted, X_val, y_val) -> float``, higher is better.
        n_trials: Maximum number of trials (hard bound).
        timeout_s: Wall-clock bound in seconds (None: none); may end the search early.
        cv_splits: Number of stratified folds, a splitter, or explicit (train, val) index pairs.
        seed: Seed of the TPE sampler and of the default fold split.

    Returns:
        ``{"best_params", "best_score", "n_trials", "trials": [{"number", "params", "score"}]}``
        where ``best_params`` includes the constants of ``param_space``.
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    folds = _folds(cv_splits, y, seed)
    constants = {k: v for k, v in param_space.items() if not isinstance(v, Mapping)}

    def objective(trial: optuna.Trial) -> float:
        params = {name: _suggest(trial, name, spec) for name, spec in param_space.items()}
        scores = []
        for fit_rows, val_rows in folds:  # loop over folds
            model = estimator_factory(**params).fit(X.iloc[fit_rows], _subset(y, fit_rows))
            scores.append(scorer(model, X.iloc[val_rows], _subset(y, val_rows)))
        return float(np.mean(scores))

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        # A numerically failing configuration (e.g. too weak a penalty) is a failed trial,
        # not a failed search.
        study.optimize(objective, n_trials=n_trials, timeout=timeout_s, n_jobs=1,
                       catch=(ArithmeticError, FloatingPointError, np.linalg.LinAlgError))
    finally:
        optuna.logging.set_verbosity(verbosity)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise ArithmeticError(f"all {len(study.trials)} tuning trials failed numerically")
    if len(done) < n_trials:
        logger.warning("tuning stopped after %d of %d trials (timeout %.0f s)",
                       len(done), n_trials, timeout_s or 0)
    return {
        "best_params": {**constants, **study.best_params},
        "best_score": float(study.best_value),
        "n_trials": len(done),
        "trials": [{"number": t.number, "params": dict(t.params), "score": float(t.value)}
                   for t in done],
    }

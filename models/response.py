"""Objective-response models: calibrated xgboost and an L2 logistic baseline.

Both take the numeric design (:class:`models.design.DesignMatrix` output, NaN allowed) and a 0/1
response, and answer ``predict_proba(X) -> (n,)`` P(response) and ``predict_margin(X) -> (n,)``
log-odds of the uncalibrated model (what SHAP explains). They save in native formats only:
xgboost UBJSON + a JSON sidecar, or pure JSON for the linear model (no pickle).

This module also holds the xgboost plumbing shared with :mod:`models.survival`
(:class:`XGBBoosterModel`: training with early stopping on an inner validation split, margins,
save/load).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.utils.validation import check_is_fitted

from models.design import DesignMatrix, LinearPreprocessor, read_json, write_json

__all__ = [
    "DEFAULT_LOGISTIC_PARAMS",
    "DEFAULT_XGB_RESPONSE_PARAMS",
    "LogisticResponseClassifier",
    "XGBBoosterModel",
    "XGBResponseClassifier",
    "check_design",
]

logger = logging.getLogger(__name__)

#: Defaults of :class:`XGBResponseClassifier` (the pipeline overrides them from params.yaml).
DEFAULT_XGB_RESPONSE_PARAMS: dict[str, Any] = {
    "n_estimators": 500, "learning_rate": 0.05, "max_depth": 3, "min_child_weight": 1.0,
    "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0, "reg_alpha": 0.0,
    "early_stopping_rounds": 30, "validation_fraction": 0.2, "calibration": "platt",
    "calibration_folds": 5, "n_jobs": 1, "random_state": 0,
}
#: Defaults of :class:`LogisticResponseClassifier`.
DEFAULT_LOGISTIC_PARAMS: dict[str, Any] = {"C": 1.0, "max_iter": 2000}

BOOSTER_FILE = "model.ubj"
SIDECAR_FILE = "model.json"
DESIGN_FILE = "design.json"


def check_design(X: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Validate a numeric design frame and (optionally) align it to the fitted columns.

    Raises:
        TypeError: If ``X`` is not a DataFrame.
        ValueError: If columns are missing or not numeric.
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a pandas DataFrame of design columns (DesignMatrix output)")
    if columns is not None:
        missing = [c for c in columns if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks fitted design columns: {missing[:10]}")
        X = X.loc[:, columns]
    bad = [c for c, dtype in X.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if bad:
        raise ValueError(f"design columns must be numeric, got non-numeric: {bad[:10]}")
    return X


def _dmatrix(X: pd.DataFrame, named: bool = True, **info: np.ndarray) -> xgb.DMatrix:
    """DMatrix of a design; ``named=False`` for training (xgboost re-reads the names of a
    named DMatrix at every boosting round, a third of the cost of a small fit)."""
    data = X.to_numpy(dtype=np.float32, na_value=np.nan)
    names = list(map(str, X.columns)) if named else None
    dm = xgb.DMatrix(data, feature_names=names, missing=np.nan, nthread=1)
    for key, value in info.items():
        dm.set_float_info(key, np.asarray(value, dtype=np.float32))
    return dm


def _named(booster: xgb.Booster, X: pd.DataFrame) -> xgb.Booster:
    """Give a booster trained on an unnamed DMatrix the design's column names."""
    booster.feature_names = list(map(str, X.columns))
    return booster


class XGBBoosterModel(BaseEstimator):
    """Shared xgboost plumbing: parameters, early stopping, margins, save/load.

    Subclasses set ``_objective``, ``_eval_metric`` and implement ``_labels(y, rows)``
    (DMatrix label info), ``_strata(y)`` and ``_fit_extra(X, y)``.
    """

    _objective = ""
    _eval_metric = ""

    def _booster_params(self) -> dict[str, Any]:
        return {
            "objective": self._objective, "eval_metric": self._eval_metric,
            "tree_method": "hist", "eta": self.learning_rate, "max_depth": int(self.max_depth),
            "min_child_weight": self.min_child_weight, "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree, "lambda": self.reg_lambda,
            "alpha": self.reg_alpha, "nthread": int(self.n_jobs), "seed": int(self.random_state),
            "max_bin": int(self.max_bin),
            "verbosity": 0, **self._extra_booster_params(),
        }

    def _extra_booster_params(self) -> dict[str, Any]:
        return {}

    def _labels(self, y: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _strata(self, y: Any) -> np.ndarray:
        raise NotImplementedError

    def _fit_extra(self, X: pd.DataFrame, y: Any) -> None:
        """Hook after the final booster is trained (calibration, baseline hazard)."""

    def _train(self, X: pd.DataFrame, y: Any, rows: np.ndarray, n_rounds: int) -> xgb.Booster:
        dm = _dmatrix(X.iloc[rows], named=False, **self._labels(y, rows))
        return _named(xgb.train(self._booster_params(), dm, num_boost_round=int(n_rounds)), X)

    def _early_stopped(self, X: pd.DataFrame, y: Any) -> xgb.Booster | None:
        """Booster trained on an inner split, stopped on the rest (None: early stopping off)."""
        if not self.early_stopping_rounds or not self.validation_fraction:
            return None
        rows = np.arange(len(X))
        fit_rows, val_rows = train_test_split(
            rows, test_size=self.validation_fraction, random_state=self.random_state,
            stratify=self._strata(y))
        dtrain = _dmatrix(X.iloc[fit_rows], named=False, **self._labels(y, fit_rows))
        dvalid = _dmatrix(X.iloc[val_rows], named=False, **self._labels(y, val_rows))
        booster = xgb.train(self._booster_params(), dtrain, num_boost_round=int(self.n_estimators),
                            evals=[(dvalid, "valid")],
                            early_stopping_rounds=int(self.early_stopping_rounds),
                            verbose_eval=False)
        return booster

    def _fit_booster(self, X: pd.DataFrame, y: Any) -> None:
        """Rounds by early stopping, then (``refit``) the final booster on all rows.

        ``refit=False`` keeps the early-stopped booster itself (trained on the inner split
        only): half the cost, used while tuning, where only its ranking of trials matters.
        """
        X = check_design(X)
        if len(X) < 10:
            raise ValueError(f"need at least 10 rows to fit, got {len(X)}")
        self.feature_names_ = list(map(str, X.columns))
        early = self._early_stopped(X, y)
        self.n_rounds_ = int(self.n_estimators) if early is None else early.best_iteration + 1
        if early is not None and not self.refit:
            self.booster_ = _named(early[: self.n_rounds_], X)
        else:
            self.booster_ = self._train(X, y, np.arange(len(X)), self.n_rounds_)
        self._fit_extra(X, y)

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Raw model margin (log-odds, log hazard ratio or log time), float64, shape (n,)."""
        check_is_fitted(self, "booster_")
        X = check_design(X, self.feature_names_)
        return self.booster_.predict(_dmatrix(X), output_margin=True).astype(np.float64)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`_extra_state` saved."""

    def save(self, path_dir: Path | str, *, design: DesignMatrix | None = None) -> Path:
        """Write ``model.ubj`` (xgboost UBJSON), ``model.json`` sidecar and ``design.json``."""
        check_is_fitted(self, "booster_")
        path = Path(path_dir)
        path.mkdir(parents=True, exist_ok=True)
        self.booster_.save_model(str(path / BOOSTER_FILE))
        return _write_state(self, path, {"feature_names": self.feature_names_,
                                         "n_rounds": self.n_rounds_,
                                         "objective": self._objective}, design)

    @classmethod
    def load(cls, path_dir: Path | str) -> XGBBoosterModel:
        """Rebuild a fitted model saved by :meth:`save` (``design_`` set if saved)."""
        path = Path(path_dir)
        state = _read_state(cls, path)
        model = cls(**state["params"])
        booster = xgb.Booster()
        booster.load_model(str(path / BOOSTER_FILE))
        booster.set_param({"nthread": int(model.n_jobs)})
        model.booster_ = booster
        model.feature_names_ = list(state["feature_names"])
        model.n_rounds_ = int(state["n_rounds"])
        model._set_extra_state(state)
        _attach_design(model, path)
        return model


def _write_state(model: Any, path: Path, numbers: dict[str, Any],
                 design: DesignMatrix | None) -> Path:
    """Write the ``model.json`` sidecar (kind, params, numbers) and, if given, ``design.json``."""
    state = {"kind": type(model).__name__, "params": model.get_params(), **numbers,
             **model._extra_state()}
    write_json(path / SIDECAR_FILE, state)
    if design is not None:
        write_json(path / DESIGN_FILE, design.to_dict())
    return path


def _read_state(cls: type, path: Path) -> dict[str, Any]:
    """Read ``model.json``; refuse a folder that holds another model class."""
    state = read_json(path / SIDECAR_FILE)
    if state.get("kind") != cls.__name__:
        raise ValueError(f"{path} holds a {state.get('kind')}, not a {cls.__name__}")
    return state


def _attach_design(model: Any, path: Path) -> None:
    if (path / DESIGN_FILE).exists():
        model.design_ = DesignMatrix.from_dict(read_json(path / DESIGN_FILE))


def _check_binary(y: Any) -> np.ndarray:
    target = np.asarray(y, dtype=np.float64).ravel()
    if np.isnan(target).any():
        raise ValueError("response contains NaN; drop rows with unknown response before fitting")
    if not np.isin(target, (0.0, 1.0)).all():
        raise ValueError("response must be 0/1")
    if np.unique(target).size < 2:
        raise ValueError("response has a single class; cannot fit a classifier")
    return target


class XGBResponseClassifier(ClassifierMixin, XGBBoosterModel):
    """xgboost ``binary:logistic`` with out-of-fold probability calibration.

    Early stopping on an inner stratified validation split picks the number of rounds; the final
    booster is refit on all rows with that number. Calibration (``"platt"``, ``"isotonic"`` or
    ``"none"``) is fitted on out-of-fold margins of ``calibration_folds`` refits and stored as
    numbers (``calibration_``).
    """

    _objective = "binary:logistic"
    _eval_metric = "logloss"

    def __init__(self, *, n_estimators: int = 500, learning_rate: float = 0.05,
                 max_depth: int = 3, min_child_weight: float = 1.0, subsample: float = 0.8,
                 colsample_bytree: float = 0.8, reg_lambda: float = 1.0, reg_alpha: float = 0.0,
                 early_stopping_rounds: int | None = 30, validation_fraction: float = 0.2,
                 calibration: str = "platt", calibration_folds: int = 5, n_jobs: int = 1,
                 random_state: int = 0, refit: bool = True, max_bin: int = 256) -> None:
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
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.refit = refit
        self.max_bin = max_bin

    def _labels(self, y: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"label": y[rows]}

    def _strata(self, y: np.ndarray) -> np.ndarray:
        return y

    def fit(self, X: pd.DataFrame, y: Any) -> XGBResponseClassifier:
        """Fit booster and calibration; ``y`` is 0/1 without NaN."""
        if self.calibration not in ("platt", "isotonic", "none"):
            raise ValueError(
                f"calibration must be platt, isotonic or none, got {self.calibration!r}")
        target = _check_binary(y)
        self.classes_ = np.array([0, 1])
        self._fit_booster(X, target)
        return self

    def _fit_extra(self, X: pd.DataFrame, y: np.ndarray) -> None:
        if self.calibration == "none":
            self.calibration_ = {"method": "none"}
            return
        folds = StratifiedKFold(n_splits=self.calibration_folds, shuffle=True,
                                random_state=self.random_state)
        oof = np.empty(len(X), dtype=np.float64)
        for train_rows, test_rows in folds.split(np.zeros(len(y)), y):  # loop over folds
            booster = self._train(X, y, train_rows, self.n_rounds_)
            oof[test_rows] = booster.predict(_dmatrix(X.iloc[test_rows]), output_margin=True)
        self.calibration_ = _fit_calibrator(self.calibration, oof, y)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(response), shape (n,)."""
        margin = self.predict_margin(X)
        return _apply_calibration(self.calibration_, margin)

    def predict(self, X: pd.DataFrame, threshold: float = 0.5) -> np.ndarray:
        """0/1 prediction at ``threshold`` on the calibrated probability."""
        return (self.predict_proba(X) >= threshold).astype(int)

    def _extra_state(self) -> dict[str, Any]:
        return {"calibration": self.calibration_}

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        self.calibration_ = dict(state["calibration"])
        self.classes_ = np.array([0, 1])


def _fit_calibrator(method: str, margin: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
        return {"method": "isotonic", "x": iso.X_thresholds_.tolist(),
                "y": iso.y_thresholds_.tolist()}
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(margin[:, None], y)
    return {"method": "platt", "a": float(platt.coef_[0, 0]), "b": float(platt.intercept_[0])}


def _apply_calibration(calibration: Mapping[str, Any], margin: np.ndarray) -> np.ndarray:
    method = calibration["method"]
    if method == "isotonic":
        return np.interp(margin, calibration["x"], calibration["y"])
    if method == "platt":
        return expit(calibration["a"] * margin + calibration["b"])
    return expit(margin)


class LinearModelMixin:
    """Shared by the linear baselines: preprocessing numbers, margin, JSON save/load.

    Subclasses take ``log_columns`` (design columns modelled on the log scale),
    ``treatment_interactions`` (design columns whose effect may differ by therapy: each is
    crossed with every design column starting with ``treatment_prefix``) and
    ``treatment_prefix`` (the one-hot columns of the treatment variable, ``therapy__``) and
    ``treatment_weight`` (those columns enter as weight x standardised value, so their penalty
    is divided by weight^2 for L2, weight for L1: with 5 the therapy effects are practically
    unpenalised, as a what-if prediction needs them estimated rather than shrunk to zero).
    """

    log_columns: tuple[str, ...] = ()
    treatment_interactions: tuple[str, ...] = ()
    treatment_prefix: str = "therapy__"
    treatment_weight: float = 1.0

    def _set_shape(self, log_columns: tuple[str, ...], treatment_interactions: tuple[str, ...],
                   treatment_prefix: str, treatment_weight: float) -> None:
        """Store the shape parameters (tuples: ``tuple(t) is t``, so clone-safe)."""
        self.log_columns = tuple(log_columns)
        self.treatment_interactions = tuple(treatment_interactions)
        self.treatment_prefix = treatment_prefix
        self.treatment_weight = treatment_weight

    def transform_inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        """Imputed, indicator-augmented, scaled design the coefficients apply to (no NaN)."""
        check_is_fitted(self, "coef_")
        return self.preprocessor_.transform(check_design(X, self.preprocessor_.input_columns_))

    def predict_margin(self, X: pd.DataFrame) -> np.ndarray:
        """Linear predictor ``intercept_ + transform_inputs(X) @ coef_``, shape (n,)."""
        data = self.transform_inputs(X).to_numpy(dtype=np.float64)
        return self.intercept_ + data @ self.coef_

    def _fit_preprocessor(self, X: pd.DataFrame) -> np.ndarray:
        X = check_design(X)
        self.feature_names_ = columns = list(map(str, X.columns))
        treatments = [c for c in columns if c.startswith(self.treatment_prefix)]
        pairs = [(t, c) for c in self.treatment_interactions if c in columns for t in treatments]
        weights = dict.fromkeys(treatments, float(self.treatment_weight))
        self.preprocessor_ = LinearPreprocessor(self.log_columns, pairs, weights).fit(X)
        data = self.preprocessor_.transform(X).to_numpy(dtype=np.float64)
        self.background_mean_ = data.mean(axis=0)
        return data

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore subclass numbers."""

    def save(self, path_dir: Path | str, *, design: DesignMatrix | None = None) -> Path:
        """Write ``model.json`` (params, coefficients, preprocessing) and ``design.json``."""
        check_is_fitted(self, "coef_")
        path = Path(path_dir)
        path.mkdir(parents=True, exist_ok=True)
        return _write_state(self, path, {"coef": self.coef_.tolist(),
                                         "intercept": float(self.intercept_),
                                         "preprocessor": self.preprocessor_.to_dict(),
                                         "background_mean": self.background_mean_.tolist()},
                            design)

    @classmethod
    def load(cls, path_dir: Path | str) -> Any:
        """Rebuild a fitted model saved by :meth:`save`."""
        path = Path(path_dir)
        state = _read_state(cls, path)
        model = cls(**state["params"])
        model.coef_ = np.asarray(state["coef"], dtype=np.float64)
        model.intercept_ = float(state["intercept"])
        model.preprocessor_ = LinearPreprocessor.from_dict(state["preprocessor"])
        model.feature_names_ = list(model.preprocessor_.input_columns_)
        model.background_mean_ = np.asarray(state["background_mean"], dtype=np.float64)
        model._set_extra_state(state)
        _attach_design(model, path)
        return model


class LogisticResponseClassifier(ClassifierMixin, LinearModelMixin, BaseEstimator):
    """L2 logistic regression on the median-imputed, indicator-augmented, scaled design.

    Exposes ``coef_`` (p_out,), ``intercept_``, ``preprocessor_`` (medians, scaling) and
    ``transform_inputs`` so an exact linear SHAP explainer can be built. ``penalty="l1"``
    (liblinear) or ``"elasticnet"`` (saga, ``l1_ratio`` in (0, 1]) give sparse variants: with
    ~100 responders among ~80 inputs, keeping the few informative ones often beats shrinking
    them all.
    """

    def __init__(self, *, C: float = 1.0, max_iter: int = 2000, penalty: str = "l2",
                 l1_ratio: float = 0.0, log_columns: tuple[str, ...] = (),
                 treatment_interactions: tuple[str, ...] = (),
                 treatment_prefix: str = "therapy__", treatment_weight: float = 1.0) -> None:
        self.C = C
        self.max_iter = max_iter
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self._set_shape(log_columns, treatment_interactions, treatment_prefix, treatment_weight)

    def fit(self, X: pd.DataFrame, y: Any) -> LogisticResponseClassifier:
        """Fit preprocessing and the L2 logistic model; ``y`` is 0/1 without NaN."""
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        if self.penalty not in ("l2", "l1", "elasticnet"):
            raise ValueError(f"penalty must be l2, l1 or elasticnet, got {self.penalty!r}")
        target = _check_binary(y)
        data = self._fit_preprocessor(X)
        if self.penalty == "l2":
            logit = LogisticRegression(C=self.C, max_iter=self.max_iter)
        elif self.penalty == "l1":  # liblinear: fast; a large intercept scaling keeps the
            logit = LogisticRegression(C=self.C, l1_ratio=1.0, solver="liblinear",  # intercept
                                       intercept_scaling=10.0, max_iter=self.max_iter,  # ~free
                                       random_state=0)  # liblinear shuffles: fixed seed
        else:
            if not 0 < self.l1_ratio <= 1:
                raise ValueError(f"l1_ratio must be in (0, 1] for elasticnet, got {self.l1_ratio}")
            logit = LogisticRegression(C=self.C, l1_ratio=self.l1_ratio, solver="saga",
                                       max_iter=self.max_iter, tol=1e-4, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # saga at max_iter: still usable
            logit.fit(data, target)
        self.coef_ = logit.coef_[0].astype(np.float64)
        self.intercept_ = float(logit.intercept_[0])
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(response), shape (n,)."""
        return expit(self.predict_margin(X))

    def predict(self, X: pd.DataFrame, threshold: float = 0.5) -> np.ndarray:
        """0/1 prediction at ``threshold``."""
        return (self.predict_proba(X) >= threshold).astype(int)

    def _set_extra_state(self, state: Mapping[str, Any]) -> None:
        self.classes_ = np.array([0, 1])


ResponseModel = XGBResponseClassifier | LogisticResponseClassifier
ResponseFactory = Callable[..., ResponseModel]

"""From a cohort feature table to a numeric design matrix, and the linear models' preprocessing.

:class:`DesignMatrix` turns the model inputs named by the feature dictionary (role ``feature``
or ``treatment``, or ``predictor: true``) into float64 columns: numeric and binary columns are
kept (NaN stays NaN, xgboost routes it), categoricals are one-hot encoded in the dictionary's
fixed level order as ``<variable>__<level>`` (unseen or missing level: all zeros).
:class:`LinearPreprocessor` is what the linear baselines add on top: log transforms of skewed
inputs, median imputation, missing indicators (``<column>__missing``), interaction products
(``<a>__x__<b>``) and standard scaling. Both serialise to plain JSON dicts.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "INTERACTION",
    "DesignMatrix",
    "LinearPreprocessor",
    "interaction_parts",
    "read_json",
    "write_json",
]

logger = logging.getLogger(__name__)

_INPUT_ROLES = ("feature", "treatment")
SEPARATOR = "__"


def write_json(path: Path | str, payload: Mapping[str, Any]) -> None:
    """Write a JSON document (sorted keys, floats written exactly by ``repr``)."""
    Path(path).write_text(json.dumps(payload, indent=1, sort_keys=True, allow_nan=True))


def read_json(path: Path | str) -> dict[str, Any]:
    """Read a JSON document written by :func:`write_json`."""
    return json.loads(Path(path).read_text())


def _is_input(entry: Mapping[str, Any]) -> bool:
    if entry.get("role") == "treatment":
        return True
    return bool(entry.get("predictor", entry.get("role") in _INPUT_ROLES))


def _as_float(values: pd.Series) -> np.ndarray:
    if values.dtype == bool or pd.api.types.is_bool_dtype(values):
        values = values.astype("Float64")
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


class DesignMatrix:
    """Dictionary-driven encoder of the model inputs (fit on training rows only).

    Attributes (after fit):
        variables_: Clinical variables used, in dictionary order.
        levels_: Categorical variable -> levels (fixed order).
        columns_: Design column names, in order.
        variable_of_: Design column -> clinical variable (one-hot columns map to their variable).
        treatment_: Name of the treatment variable (``None`` if the dictionary has none).
    """

    def fit(self, frame: pd.DataFrame, dictionary: Mapping[str, Any]) -> DesignMatrix:
        """Learn inputs and categorical levels from the dictionary (and training rows)."""
        variables, levels, treatment = [], {}, None
        for entry in dictionary["features"]:
            name = entry["name"]
            if not _is_input(entry):
                continue
            if name not in frame.columns:
                logger.info("dictionary input %s absent from the table; skipped", name)
                continue
            variables.append(name)
            if entry.get("role") == "treatment":
                treatment = name
            if entry.get("dtype") == "categorical":
                cats = entry.get("categories")
                if not cats:
                    cats = sorted(map(str, frame[name].dropna().unique()))
                levels[name] = [str(c) for c in cats]
        if not variables:
            raise ValueError("the dictionary names no model input present in the table")
        self.variables_ = variables
        self.levels_ = levels
        self.treatment_ = treatment
        self._set_columns()
        return self

    def _set_columns(self) -> None:
        columns, variable_of = [], {}
        for name in self.variables_:
            names = (
                [f"{name}{SEPARATOR}{lv}" for lv in self.levels_[name]]
                if (name in self.levels_)
                else [name]
            )
            columns += names
            variable_of.update({c: name for c in names})
        self.columns_ = columns
        self.variable_of_ = variable_of

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Design matrix (float64, NaN kept for numeric inputs), same index as ``frame``.

        Raises:
            ValueError: If an input column is missing from ``frame``.
        """
        if not hasattr(self, "columns_"):
            raise ValueError("DesignMatrix is not fitted; call fit(frame, dictionary) first")
        missing = [v for v in self.variables_ if v not in frame.columns]
        if missing:
            raise ValueError(f"table lacks model input columns: {missing[:10]}")
        numeric = [v for v in self.variables_ if v not in self.levels_]
        plain = [v for v in numeric if pd.api.types.is_numeric_dtype(frame[v].dtype)]
        # numeric columns in one conversion (per-column to_numeric costs 10 ms per patient)
        bulk = (frame[plain].to_numpy(dtype=np.float64, na_value=np.nan) if plain
                else np.empty((len(frame), 0)))
        where = {v: j for j, v in enumerate(plain)}
        blocks = []
        for name in self.variables_:
            if name in self.levels_:
                present = frame[name].notna().to_numpy()
                codes = frame[name].astype(str).to_numpy(dtype=object)
                lv = np.asarray(self.levels_[name], dtype=object)
                hits = (codes[:, None] == lv[None, :]) & present[:, None]
                blocks.append(hits.astype(np.float64))
            elif name in where:
                blocks.append(bulk[:, where[name]][:, None])
            else:
                blocks.append(_as_float(frame[name])[:, None])
        data = np.hstack(blocks) if blocks else np.empty((len(frame), 0))
        return pd.DataFrame(data, index=frame.index, columns=list(self.columns_))

    def fit_transform(self, frame: pd.DataFrame, dictionary: Mapping[str, Any]) -> pd.DataFrame:
        """Fit then transform the same rows."""
        return self.fit(frame, dictionary).transform(frame)

    def columns_of(self, variable: str) -> list[str]:
        """Design columns that encode one clinical variable."""
        return [c for c in self.columns_ if self.variable_of_[c] == variable]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state."""
        return {
            "kind": "DesignMatrix",
            "version": 1,
            "variables": list(self.variables_),
            "levels": {k: list(v) for k, v in self.levels_.items()},
            "treatment": self.treatment_,
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> DesignMatrix:
        """Rebuild a fitted encoder from :meth:`to_dict` output."""
        if state.get("kind") != "DesignMatrix":
            raise ValueError("not a DesignMatrix state")
        design = cls()
        design.variables_ = list(state["variables"])
        design.levels_ = {k: list(v) for k, v in state["levels"].items()}
        design.treatment_ = state.get("treatment")
        design._set_columns()
        return design


INTERACTION = "__x__"


def _standardising(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales as ``StandardScaler`` (scale 1 for a constant column)."""
    mean, spread = data.mean(axis=0), data.std(axis=0)
    constant = spread <= 10 * np.finfo(np.float64).eps * np.abs(mean)
    return mean, np.where(constant | (spread == 0), 1.0, spread)


class LinearPreprocessor:
    """Log transforms, median imputation, missing indicators, interactions, standard scaling.

    The numbers of scikit-learn's ``SimpleImputer(median, add_indicator=True)`` followed by
    ``StandardScaler``, computed in numpy and applied as numbers, so the preprocessing
    round-trips through JSON exactly.

    ``log_columns`` are replaced by ``log(max(x, LOG_FLOOR))`` before imputation (right-skewed
    biomarkers such as Ki-67 or the SSTR tumour-to-liver ratio act on the log scale).
    ``interactions`` are (a, b) pairs of input columns: ``a__x__b`` is the product of their
    standardised values, itself standardised, appended after the indicators (how a linear model
    lets e.g. the PRRT effect depend on SSTR uptake). ``weights`` multiply the standardised
    value of named input columns (kept in ``scale_``): a penalised model's penalty on their
    coefficients shrinks by the weight squared (L2) or the weight (L1), glmnet's
    ``penalty.factor`` by another route.

    Attributes (after fit):
        input_columns_: Design columns expected.
        medians_: Median per input column (0 for an all-missing column).
        indicator_columns_: Input columns that had missing values in training (get an indicator).
        interactions_: (a, b) pairs kept (both columns present).
        feature_names_out_: Output columns: inputs, ``<column>__missing`` indicators, then
            ``<a>__x__<b>`` interactions.
        mean_, scale_: Standard-scaling numbers per output column.
    """

    LOG_FLOOR = 1e-3

    def __init__(self, log_columns: Sequence[str] = (),
                 interactions: Sequence[Sequence[str]] = (),
                 weights: Mapping[str, float] | None = None) -> None:
        self.log_columns = tuple(log_columns)
        self.interactions = tuple(tuple(pair) for pair in interactions)
        self.weights = dict(weights or {})

    def _logged(self, data: np.ndarray) -> np.ndarray:
        idx = [self.input_columns_.index(c) for c in self.log_columns_]
        if idx:
            data = data.copy()
            data[:, idx] = np.log(np.maximum(data[:, idx], self.LOG_FLOOR))
        return data

    def _products(self, filled: np.ndarray) -> np.ndarray:
        """Products of the standardised inputs of each interaction pair (before their scaling)."""
        n_in = len(self.input_columns_)
        z = (filled - self.mean_[None, :n_in]) / self.scale_[None, :n_in]
        pos = {c: i for i, c in enumerate(self.input_columns_)}
        cols = [z[:, pos[a]] * z[:, pos[b]] for a, b in self.interactions_]
        return np.column_stack(cols) if cols else np.empty((len(filled), 0))

    def fit(self, X: pd.DataFrame) -> LinearPreprocessor:
        """Learn medians, indicator columns, interactions and scaling on training rows."""
        self.input_columns_ = list(map(str, X.columns))
        present = set(self.input_columns_)
        unknown = [c for c in (*self.log_columns, *(c for p in self.interactions for c in p))
                   if c not in present]
        if unknown:
            logger.info("linear preprocessing: columns absent from the design skipped: %s",
                        sorted(set(unknown)))
        self.log_columns_ = [c for c in self.log_columns if c in present]
        self.interactions_ = [(a, b) for a, b in self.interactions if a in present and b in present]
        data = self._logged(X.to_numpy(dtype=np.float64, na_value=np.nan))
        # SimpleImputer(median, add_indicator, keep_empty_features) + StandardScaler, in numpy
        # (the same numbers; the sklearn objects cost more than the fit on small folds)
        missing = np.isnan(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: median 0
            self.medians_ = np.nan_to_num(np.nanmedian(data, axis=0))
        flagged = np.flatnonzero(missing.any(axis=0))
        self.indicator_columns_ = [self.input_columns_[i] for i in flagged]
        filled = np.where(missing, self.medians_[None, :], data)
        full = np.hstack([filled, missing[:, flagged].astype(np.float64)])
        self.mean_, self.scale_ = _standardising(full)
        if self.interactions_:
            mean, scale = _standardising(self._products(filled))
            self.mean_ = np.concatenate([self.mean_, mean])
            self.scale_ = np.concatenate([self.scale_, scale])
        for column, weight in self.weights.items():  # output = weight x standardised value
            if column in present:
                if not weight > 0:
                    raise ValueError(f"weight of {column!r} must be > 0, got {weight}")
                self.scale_[self.input_columns_.index(column)] /= float(weight)
        self._set_names()
        return self

    def _set_names(self) -> None:
        self.feature_names_out_ = (
            self.input_columns_
            + [f"{c}{SEPARATOR}missing" for c in self.indicator_columns_]
            + [f"{a}{INTERACTION}{b}" for a, b in self.interactions_]
        )

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Logged, imputed, indicator- and interaction-augmented, scaled design (no NaN)."""
        frame = X.loc[:, self.input_columns_]
        data = self._logged(frame.to_numpy(dtype=np.float64, na_value=np.nan))
        missing = np.isnan(data)
        filled = np.where(missing, self.medians_[None, :], data)
        idx = [self.input_columns_.index(c) for c in self.indicator_columns_]
        full = np.hstack([filled, missing[:, idx].astype(np.float64), self._products(filled)])
        scaled = (full - self.mean_[None, :]) / self.scale_[None, :]
        return pd.DataFrame(scaled, index=X.index, columns=list(self.feature_names_out_))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable numbers."""
        return {
            "input_columns": self.input_columns_,
            "medians": self.medians_.tolist(),
            "indicator_columns": self.indicator_columns_,
            "log_columns": list(self.log_columns_),
            "interactions": [list(p) for p in self.interactions_],
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> LinearPreprocessor:
        """Rebuild from :meth:`to_dict` output."""
        prep = cls(state.get("log_columns", ()), state.get("interactions", ()))
        prep.input_columns_ = list(state["input_columns"])
        prep.medians_ = np.asarray(state["medians"], dtype=np.float64)
        prep.indicator_columns_ = list(state["indicator_columns"])
        prep.log_columns_ = list(prep.log_columns)
        prep.interactions_ = [tuple(p) for p in prep.interactions]
        prep.mean_ = np.asarray(state["mean"], dtype=np.float64)
        prep.scale_ = np.asarray(state["scale"], dtype=np.float64)
        prep._set_names()
        return prep


def interaction_parts(column: str) -> tuple[str, str] | None:
    """``(a, b)`` of an interaction column ``a__x__b`` made by :class:`LinearPreprocessor`."""
    a, sep, b = column.partition(INTERACTION)
    return (a, b) if sep else None

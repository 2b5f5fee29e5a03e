"""SHAP values for the outcome models, as plain tables that add up to the model margin.

Every explanation is a :class:`ShapResult`: one row per patient, one column per design column
(or per clinical variable after :func:`group_by_variable`), a base value and the model margin, with
``base_value + values.sum(axis=1) == margin`` (checked by :func:`check_additivity`).

Margins are on the model's own scale: log-odds for response models (``log_odds``), log hazard ratio
for Cox models (``log_hazard``, higher = worse), log survival time for AFT models (``log_time``,
higher = better).

Tree models are explained with exact path-dependent TreeSHAP (Lundberg et al.,
Nat Mach Intell 2020).
xgboost's own ``pred_contribs`` is computed in float32 and misses additivity by up to ~1e-5 on
300-tree models, so the trees are parsed by ``shap.TreeExplainer`` and evaluated by shap's float64
engine; the margin is the float64 sum of the leaves that xgboost itself routes each patient to.
Linear models use the exact closed form ``phi_j = coef_j * (x_j - mean_j)`` (what
``shap.LinearExplainer`` computes for independent features).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shap
import xgboost as xgb

from models.design import interaction_parts

__all__ = [
    "ShapResult",
    "TreeShapExplainer",
    "check_additivity",
    "global_importance",
    "group_by_variable",
    "group_columns",
    "linear_shap",
    "make_tree_explainer",
    "scale_of_objective",
    "survival_effect_of_drivers",
    "tree_shap",
]

logger = logging.getLogger(__name__)

_SCALE_OF_OBJECTIVE = {
    "binary:logistic": "log_odds",
    "reg:logistic": "log_odds",
    "binary:logitraw": "log_odds",
    "survival:cox": "log_hazard",
    "survival:aft": "log_time",
}
# float32 xgboost margin vs float64 leaf sum: anything larger than this means a parsing mismatch
_MARGIN_SANITY_ATOL = 1e-3
_SERIAL_MAX_ROWS = 256  # batches up to this size run xgboost single-threaded


@dataclass(frozen=True)
class ShapResult:
    """SHAP values of a batch of patients on the model's margin scale.

    Attributes:
        values: SHAP values, shape (n_patients, n_features); index = patient rows of the input.
        base_value: Expected margin (the SHAP base value).
        margin: Model margin per patient, shape (n_patients,).
        feature_names: Column names of ``values``, in order.
        scale: Margin scale: ``log_odds``, ``log_hazard``, ``log_time`` or ``None`` if unknown.
    """

    values: pd.DataFrame
    base_value: float
    margin: np.ndarray
    feature_names: tuple[str, ...]
    scale: str | None = None

    def __len__(self) -> int:
        return len(self.values)

    def select_rows(self, rows: Sequence[int] | slice | int) -> ShapResult:
        """Return the result restricted to some rows (positional), e.g. one patient."""
        positions = [rows] if isinstance(rows, (int, np.integer)) else rows
        return ShapResult(
            values=self.values.iloc[positions],
            base_value=self.base_value,
            margin=np.asarray(self.margin)[positions],
            feature_names=self.feature_names,
            scale=self.scale,
        )


def scale_of_objective(objective: str) -> str | None:
    """Map an xgboost objective name to the margin scale it explains (None if not known)."""
    return _SCALE_OF_OBJECTIVE.get(objective)


@dataclass(frozen=True)
class TreeShapExplainer:
    """A parsed xgboost model ready for repeated float64 TreeSHAP calls (see :func:`tree_shap`).

    Attributes:
        booster: The xgboost booster being explained.
        explainer: shap's float64 TreeExplainer over the parsed trees.
        leaf_values: Leaf value per (tree, node), float64, shape (n_trees, max_nodes).
        n_iterations: Boosting rounds used (``best_iteration + 1`` when early stopping was used).
        feature_names: The booster's feature names, in order.
        scale: Margin scale derived from the objective.
        base_offset: Margin offset (xgboost base score on the margin scale).
        serial_booster: A copy of ``booster`` set to one thread, for small batches (OpenMP
            start-up dominates single-patient calls, worse on a busy machine).
    """

    booster: xgb.Booster
    explainer: shap.TreeExplainer
    leaf_values: np.ndarray
    n_iterations: int
    feature_names: tuple[str, ...]
    scale: str | None
    base_offset: float
    serial_booster: xgb.Booster


def _as_booster(model: xgb.Booster | xgb.XGBModel) -> xgb.Booster:
    if isinstance(model, xgb.Booster):
        return model
    if hasattr(model, "get_booster"):
        return model.get_booster()
    raise TypeError(f"expected an xgboost Booster or sklearn wrapper, got {type(model).__name__}")


def _objective_of(booster: xgb.Booster) -> str:
    config = json.loads(booster.save_config())
    return str(config["learner"]["objective"]["name"])


def _default_iterations(model: xgb.Booster | xgb.XGBModel, booster: xgb.Booster) -> int:
    """Rounds the object's own ``predict`` uses: all for a Booster, best for a sklearn wrapper."""
    if isinstance(model, xgb.Booster):
        return booster.num_boosted_rounds()
    try:
        return int(model.best_iteration) + 1
    except AttributeError:  # no early stopping
        return booster.num_boosted_rounds()


def make_tree_explainer(
    model: xgb.Booster | xgb.XGBModel, *, n_iterations: int | None = None
) -> TreeShapExplainer:
    """Parse an xgboost model once for fast repeated SHAP calls.

    Args:
        model: ``xgboost.Booster`` or an xgboost sklearn wrapper (``XGBClassifier``, ...).
        n_iterations: Boosting rounds to explain. Default: what the object's ``predict`` uses,
            i.e. every round for a ``Booster`` (even after early stopping) and
            ``best_iteration + 1`` for a sklearn wrapper fitted with early stopping.

    Returns:
        A :class:`TreeShapExplainer` to pass to :func:`tree_shap`.

    Raises:
        ValueError: For multi-output models or categorical splits (not supported here).
    """
    booster = _as_booster(model)
    parsed = shap.TreeExplainer(booster).model  # exact tree_path_dependent parse
    if parsed.num_stacked_models != 1 or parsed.num_outputs != 1:
        raise ValueError("only single-output xgboost models are supported")
    if parsed.cat_feature_indices is not None:
        raise ValueError("categorical splits are not supported; one-hot encode instead")
    rounds = _default_iterations(model, booster) if n_iterations is None else int(n_iterations)
    if not 1 <= rounds <= booster.num_boosted_rounds():
        raise ValueError(f"n_iterations must be in 1..{booster.num_boosted_rounds()}, got {rounds}")
    trees = parsed.trees[:rounds]
    base_offset = float(np.asarray(parsed.base_offset, dtype=np.float64).ravel()[0])
    spec = {
        "trees": [
            {
                "children_left": t.children_left,
                "children_right": t.children_right,
                "children_default": t.children_default,
                "features": t.features,
                "thresholds": np.asarray(t.thresholds, dtype=np.float64),
                "values": np.asarray(t.values, dtype=np.float64),
                "node_sample_weight": np.asarray(t.node_sample_weight, dtype=np.float64),
            }
            for t in trees
        ],
        "base_offset": base_offset,
        "input_dtype": np.float32,  # xgboost compares float32 inputs
        "internal_dtype": np.float64,
        "tree_output": "raw_value",
    }
    explainer = shap.TreeExplainer(spec)
    max_nodes = max(len(t.values) for t in trees)
    leaf_values = np.zeros((len(trees), max_nodes), dtype=np.float64)
    for i, t in enumerate(trees):  # loop over trees (not patients), once per model
        leaf_values[i, : len(t.values)] = np.asarray(t.values, dtype=np.float64)[:, 0]
    names = tuple(booster.feature_names or (f"f{i}" for i in range(booster.num_features())))
    serial = booster.copy()  # the caller's booster is left untouched
    serial.set_param({"nthread": 1})
    return TreeShapExplainer(
        booster=booster,
        explainer=explainer,
        leaf_values=leaf_values,
        n_iterations=len(trees),
        feature_names=names,
        scale=scale_of_objective(_objective_of(booster)),
        base_offset=base_offset,
        serial_booster=serial,
    )


def _align_columns(X: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a pandas DataFrame with the model's feature columns")
    if names and all(n.startswith("f") and n[1:].isdigit() for n in names):
        if X.shape[1] != len(names):
            raise ValueError(f"X has {X.shape[1]} columns, the model expects {len(names)}")
        return X
    missing = [n for n in names if n not in X.columns]
    if missing:
        raise ValueError(f"X lacks model feature columns: {missing[:10]}")
    return X.loc[:, list(names)]


def tree_shap(model: xgb.Booster | xgb.XGBModel | TreeShapExplainer, X: pd.DataFrame) -> ShapResult:
    """Exact TreeSHAP (path-dependent) of an xgboost model, in float64.

    Args:
        model: Booster, xgboost sklearn wrapper, or a prepared :func:`make_tree_explainer`
            (prepare once when explaining single patients repeatedly).
        X: Design matrix with the model's feature columns; NaN = missing (xgboost default branch).

    Returns:
        ShapResult on the margin scale (log-odds, log hazard ratio or log time).

    Raises:
        ValueError: If columns are missing or the float64 margin disagrees with xgboost's own.
    """
    prepared = model if isinstance(model, TreeShapExplainer) else make_tree_explainer(model)
    frame = _align_columns(X, prepared.feature_names)
    data = frame.to_numpy(dtype=np.float32, na_value=np.nan)
    phi = prepared.explainer.shap_values(data, check_additivity=False)
    base_value = float(np.asarray(prepared.explainer.expected_value, dtype=np.float64).ravel()[0])
    small = len(frame) <= _SERIAL_MAX_ROWS
    booster = prepared.serial_booster if small else prepared.booster
    dmatrix = xgb.DMatrix(data, nthread=1 if small else None)  # positional: columns aligned
    iteration_range = (0, prepared.n_iterations)
    leaves = booster.predict(
        dmatrix, pred_leaf=True, iteration_range=iteration_range, validate_features=False
    ).astype(np.int64)
    leaves = leaves.reshape(len(frame), -1)
    tree_index = np.arange(prepared.leaf_values.shape[0])[None, :]
    margin = prepared.base_offset + prepared.leaf_values[tree_index, leaves].sum(axis=1)
    margin32 = booster.predict(
        dmatrix, output_margin=True, iteration_range=iteration_range, validate_features=False
    )
    gap = float(np.max(np.abs(margin - margin32), initial=0.0))
    if gap > _MARGIN_SANITY_ATOL:
        raise ValueError(
            f"float64 margin differs from xgboost's by {gap:.2e}; model parse mismatch"
        )
    logger.debug("TreeSHAP for %d rows; float32/float64 margin gap %.1e", len(frame), gap)
    values = pd.DataFrame(
        np.asarray(phi, dtype=np.float64), index=frame.index, columns=frame.columns
    )
    return ShapResult(values, base_value, margin, tuple(frame.columns), prepared.scale)


def linear_shap(
    coef: np.ndarray,
    intercept: float,
    X_transformed: pd.DataFrame,
    background_mean: np.ndarray,
    *,
    scale: str | None = None,
) -> ShapResult:
    """Exact SHAP values of a linear margin ``intercept + X @ coef`` (independent features).

    Args:
        coef: Coefficients, shape (p,), in the order of ``X_transformed`` columns.
        intercept: Intercept (0 for Cox models).
        X_transformed: The design after the model's own preprocessing (imputed, indicators,
            scaled), shape (n, p), no NaN.
        background_mean: Mean of each transformed column on the training data, shape (p,)
            (0 for standard-scaled columns).
        scale: Margin scale (``log_odds``, ``log_hazard``, ``log_time``).

    Returns:
        ShapResult with ``phi_j = coef_j (x_j - mean_j)`` and base ``intercept + coef @ mean``.

    Raises:
        ValueError: On shape mismatch or missing values.
    """
    beta = np.asarray(coef, dtype=np.float64).ravel()
    mean = np.asarray(background_mean, dtype=np.float64).ravel()
    data = X_transformed.to_numpy(dtype=np.float64, na_value=np.nan)
    if data.shape[1] != beta.size or mean.size != beta.size:
        raise ValueError(
            f"shapes disagree: X has {data.shape[1]} columns, coef {beta.size}, mean {mean.size}"
        )
    if np.isnan(data).any():
        raise ValueError("X_transformed contains NaN; pass the imputed design")
    values = pd.DataFrame(
        (data - mean) * beta, index=X_transformed.index, columns=X_transformed.columns
    )
    base_value = float(intercept) + float(beta @ mean)
    margin = float(intercept) + data @ beta
    return ShapResult(values, base_value, margin, tuple(map(str, X_transformed.columns)), scale)


def check_additivity(result: ShapResult, atol: float = 1e-6) -> float:
    """Check ``base_value + sum(SHAP) == margin`` for every patient.

    Returns:
        The largest absolute gap.

    Raises:
        ValueError: If the gap exceeds ``atol``.
    """
    total = result.base_value + result.values.to_numpy(dtype=np.float64).sum(axis=1)
    gap = float(np.max(np.abs(total - np.asarray(result.margin, dtype=np.float64)), initial=0.0))
    if not np.isfinite(gap) or gap > atol:
        raise ValueError(f"SHAP values do not add up to the margin: max gap {gap:.3e} > {atol:g}")
    return gap


def group_by_variable(result: ShapResult, variable_of: Mapping[str, str]) -> ShapResult:
    """Sum design columns into clinical variables (one-hot and missing-indicator columns).

    Args:
        result: Column-level SHAP values.
        variable_of: Design column -> clinical variable; unmapped columns keep their own name.

    Returns:
        ShapResult with one column per variable, in order of first appearance; additivity is kept.
    """
    grouped = group_columns(result.values, variable_of)
    order = tuple(grouped.columns)
    return ShapResult(grouped, result.base_value, result.margin, order, result.scale)


def group_columns(values: pd.DataFrame, variable_of: Mapping[str, str]) -> pd.DataFrame:
    """Sum SHAP columns per clinical variable; an interaction ``a__x__b`` is shared equally.

    The Shapley interaction index splits a pairwise term evenly between its two players, so
    half of an interaction column's value goes to the variable of ``a`` and half to that of
    ``b`` (additivity is kept). Columns absent from ``variable_of`` keep their own name.
    """
    parts: list[tuple[str, np.ndarray]] = []
    for column in values.columns:
        v = values[column].to_numpy(dtype=np.float64)
        pair = interaction_parts(str(column)) if column not in variable_of else None
        if pair is None:
            parts.append((variable_of.get(column, column), v))
        else:
            parts += [(variable_of.get(side, side), 0.5 * v) for side in pair]
    order = list(dict.fromkeys(name for name, _ in parts))
    sums = {name: np.zeros(len(values)) for name in order}
    for name, v in parts:
        sums[name] = sums[name] + v
    return pd.DataFrame(sums, index=values.index, columns=pd.Index(order))


def global_importance(result: ShapResult) -> pd.DataFrame:
    """Mean |SHAP| per column (variable), largest first.

    Returns:
        DataFrame with columns ``variable``, ``mean_abs_shap``, ``mean_shap``, ``share``
        (fraction of the total mean |SHAP|).
    """
    values = result.values.to_numpy(dtype=np.float64)
    mean_abs = np.abs(values).mean(axis=0) if len(values) else np.zeros(values.shape[1])
    mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
    total = mean_abs.sum()
    table = pd.DataFrame(
        {
            "variable": list(result.values.columns),
            "mean_abs_shap": mean_abs,
            "mean_shap": mean,
            "share": mean_abs / total if total > 0 else np.zeros_like(mean_abs),
        }
    )
    table = table.sort_values("mean_abs_shap", ascending=False, kind="stable")
    return table.reset_index(drop=True)


def survival_effect_of_drivers(
    predict_survival_from_margin: Callable[[np.ndarray, Sequence[float]], np.ndarray],
    margin: float,
    result_row: ShapResult | pd.Series,
    horizons: Sequence[float] = (12, 24),
    top_k: int = 5,
) -> pd.DataFrame:
    """Effect of a patient's top drivers on the predicted survival probability.

    For each of the ``top_k`` largest |SHAP| variables, the survival probability at each horizon
    is predicted with the full margin and with the margin minus that driver's contribution.

    Args:
        predict_survival_from_margin: ``f(margins (m,), horizons) -> S(t)`` of shape
            (m, len(horizons)), e.g. ``S0(t) ** exp(margin)`` for a Cox model.
        margin: The patient's margin.
        result_row: One patient's SHAP values (one-row ShapResult or a Series by variable).
        horizons: Horizons in months.
        top_k: Number of drivers.

    Returns:
        One row per driver: ``variable``, ``shap``, then per horizon ``h``:
        ``surv_<h>_with``, ``surv_<h>_without``, ``effect_<h>`` (= with - without; negative when
        the driver lowers the predicted survival probability).
    """
    if isinstance(result_row, ShapResult):
        if len(result_row) != 1:
            raise ValueError(f"expected one patient, got {len(result_row)} rows")
        row = result_row.values.iloc[0]
    else:
        row = result_row
    row = row.astype(np.float64)
    top = row.reindex(row.abs().sort_values(ascending=False, kind="stable").index[:top_k])
    margins = np.concatenate([[float(margin)], float(margin) - top.to_numpy()])
    surv = np.asarray(predict_survival_from_margin(margins, tuple(horizons)), dtype=np.float64)
    if surv.shape != (len(margins), len(horizons)):
        raise ValueError(f"survival predictor returned shape {surv.shape}")
    table = pd.DataFrame({"variable": list(top.index), "shap": top.to_numpy()})
    for j, h in enumerate(horizons):
        name = f"{h:g}"
        table[f"surv_{name}_with"] = surv[0, j]
        table[f"surv_{name}_without"] = surv[1:, j]
        table[f"effect_{name}"] = surv[0, j] - surv[1:, j]
    return table

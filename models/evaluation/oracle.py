"""Oracle comparison on synthetic data: model metric / metric of the true linear predictor.

The simulator writes each patient's true linear predictor (``data/truth/``); on the same test
patients the oracle C-index (or AUC) is the best any model could reach given the noise, so
``oracle_ratio`` in (0, ~1] measures how much of the learnable signal the model captured.
"""

from __future__ import annotations

import numpy as np

from models.evaluation._checks import _check_score
from models.evaluation.discrimination import harrell_c, roc_auc

__all__ = ["oracle_auc", "oracle_c_index", "oracle_comparison", "oracle_ratio"]


def oracle_ratio(model_metric: float, oracle_metric: float) -> float:
    """Ratio ``model_metric / oracle_metric``.

    Args:
        model_metric: metric of the model (e.g. C-index) on the test patients.
        oracle_metric: same metric of the true linear predictor on the same patients.

    Returns:
        The ratio (1 = as good as the truth).
    """
    for name, value in (("model_metric", model_metric), ("oracle_metric", oracle_metric)):
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if oracle_metric <= 0:
        raise ValueError(f"oracle_metric must be > 0, got {oracle_metric!r}")
    return float(model_metric) / float(oracle_metric)


def oracle_c_index(y_test: np.ndarray, true_lp) -> float:
    """Harrell's C of the true linear predictor (higher = higher hazard).

    Args:
        y_test: survival array of the test patients.
        true_lp: true log-hazard linear predictor, shape ``(n_test,)``.

    Returns:
        Oracle C-index.
    """
    return harrell_c(y_test, _check_score(true_lp, len(y_test), "true_lp"))


def oracle_auc(y_test, true_lp) -> float:
    """ROC AUC of the true linear predictor (logit of response probability).

    Args:
        y_test: 0/1 response of the test patients.
        true_lp: true linear predictor, shape ``(n_test,)``.

    Returns:
        Oracle AUC.
    """
    return roc_auc(y_test, _check_score(true_lp, len(y_test), "true_lp"))


def oracle_comparison(y_test, model_score, true_lp) -> dict[str, float]:
    """Model metric, oracle metric and their ratio on the same test patients.

    Uses Harrell's C for a survival array and ROC AUC for a 0/1 outcome.

    Args:
        y_test: survival array or 0/1 outcome.
        model_score: model risk score / probability, shape ``(n_test,)``.
        true_lp: true linear predictor, shape ``(n_test,)``.

    Returns:
        ``{"model", "oracle", "ratio"}``.
    """
    survival = getattr(np.asarray(y_test), "dtype", None) is not None and (
        np.asarray(y_test).dtype.names is not None
    )
    metric = harrell_c if survival else roc_auc
    model = metric(y_test, model_score)
    oracle = metric(y_test, _check_score(true_lp, len(y_test), "true_lp"))
    return {"model": model, "oracle": oracle, "ratio": oracle_ratio(model, oracle)}

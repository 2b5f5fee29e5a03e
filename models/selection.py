"""Model choice by validation: cross-validated scores of candidate models on the training rows.

No model family is assumed best: small cohorts often favour the penalised Cox. Candidates are
scored on the same folds; the highest mean wins, and with ``one_se=True`` the first-listed
candidate whose mean is within one standard error of the best wins (list simpler models first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.tuning import Scorer, _folds, _subset

__all__ = ["select_model"]

logger = logging.getLogger(__name__)


def select_model(candidates: Mapping[str, Callable[[], Any]], X: pd.DataFrame, y: Any, *,
                 scorer: Scorer, cv_splits: int | Iterable | Any, seed: int,
                 one_se: bool = False) -> dict[str, Any]:
    """Score each candidate by cross-validation on the same folds and pick one.

    Args:
        candidates: Name -> factory returning an unfitted estimator (in order of preference).
        X: Design of the training rows.
        y: Outcome (0/1 response or ``make_surv`` array).
        scorer: ``scorer(fitted, X_val, y_val) -> float``, higher is better.
        cv_splits: Number of stratified folds, a splitter, or (train, val) index pairs.
        seed: Seed of the default fold split.
        one_se: Prefer the first candidate within one standard error of the best mean.

    Returns:
        ``{"selected": name, "scores": {name: {"mean", "se", "folds": [...]}}}``.
    """
    if not candidates:
        raise ValueError("no candidate models")
    folds = _folds(cv_splits, y, seed)
    scores: dict[str, dict[str, Any]] = {}
    for name, factory in candidates.items():  # loop over candidate models
        fold_scores = [
            float(scorer(factory().fit(X.iloc[a], _subset(y, a)), X.iloc[b], _subset(y, b)))
            for a, b in folds
        ]
        arr = np.asarray(fold_scores)
        se = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else 0.0
        scores[name] = {"mean": float(arr.mean()), "se": se, "folds": fold_scores}
    best = max(scores, key=lambda k: scores[k]["mean"])
    selected = best
    if one_se:
        bar = scores[best]["mean"] - scores[best]["se"]
        selected = next(k for k in scores if scores[k]["mean"] >= bar)
    logger.info("selected model %s (mean score %.4f)", selected, scores[selected]["mean"])
    return {"selected": selected, "scores": scores}

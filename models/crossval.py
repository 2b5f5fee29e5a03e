"""Nested cross-validation: model choice and honest performance on one set of outer folds.

For every outer training fold and every candidate model, the design matrix is fitted, a bounded
hyper-parameter search runs on an inner split of the training rows only, the tuned model is fitted
on the whole training fold and scores the held-out fold. The out-of-fold predictions of every
candidate are returned, so model choice and performance estimates use the same folds and no test
row ever informs a fitted quantity. Deterministic given the seed; runs folds in parallel
processes when ``n_jobs > 1`` (results do not depend on ``n_jobs``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit

from models.counterfactual import predict_what_if
from models.design import DesignMatrix
from models.evaluation import harrell_c, roc_auc
from models.tuning import tune

__all__ = ["Candidate", "CVResult", "TuningConfig", "cross_validate", "fit_candidate", "score",
           "select"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """One model family with its fixed parameters and search space.

    Attributes:
        name: Short name (``xgb_cox``, ``penalised_cox`` ...).
        factory: Estimator class (called with keyword parameters).
        params: Fixed parameters.
        space: Search space (see :mod:`models.tuning`); empty for no search.
        tuning_overrides: Parameters used only while searching (e.g. no calibration refits).
        inner_folds: Inner folds of the search for this family (None: the tuning default). Cheap
            linear models afford k-fold scoring, which steadies the choice of their penalty.
        n_trials: Search trials for this family (None: the tuning default); boosted models,
            whose fits cost 20x a linear one, get fewer.
    """

    name: str
    factory: Callable[..., Any]
    params: Mapping[str, Any] = field(default_factory=dict)
    space: Mapping[str, Any] = field(default_factory=dict)
    tuning_overrides: Mapping[str, Any] = field(default_factory=dict)
    inner_folds: int | None = None
    n_trials: int | None = None


@dataclass(frozen=True)
class TuningConfig:
    """Budget of the inner search: trials, wall-clock cap, inner validation share or folds."""

    n_trials: int = 6
    timeout_s: float | None = 60.0
    validation_fraction: float = 0.25
    inner_folds: int = 1  # 1 = one stratified hold-out split of validation_fraction


@dataclass
class CVResult:
    """Out-of-fold predictions and fold scores of every candidate."""

    predictions: pd.DataFrame  # candidate, repeat, fold, row, score (+ p / surv_<h>)
    fold_scores: pd.DataFrame  # candidate, repeat, fold, score
    tuned: dict[str, list[dict[str, Any]]]  # candidate -> tuned params per outer fold
    #: Out-of-fold what-if of the first repeat: every test row scored under every candidate
    #: therapy by the fold's model (candidate, fold, row, therapy, eligible, predictions...).
    what_if: pd.DataFrame | None = None


def score(kind: str, model: Any, X: pd.DataFrame, y: Any) -> float:
    """Selection metric: AUC for a binary endpoint, Harrell's C for survival."""
    if kind == "binary":
        return roc_auc(np.asarray(y, dtype=float), model.predict_proba(X))
    return harrell_c(y, model.predict_risk(X))


def _strata(y: Any) -> np.ndarray:
    if isinstance(y, np.ndarray) and y.dtype.names:
        return y[y.dtype.names[0]].astype(int)
    return np.asarray(y, dtype=float).astype(int)


def _subset(y: Any, rows: np.ndarray) -> Any:
    return y[rows] if isinstance(y, np.ndarray) else np.asarray(y)[rows]


def fit_candidate(
    candidate: Candidate,
    kind: str,
    X: pd.DataFrame,
    y: Any,
    *,
    tuning: TuningConfig | None,
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Tune on an inner split of (X, y), then fit the tuned model on all of (X, y).

    Returns:
        The fitted estimator and the parameters it was fitted with.
    """
    params = dict(candidate.params)
    n_trials = 0 if tuning is None else (
        tuning.n_trials if candidate.n_trials is None else candidate.n_trials)
    if candidate.space and n_trials > 0:
        k = candidate.inner_folds or tuning.inner_folds
        inner = (
            StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            if k > 1
            else StratifiedShuffleSplit(
                n_splits=1, test_size=tuning.validation_fraction, random_state=seed
            )
        )
        split = list(inner.split(np.zeros(len(X)), _strata(y)))
        fixed = {**params, **candidate.tuning_overrides}

        def factory(**suggested: Any) -> Any:
            return candidate.factory(**{**fixed, **suggested})

        result = tune(
            factory,
            candidate.space,
            X,
            y,
            scorer=lambda m, Xv, yv: score(kind, m, Xv, yv),
            n_trials=n_trials,
            timeout_s=tuning.timeout_s,
            cv_splits=split,
            seed=seed,
        )
        params.update(result["best_params"])
    model = candidate.factory(**params).fit(X, y)
    return model, params


def _predict(kind: str, model: Any, X: pd.DataFrame, horizons: Sequence[float]) -> dict:
    if kind == "binary":
        p = model.predict_proba(X)
        return {"score": p, "p": p}
    out = {"score": model.predict_risk(X)}
    surv = model.predict_survival(X, list(horizons))
    out.update({f"surv_{h:g}": surv[:, j] for j, h in enumerate(horizons)})
    return out


def _run_fold(
    task: tuple[int, int, np.ndarray, np.ndarray],
    candidate: Candidate,
    kind: str,
    frame: pd.DataFrame,
    dictionary: Mapping[str, Any],
    y: Any,
    horizons: Sequence[float],
    tuning: TuningConfig,
    seed: int,
    therapies: Sequence[str] = (),
) -> tuple[pd.DataFrame, float, dict[str, Any], pd.DataFrame | None]:
    split_no, repeat, train, test = task
    design = DesignMatrix().fit(frame.iloc[train], dictionary)
    X_train = design.transform(frame.iloc[train])
    X_test = design.transform(frame.iloc[test])
    model, params = fit_candidate(
        candidate, kind, X_train, _subset(y, train), tuning=tuning, seed=seed + split_no
    )
    preds = pd.DataFrame(_predict(kind, model, X_test, horizons))
    preds.insert(0, "row", test)
    preds.insert(0, "fold", split_no)
    preds.insert(0, "repeat", repeat)
    preds.insert(0, "candidate", candidate.name)
    what_if = None
    known = design.levels_.get(design.treatment_, []) if design.treatment_ else []
    therapies = [t for t in therapies if t in known]  # a fold may lack a rare therapy
    if therapies and repeat == 0:
        what_if = predict_what_if(model, design, frame.iloc[test], therapies, horizons=horizons)
        what_if["row"] = test[what_if["row"].to_numpy()]
        what_if.insert(0, "fold", split_no)
        what_if.insert(0, "candidate", candidate.name)
        what_if = what_if.drop(columns=["propensity", "positivity_note"])
    return preds, score(kind, model, X_test, _subset(y, test)), params, what_if


def cross_validate(
    candidates: Sequence[Candidate],
    frame: pd.DataFrame,
    dictionary: Mapping[str, Any],
    y: Any,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    kind: str,
    n_splits: int,
    horizons: Sequence[float] = (12.0, 24.0, 36.0),
    tuning: TuningConfig | None = None,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    therapies: Sequence[str] = (),
) -> CVResult:
    """Nested CV of every candidate on the same outer ``splits``.

    Args:
        candidates: Model families to compare.
        frame: Cohort rows (model inputs named by ``dictionary``).
        dictionary: Feature dictionary (roles and dtypes decide the design).
        y: 0/1 response (``kind="binary"``) or a ``make_surv`` array (``kind="survival"``).
        splits: Outer (train, test) index pairs, repeat-major.
        n_splits: Folds per repeat (to number repeats).
        horizons: Months at which survival probabilities are predicted.
        tuning: Inner search budget.
        seed: Base seed (fold ``k`` tunes with ``seed + k``).
        n_jobs: Parallel worker processes.
        progress: Called with the number of finished fits (for a progress bar).
        therapies: Candidate therapies of the out-of-fold what-if (first repeat); empty = none.
    """
    if kind not in ("binary", "survival"):
        raise ValueError(f"kind must be 'binary' or 'survival', got {kind!r}")
    tuning = tuning or TuningConfig()
    tasks = [(k, k // n_splits, np.asarray(tr), np.asarray(te))
             for k, (tr, te) in enumerate(splits)]
    jobs = [(c, t) for c in candidates for t in tasks]
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    outputs = []
    for out in runner(
        delayed(_run_fold)(t, c, kind, frame, dictionary, y, horizons, tuning, seed, therapies)
        for c, t in jobs
    ):
        outputs.append(out)
        if progress is not None:
            progress(1)
    predictions = pd.concat([o[0] for o in outputs], ignore_index=True)
    fold_scores = pd.DataFrame(
        [
            {"candidate": c.name, "repeat": t[1], "fold": t[0], "score": o[1]}
            for (c, t), o in zip(jobs, outputs, strict=True)
        ]
    )
    tuned: dict[str, list[dict[str, Any]]] = {}
    for (c, _), o in zip(jobs, outputs, strict=True):
        tuned.setdefault(c.name, []).append(o[2])
    what_if = [o[3] for o in outputs if o[3] is not None]
    return CVResult(predictions=predictions, fold_scores=fold_scores, tuned=tuned,
                    what_if=pd.concat(what_if, ignore_index=True) if what_if else None)


def select(fold_scores: pd.DataFrame, order: Sequence[str], *, one_se: bool = False) -> str:
    """Pick the candidate with the best mean fold score (ties: first in ``order``).

    With ``one_se`` the first candidate in ``order`` whose mean is within one standard error of
    the best is chosen (list simpler models first).
    """
    stats = fold_scores.groupby("candidate")["score"].agg(["mean", "std", "count"])
    stats = stats.reindex([c for c in order if c in stats.index])
    best = stats["mean"].idxmax()
    if not one_se:
        return str(best)
    se = stats.loc[best, "std"] / np.sqrt(stats.loc[best, "count"])
    return str(next(c for c in stats.index if stats.loc[c, "mean"] >= stats.loc[best, "mean"] - se))

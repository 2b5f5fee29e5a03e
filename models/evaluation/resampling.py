"""Repeated stratified k-fold splits for model selection and performance estimation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from models.evaluation._checks import _as_rng, _check_positive_int

__all__ = ["repeated_stratified_kfold", "stratification_labels"]


def stratification_labels(y_strat: np.ndarray | Sequence) -> np.ndarray:
    """Labels to stratify on: the event indicator of a survival array, else the values.

    Args:
        y_strat: structured survival array ``(event, time)`` or a 1-d binary/categorical array.

    Returns:
        1-d integer-coded labels, shape ``(n_samples,)``.
    """
    arr = np.asarray(y_strat)
    if arr.dtype.names is not None:
        arr = np.asarray(arr[arr.dtype.names[0]])
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"y_strat must be a non-empty 1-d array, got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"y_strat contains {int(np.isnan(arr).sum())} missing values")
    return np.unique(arr, return_inverse=True)[1]


def repeated_stratified_kfold(
    y_strat: np.ndarray | Sequence,
    n_splits: int = 5,
    n_repeats: int = 3,
    seed: int | np.random.Generator = 0,
    groups: np.ndarray | Sequence | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Repeated stratified k-fold (optionally grouped) train/test indices.

    Each repeat reshuffles with its own seed drawn from ``seed``. Stratification is on the
    event indicator (survival) or the response (binary). With ``groups`` (e.g. patient ids,
    when a patient has several treatment lines) ``StratifiedGroupKFold`` keeps every group
    entirely in train or in test; when every group is a single row, plain ``StratifiedKFold``
    (the same guarantee, much faster) is used.

    Args:
        y_strat: survival structured array or 1-d labels, shape ``(n_samples,)``.
        n_splits: folds per repeat (>= 2).
        n_repeats: number of repeats (>= 1).
        seed: int seed or ``numpy.random.Generator``.
        groups: optional group labels, shape ``(n_samples,)``.

    Returns:
        ``n_splits * n_repeats`` pairs ``(train_idx, test_idx)``, repeat-major.
    """
    labels = stratification_labels(y_strat)
    n_splits = _check_positive_int(n_splits, "n_splits", minimum=2)
    n_repeats = _check_positive_int(n_repeats, "n_repeats")
    if n_splits > labels.size:
        raise ValueError(f"n_splits={n_splits} exceeds the number of samples ({labels.size})")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != labels.shape:
            raise ValueError(f"groups has shape {groups.shape}, expected {labels.shape}")
        if np.unique(groups).size < n_splits:
            raise ValueError(
                f"only {np.unique(groups).size} distinct groups for n_splits={n_splits}"
            )
    if groups is not None and np.unique(groups).size == labels.size:
        groups = None  # one row per group: plain stratified folds keep groups whole (and
        # StratifiedGroupKFold's per-group loop costs seconds at 1,000 rows, minutes at 100k)
    rng = _as_rng(seed)
    repeat_seeds = rng.integers(0, 2**31 - 1, size=n_repeats)
    x_dummy = np.zeros((labels.size, 1))
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    for repeat_seed in repeat_seeds:
        if groups is None:
            splitter = StratifiedKFold(n_splits, shuffle=True, random_state=int(repeat_seed))
        else:
            splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=int(repeat_seed))
        folds.extend(
            (train.astype(np.intp), test.astype(np.intp))
            for train, test in splitter.split(x_dummy, labels, groups)
        )
    return folds

"""Repeated stratified (group) k-fold invariants."""

from __future__ import annotations

import numpy as np
import pytest
from evaluation_sim import simulate_survival

from models.evaluation import repeated_stratified_kfold


def _check_partition(folds, n, n_splits, n_repeats):
    assert len(folds) == n_splits * n_repeats
    counts = np.zeros(n, int)
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0
        assert train.size + test.size == n
        counts[test] += 1
    assert (counts == n_repeats).all()


def test_folds_disjoint_cover_and_stratify():
    y, _ = simulate_survival(503, seed=0)
    folds = repeated_stratified_kfold(y, n_splits=5, n_repeats=3, seed=0)
    _check_partition(folds, 503, 5, 3)
    rate = y["event"].mean()
    for _, test in folds:
        assert abs(y["event"][test].mean() - rate) <= 0.05
    # repeats differ, same seed reproduces
    assert not np.array_equal(folds[0][1], folds[5][1])
    again = repeated_stratified_kfold(y, 5, 3, seed=0)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_groups_never_split():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 150, size=400)
    response = (rng.uniform(size=400) < 0.3).astype(int)
    folds = repeated_stratified_kfold(response, 5, 2, seed=3, groups=groups)
    _check_partition(folds, 400, 5, 2)
    for train, test in folds:
        assert np.intersect1d(groups[train], groups[test]).size == 0
        assert abs(response[test].mean() - response.mean()) <= 0.08


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_splits": 1}, "n_splits must be an integer >= 2"),
        ({"n_splits": 50}, "exceeds the number of samples"),
        ({"groups": np.arange(3)}, "groups has shape"),
        ({"seed": -1}, "seed must be"),
    ],
    ids=["one_split", "too_many", "groups_shape", "seed"],
)
def test_resampling_failures(kwargs, match):
    with pytest.raises(ValueError, match=match):
        repeated_stratified_kfold(np.array([0, 1] * 10), **kwargs)

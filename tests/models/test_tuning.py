"""Tuning is bounded, deterministic given the seed, and stays inside the rows it is given."""

import numpy as np
import pytest

from models.response import LogisticResponseClassifier
from models.selection import select_model
from models.survival import PenalisedCoxSurvival, XGBCoxSurvival
from models.tuning import DEFAULT_PENALISED_COX_SPACE, score_auc, score_harrell_c, tune

SPACE = {**DEFAULT_PENALISED_COX_SPACE, "method": "coxnet"}


def _tune_cox(split, seed, n_trials=4):
    return tune(PenalisedCoxSurvival, SPACE, split.X_train, split.y_train,
                scorer=score_harrell_c, n_trials=n_trials, timeout_s=60, cv_splits=3, seed=seed)


def test_tune_is_deterministic_and_bounded(split):
    first, second = _tune_cox(split, seed=5), _tune_cox(split, seed=5)
    assert first == second
    assert first["n_trials"] == len(first["trials"]) == 4
    assert first["best_params"]["method"] == "coxnet"
    assert 1e-3 <= first["best_params"]["alpha"] <= 1.0
    assert first["best_score"] == max(t["score"] for t in first["trials"])
    assert 0.6 < first["best_score"] < 0.9
    other = _tune_cox(split, seed=6)
    assert other["trials"][0]["params"] != first["trials"][0]["params"]


def test_tune_uses_only_given_rows_and_explicit_folds(split):
    rows = np.arange(200)
    folds = [(rows[:150], rows[150:]), (rows[50:], rows[:50])]
    seen = []

    def factory(**params):
        model = LogisticResponseClassifier(**params)
        original = model.fit

        def fit(X, y):
            seen.append(len(X))
            return original(X, y)

        model.fit = fit
        return model

    known = split.train["response"].notna().to_numpy()
    X, y = split.X_train[known].iloc[:200], split.train["response"].to_numpy()[known][:200]
    result = tune(factory, {"C": {"type": "float", "low": 0.01, "high": 10, "log": True}}, X, y,
                  scorer=score_auc, n_trials=3, timeout_s=None, cv_splits=folds, seed=0)
    assert result["n_trials"] == 3
    assert seen == [150, 150] * 3


def test_tune_rejects_bad_space(split):
    with pytest.raises(ValueError, match="type"):
        tune(PenalisedCoxSurvival, {"alpha": {"type": "uniform", "low": 0, "high": 1}},
             split.X_train, split.y_train, scorer=score_harrell_c, n_trials=1, timeout_s=10,
             cv_splits=2, seed=0)
    with pytest.raises(ValueError, match="n_trials"):
        _tune_cox(split, seed=0, n_trials=0)


def test_select_model_scores_candidates_on_same_folds(split):
    candidates = {
        "penalised_cox": lambda: PenalisedCoxSurvival(),
        "xgb_cox": lambda: XGBCoxSurvival(n_estimators=80, learning_rate=0.1),
    }
    result = select_model(candidates, split.X_train, split.y_train, scorer=score_harrell_c,
                          cv_splits=3, seed=0)
    again = select_model(candidates, split.X_train, split.y_train, scorer=score_harrell_c,
                         cv_splits=3, seed=0)
    assert result == again
    assert result["selected"] in candidates
    best = max(result["scores"], key=lambda k: result["scores"][k]["mean"])
    assert result["selected"] == best
    assert all(len(s["folds"]) == 3 and s["mean"] > 0.65 for s in result["scores"].values())
    lenient = select_model(candidates, split.X_train, split.y_train, scorer=score_harrell_c,
                           cv_splits=3, seed=0, one_se=True)
    bar = result["scores"][best]["mean"] - result["scores"][best]["se"]
    assert result["scores"][lenient["selected"]]["mean"] >= bar

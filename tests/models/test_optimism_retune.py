"""The small-cohort bootstrap of ``evaluate`` repeats every modelling step, tuning included."""

from __future__ import annotations

import numpy as np
import pytest

import models.crossval as crossval
from clinical import ENDPOINTS
from models.crossval import Candidate, TuningConfig
from models.response import LogisticResponseClassifier
from pipeline.params import EvaluateParams
from pipeline.stages.evaluate import _bootstrap

SPACE = {"C": {"type": "float", "low": 0.003, "high": 3.0, "log": True}}


@pytest.fixture
def tune_calls(monkeypatch):
    calls = []
    real = crossval.tune

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(crossval, "tune", spy)
    return calls


def _run(table, dictionary, retune: bool, n_boot: int = 4):
    frame = table[table["response"].notna()].iloc[:240].reset_index(drop=True)
    y = frame["response"].to_numpy(float)
    cand = Candidate("logistic", LogisticResponseClassifier, {"C": 0.05, "max_iter": 500},
                     SPACE, inner_folds=2, n_trials=3)
    params = EvaluateParams(n_boot=n_boot, bootstrap_retune=retune)
    return _bootstrap(frame, dictionary, y, ENDPOINTS["response"], cand, {"C": 0.05,
                      "max_iter": 500}, params, TuningConfig(3, None, 0.25, 2), seed=3)


def test_retune_tunes_on_the_full_data_and_inside_every_resample(table, dictionary, tune_calls):
    out = _run(table, dictionary, retune=True, n_boot=4)["auc"]
    assert len(tune_calls) == 4 + 1  # the apparent fit and each of the 4 resamples
    assert out["retuned"] is True
    assert out["n_boot"] == 4
    assert out["mean"] == pytest.approx(out["apparent"] - out["optimism"])
    assert 0.5 < out["mean"] < out["apparent"] + 1e-12


def test_fixed_parameters_never_tune(table, dictionary, tune_calls):
    out = _run(table, dictionary, retune=False, n_boot=4)["auc"]
    assert tune_calls == []
    assert out["retuned"] is False
    assert np.isfinite(out["optimism"])

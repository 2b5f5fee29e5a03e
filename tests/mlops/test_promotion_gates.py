"""Promotion gates: values that must pass and values that must fail, for each gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from models.promotion import (
    GateConfig,
    Predictions,
    check_calibration,
    check_discrimination,
    check_net_benefit,
    check_subgroups,
    run_gates,
)

N = 600


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def response_data():
    rng = np.random.default_rng(11)
    lp = rng.normal(-0.4, 1.3, N)
    y = (rng.uniform(size=N) < _sigmoid(lp)).astype(float)
    groups = pd.DataFrame({"sex": rng.choice(["F", "M"], N),
                           "primary_site": rng.choice(["pancreas", "small_intestine"], N)})
    return lp, y, groups


@pytest.fixture(scope="module")
def survival_data():
    rng = np.random.default_rng(12)
    lp = rng.normal(0.0, 0.8, N)
    base = 0.04  # per month
    t_event = rng.exponential(1.0 / (base * np.exp(lp)))
    t_cens = rng.uniform(6, 48, N)
    y = Surv.from_arrays(t_event <= t_cens, np.minimum(t_event, t_cens))
    s12 = np.exp(-base * 12 * np.exp(lp))
    return lp, y, s12


def test_discrimination_passes_for_identical_and_fails_for_worse(response_data):
    lp, y, _ = response_data
    rng = np.random.default_rng(0)
    same = check_discrimination("response", y, _sigmoid(lp), _sigmoid(lp), n_boot=100)
    assert same.passed
    assert same.figures["delta"] == pytest.approx(0.0)
    worse = _sigmoid(lp + rng.normal(0, 2.5, N))
    res = check_discrimination("response", y, worse, _sigmoid(lp), n_boot=100)
    assert not res.passed
    assert res.figures["delta"] < -0.05
    assert res.figures["delta_lo"] < res.figures["delta"]
    assert res.figures["delta_hi"] > res.figures["delta_lo"]


def test_discrimination_threshold_is_a_parameter(survival_data):
    lp, y, _ = survival_data
    slightly_worse = lp + np.random.default_rng(1).normal(0, 0.35, N)
    strict = check_discrimination("survival", y, slightly_worse, lp, min_delta=-0.001,
                                  n_boot=100)
    lenient = check_discrimination("survival", y, slightly_worse, lp, min_delta=-0.2, n_boot=100)
    assert not strict.passed
    assert lenient.passed
    assert strict.figures["challenger_c_index"] < strict.figures["champion_c_index"]


def test_discrimination_without_champion_reports_challenger(survival_data):
    lp, y, _ = survival_data
    res = check_discrimination("survival", y, lp, None)
    assert res.passed
    assert 0.6 < res.figures["challenger_c_index"] < 0.9


def test_calibration_response_pass_and_fail(response_data):
    lp, y, _ = response_data
    good = check_calibration("response", y, _sigmoid(lp))
    assert good.passed
    assert 0.8 <= good.figures["slope"] <= 1.25
    assert abs(good.figures["citl"]) <= 0.1
    overconfident = check_calibration("response", y, _sigmoid(2.0 * lp))
    assert not overconfident.passed
    assert overconfident.figures["slope"] < 0.7
    shifted = check_calibration("response", y, _sigmoid(lp + 0.8))
    assert not shifted.passed
    assert shifted.figures["citl"] < -0.1
    assert shifted.figures["citl_logit"] < -0.5


def test_calibration_survival_at_horizon_pass_and_fail(survival_data):
    lp, y, s12 = survival_data
    good = check_calibration("survival", y, s12, horizon=12.0)
    assert good.passed, good.figures
    too_optimistic = check_calibration("survival", y, np.clip(s12 + 0.25, 0, 0.999), horizon=12.0)
    assert not too_optimistic.passed
    assert too_optimistic.figures["citl"] > 0.1
    flat = np.exp(-0.04 * 12 * np.exp(0.3 * lp))
    assert not check_calibration("survival", y, flat, horizon=12.0).passed


def test_net_benefit_pass_and_fail(response_data, survival_data):
    lp, y, _ = response_data
    thresholds = np.arange(0.05, 0.55, 0.05)
    assert check_net_benefit("response", y, _sigmoid(lp), thresholds).passed
    noise = np.random.default_rng(3).uniform(size=N)
    res = check_net_benefit("response", y, noise, thresholds)
    assert not res.passed
    assert res.figures["min_gap_vs_treat_all"] < -0.01
    slp, sy, s12 = survival_data
    assert check_net_benefit("survival", sy, s12, thresholds, horizon=12.0).passed
    strict = check_net_benefit("survival", sy, s12, thresholds, horizon=12.0, tolerance=0.0)
    assert not strict.passed
    assert -0.005 < strict.figures["min_gap_vs_treat_all"] < 0


def test_subgroups_pass_and_fail(response_data):
    lp, y, groups = response_data
    p = _sigmoid(lp)
    same = check_subgroups("response", y, groups, p, p)
    assert same.passed
    assert same.figures["max_loss"] == pytest.approx(0.0)
    noisy = np.where(groups["sex"] == "F", np.random.default_rng(4).uniform(size=N), p)
    res = check_subgroups("response", y, groups, noisy, p)
    assert not res.passed
    assert res.figures["worst_subgroup"] == "sex=F"
    assert res.figures["max_loss"] > 0.1
    assert res.figures["n_levels_judged"] == 4


def test_run_gates_returns_every_gate_in_order(survival_data):
    lp, y, s12 = survival_data
    groups = pd.DataFrame({"sex": np.where(np.arange(N) % 2, "F", "M")})
    pred = Predictions(score=lp, prob=s12)
    results = run_gates("survival", y, pred, pred, groups, GateConfig(n_boot=50))
    assert [r.name for r in results] == ["discrimination", "calibration", "net_benefit",
                                         "subgroups"]
    assert all(r.passed for r in results), [(r.name, r.figures) for r in results]
    assert all(r.threshold for r in results)


def test_unknown_kind_is_rejected(response_data):
    lp, y, _ = response_data
    with pytest.raises(ValueError, match="kind must be one of"):
        check_calibration("recist", y, _sigmoid(lp))


def test_first_champion_must_clear_an_absolute_floor(survival_data, response_data):
    lp, y, _ = survival_data
    good = check_discrimination("survival", y, lp, None, n_boot=100)
    assert good.passed
    assert good.figures["challenger_c_index_lo"] > 0.6
    noise = np.random.default_rng(3).normal(size=N)  # a useless model: C about 0.5
    weak = check_discrimination("survival", y, noise, None, n_boot=100)
    assert not weak.passed
    assert weak.figures["challenger_c_index_lo"] < 0.6
    assert "no champion" in weak.threshold
    # the worst subgroup must reach its floor too: a model that is random for men fails
    plp, py, groups = response_data
    score = np.where(groups["sex"].eq("M"), np.random.default_rng(4).normal(size=N), plp)
    sub = check_subgroups("response", py, groups, score, None, min_size=30, columns=["sex"],
                          floor=0.6)
    assert not sub.passed
    assert sub.figures["worst_subgroup"] == "sex=M"
    fine = check_subgroups("response", py, groups, plp, None, min_size=30, columns=["sex"],
                           floor=0.6)
    assert fine.passed

"""Discrimination metrics against lifelines/sksurv references and hand cases."""

from __future__ import annotations

import numpy as np
import pytest
from evaluation_sim import simulate_survival, true_survival
from lifelines.utils import concordance_index
from sklearn.metrics import roc_auc_score
from sksurv.metrics import (
    concordance_index_ipcw,
    cumulative_dynamic_auc,
    integrated_brier_score,
)
from sksurv.util import Surv

from models.evaluation import (
    brier_at,
    harrell_c,
    integrated_brier,
    roc_auc,
    time_dependent_auc,
    uno_c,
    usable_times,
)


class HarrellCases:
    """Small hand cases: (event, time, risk, expected C)."""

    @staticmethod
    def data_perfect():
        return [1, 1, 1, 0], [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], 1.0

    @staticmethod
    def data_reversed():
        return [1, 1, 1, 0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], 0.0

    @staticmethod
    def data_one_discordant():
        # comparable pairs: (1,2),(1,3),(1,4),(2,3),(2,4) -> (1,2) discordant: 4/5
        return [1, 1, 0, 0], [1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 2.0, 1.0], 0.8

    @staticmethod
    def data_tied_risk():
        return [1, 1, 0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 0.5


CASES = {k[5:]: v() for k, v in vars(HarrellCases).items() if k.startswith("data_")}


@pytest.mark.parametrize(("event", "time", "risk", "expected"), CASES.values(), ids=CASES.keys())
def test_harrell_c_hand_cases_match_lifelines(event, time, risk, expected):
    y = Surv.from_arrays(np.array(event, bool), np.array(time))
    assert harrell_c(y, np.array(risk)) == pytest.approx(expected)
    assert harrell_c(y, np.array(risk)) == pytest.approx(
        concordance_index(time, -np.array(risk), event)
    )


def test_harrell_c_random_data_matches_lifelines(surv_test):
    y, lp = surv_test
    risk = lp + np.random.default_rng(5).normal(size=lp.size)
    expected = concordance_index(y["time"], -risk, y["event"])
    assert harrell_c(y, risk) == pytest.approx(expected, abs=1e-9)
    assert 0.6 < harrell_c(y, risk) < harrell_c(y, lp)


def test_perfect_and_random_predictors(surv_test):
    y, _ = surv_test
    assert harrell_c(y, -y["time"]) == pytest.approx(1.0)
    noise = np.random.default_rng(0).normal(size=(20, len(y)))
    assert np.mean([harrell_c(y, r) for r in noise]) == pytest.approx(0.5, abs=0.02)
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0


def test_uno_c_matches_sksurv(surv_train, surv_test):
    (y_tr, _), (y_te, lp) = surv_train, surv_test
    expected = concordance_index_ipcw(y_tr, y_te, lp, tau=36.0)[0]
    assert uno_c(y_tr, y_te, lp, tau=36.0) == pytest.approx(expected)
    # tau beyond the training follow-up is clipped, not an error
    assert 0.6 < uno_c(y_tr, y_te, lp, tau=1e6) < 0.9


def test_time_dependent_auc_matches_sksurv_and_clips(surv_train, surv_test):
    (y_tr, _), (y_te, lp) = surv_train, surv_test
    out = time_dependent_auc(y_tr, y_te, lp, [12.0, 24.0, 36.0, 500.0])
    auc, mean_auc = cumulative_dynamic_auc(y_tr, y_te, lp, [12.0, 24.0, 36.0])
    np.testing.assert_allclose(out["auc"], auc)
    assert out["mean_auc"] == pytest.approx(mean_auc)
    np.testing.assert_array_equal(out["times"], [12.0, 24.0, 36.0])
    np.testing.assert_array_equal(out["dropped_times"], [500.0])


def test_time_dependent_auc_accepts_per_horizon_risk(surv_train, surv_test):
    (y_tr, _), (y_te, lp) = surv_train, surv_test
    times = np.array([12.0, 24.0])
    risk = 1 - np.column_stack([true_survival(lp, t) for t in times])
    out = time_dependent_auc(y_tr, y_te, risk, times)
    np.testing.assert_allclose(out["auc"], cumulative_dynamic_auc(y_tr, y_te, risk, times)[0])


def test_integrated_brier_matches_sksurv_and_clips(surv_train, surv_test):
    (y_tr, _), (y_te, lp) = surv_train, surv_test
    grid = np.linspace(3, 48, 16)
    surv = np.column_stack([true_survival(lp, t) for t in grid])
    expected = integrated_brier_score(y_tr, y_te, surv, grid)
    assert integrated_brier(y_tr, y_te, surv, grid) == pytest.approx(expected)
    long_grid = np.r_[grid, 400.0]
    long_surv = np.column_stack([surv, true_survival(lp, 400.0)])
    assert integrated_brier(y_tr, y_te, long_surv, long_grid) == pytest.approx(expected)
    assert usable_times(y_tr, y_te, long_grid).tolist() == [True] * 16 + [False]
    null = integrated_brier(y_tr, y_te, np.full_like(surv, 0.5), grid)
    assert expected < null


def test_brier_at_perfect_is_lower_than_null(surv_train, surv_test):
    (y_tr, _), (y_te, lp) = surv_train, surv_test
    good = brier_at(y_tr, y_te, true_survival(lp, 24.0), 24.0)
    assert 0 < good < brier_at(y_tr, y_te, np.full(len(y_te), 0.5), 24.0)


def test_roc_auc_matches_sklearn(binary_large):
    y, p, _ = binary_large
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p))


class DiscriminationFailureCases:
    @staticmethod
    def data_plain_array():
        return lambda: harrell_c(np.array([1.0, 2.0]), [0.1, 0.2]), "structured array"

    @staticmethod
    def data_all_censored():
        y = Surv.from_arrays([False, False], [1.0, 2.0])
        return lambda: harrell_c(y, [0.1, 0.2]), "all 2 samples are censored"

    @staticmethod
    def data_risk_length():
        y, _ = simulate_survival(20, seed=0)
        return lambda: harrell_c(y, np.zeros(5)), r"risk must have shape \(20,\)"

    @staticmethod
    def data_no_usable_horizon():
        y, lp = simulate_survival(50, seed=0)
        return lambda: time_dependent_auc(y, y, lp, [900.0]), r"no horizon in \[900.0\]"

    @staticmethod
    def data_non_binary():
        return lambda: roc_auc([0, 2, 1], [0.1, 0.2, 0.3]), "only 0/1"


FAILS = {k[5:]: v() for k, v in vars(DiscriminationFailureCases).items() if k.startswith("data_")}


@pytest.mark.parametrize(("call", "match"), FAILS.values(), ids=FAILS.keys())
def test_discrimination_failures(call, match):
    with pytest.raises(ValueError, match=match):
        call()

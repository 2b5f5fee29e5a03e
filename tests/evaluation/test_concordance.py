"""The O(n log n) concordance sweep against sksurv's pairwise loops, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw
from sksurv.util import Surv

from models.evaluation import concordance, harrell_c, roc_auc, uno_c
from models.evaluation.concordance import risk_ranks, weighted_concordance


@pytest.fixture(params=["pairwise", "sweep"])
def path(request, monkeypatch):
    """Run a test through the numpy pairwise path and through the numba sweep."""
    monkeypatch.setattr(concordance, "PAIRWISE_MAX", 10**9 if request.param == "pairwise" else 0)
    return request.param


def _cohort(rng: np.random.Generator, n: int, ties: bool):
    time = rng.exponential(size=n)
    event = rng.random(n) < 0.6
    risk = rng.normal(size=n) + (time < 1.0)
    if ties:  # tied times (event and censored at one time) and tied risks
        time = np.round(time * 3) / 3 + 0.01
        risk = np.round(risk)
    return event, time, risk


@pytest.mark.parametrize("n", [2, 7, 60, 400, 2500])
@pytest.mark.parametrize("ties", [False, True])
def test_harrell_equals_sksurv(n, ties, path):
    rng = np.random.default_rng(n + 10 * ties)
    event, time, risk = _cohort(rng, n, ties)
    event[0] = True
    time[0] = min(time.min(), 0.001)  # at least one comparable pair
    expected = concordance_index_censored(event, time, risk)[0]
    assert harrell_c(Surv.from_arrays(event, time), risk) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("tau", [None, 1.2])
def test_uno_equals_sksurv(ties, tau, path):
    rng = np.random.default_rng(3)
    event, time, risk = _cohort(rng, 800, ties)
    y_test = Surv.from_arrays(event, time)
    y_train = Surv.from_arrays(rng.random(900) < 0.6, rng.exponential(size=900) * 1.5)
    limit = float(y_train["time"].max())
    expected = concordance_index_ipcw(y_train, y_test, risk, tau=tau or limit)[0]
    assert uno_c(y_train, y_test, risk, tau=tau) == pytest.approx(expected, abs=1e-12)


def test_hand_case_counts_pairs_and_half_ties(path):
    # events at 1 and 2, censored at 2 (comparable with the event at 2) and at 3
    event = np.array([True, True, False, False])
    time = np.array([1.0, 2.0, 2.0, 3.0])
    risk = np.array([3.0, 2.0, 2.0, 1.0])
    c, pairs = weighted_concordance(event, time, risk)
    # event@1 vs 3 later: all concordant (3); event@2 vs censored@2 (tie: 1/2) and @3 (1)
    assert pairs == 5
    assert c == pytest.approx((3 + 0.5 + 1) / 5)


def test_weights_scale_each_event(path):
    event = np.array([True, True, False])
    time = np.array([1.0, 2.0, 3.0])
    risk = np.array([1.0, 2.0, 0.0])  # event@1 discordant with event@2, concordant with @3
    c, _ = weighted_concordance(event, time, risk, weight=np.array([1.0, 3.0, 0.0]))
    assert c == pytest.approx((1 * 1 + 3 * 1) / (1 * 2 + 3 * 1))


def test_no_comparable_pair_raises(path):
    with pytest.raises(ValueError, match="no comparable pairs"):
        weighted_concordance(np.array([False, True]), np.array([1.0, 2.0]), np.array([0.0, 1.0]))


def test_risk_ranks_merge_values_within_tolerance():
    ranks = risk_ranks(np.array([0.3, 0.1, 0.1 + 1e-10, 0.2]))
    assert ranks.tolist() == [2, 0, 0, 1]


def test_large_cohort_is_fast_and_correct_on_known_order():
    n = 200_000
    rng = np.random.default_rng(1)
    time = rng.exponential(size=n)
    risk = -time  # perfectly ordered
    c = harrell_c(Surv.from_arrays(np.ones(n, bool), time), risk)
    assert c == pytest.approx(1.0)


def test_roc_auc_mid_ranks_equal_pairwise_definition():
    rng = np.random.default_rng(5)
    y = (rng.random(300) < 0.3).astype(float)
    p = np.round(rng.random(300) + 0.3 * y, 1)  # many ties
    pos, neg = p[y == 1], p[y == 0]
    pairwise = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    assert roc_auc(y, p) == pytest.approx(pairwise, abs=1e-12)

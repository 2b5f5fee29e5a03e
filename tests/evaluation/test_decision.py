"""Net benefit against hand-computed values (binary) and the KM formula (survival)."""

from __future__ import annotations

import numpy as np
import pytest
from evaluation_sim import simulate_survival, true_survival
from sksurv.util import Surv

from models.evaluation import net_benefit


def test_binary_net_benefit_hand_case():
    y = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.6, 0.6, 0.3, 0.1, 0.2, 0.1, 0.1, 0.05, 0.7])
    nb = net_benefit(y, p, [0.25, 0.5]).set_index("threshold")
    # pt=0.25: treated = p>=0.25 -> idx 0,1,2,3,9: TP=2, FP=3; odds=1/3
    assert nb.loc[0.25, "model"] == pytest.approx(2 / 10 - 3 / 10 / 3)
    # pt=0.5: treated idx 0,1,2,9: TP=2, FP=2; odds=1
    assert nb.loc[0.5, "model"] == pytest.approx(0.0)
    assert nb.loc[0.25, "treat_all"] == pytest.approx(0.3 - 0.7 / 3)
    assert nb.loc[0.5, "treat_all"] == pytest.approx(0.3 - 0.7)
    assert (nb["treat_none"] == 0).all()


def test_survival_net_benefit_uncensored_equals_binary():
    time = np.array([1.0, 2.0, 5.0, 8.0, 9.0, 3.0])
    y = Surv.from_arrays(np.ones(6, bool), time)
    p = np.array([0.9, 0.8, 0.3, 0.2, 0.1, 0.4])
    surv_nb = net_benefit(y, p, [0.25, 0.5], horizon=4.0)
    bin_nb = net_benefit((time <= 4.0).astype(int), p, [0.25, 0.5])
    np.testing.assert_allclose(surv_nb[["model", "treat_all"]], bin_nb[["model", "treat_all"]])


def test_survival_net_benefit_true_model_beats_defaults():
    y, lp = simulate_survival(2000, seed=8)
    risk = 1 - true_survival(lp, 12.0)
    nb = net_benefit(y, risk, np.linspace(0.1, 0.6, 11), horizon=12.0)
    assert (nb["model"] >= np.maximum(nb["treat_all"], 0) - 0.01).all()
    assert (nb["model"] > nb["treat_all"]).sum() >= 9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"thresholds": [0.0, 0.5]}, r"strictly in \(0, 1\)"),
        ({"thresholds": [0.5], "horizon": 3.0}, "given for a binary outcome"),
    ],
    ids=["threshold_zero", "horizon_binary"],
)
def test_net_benefit_failures(kwargs, match):
    with pytest.raises(ValueError, match=match):
        net_benefit([0, 1], [0.2, 0.8], **kwargs)


def test_survival_needs_horizon():
    y = Surv.from_arrays([True, False], [1.0, 2.0])
    with pytest.raises(ValueError, match="horizon is required"):
        net_benefit(y, [0.2, 0.8], [0.5])

"""Calibration: slope/intercept, ICI, Brier, survival calibration by decile, KM by tertile."""

from __future__ import annotations

import numpy as np
import pytest
from evaluation_sim import simulate_survival, true_survival
from lifelines import KaplanMeierFitter

from models.evaluation import (
    brier,
    calibration_intercept_slope,
    integrated_calibration_index,
    km_by_risk_group,
    survival_calibration_by_decile,
)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_well_calibrated_has_slope_one_intercept_zero(binary_large):
    y, p, _ = binary_large
    cal = calibration_intercept_slope(y, p)
    assert cal["slope"] == pytest.approx(1.0, abs=0.05)
    assert cal["intercept"] == pytest.approx(0.0, abs=0.05)


def test_over_confident_has_slope_below_one(binary_large):
    y, _, logit = binary_large
    cal = calibration_intercept_slope(y, _sigmoid(2 * logit))
    assert cal["slope"] == pytest.approx(0.5, abs=0.05)


def test_shifted_predictions_have_negative_citl(binary_large):
    y, _, logit = binary_large
    cal = calibration_intercept_slope(y, _sigmoid(logit + 1.0))
    assert cal["intercept"] == pytest.approx(-1.0, abs=0.07)
    assert cal["slope"] == pytest.approx(1.0, abs=0.05)


def test_ici_small_when_calibrated_and_large_when_not(binary_large):
    y, p, logit = binary_large
    assert integrated_calibration_index(y, p) < 0.015
    # sigmoid(2*logit) departs from p by ~0.09 on average; the ICI must see most of it
    miscal = _sigmoid(2 * logit)
    assert integrated_calibration_index(y, miscal) > 0.06
    assert integrated_calibration_index(y, np.clip(p + 0.1, 0, 1)) == pytest.approx(0.1, abs=0.02)


def test_brier_hand_case():
    assert brier([0, 1, 1, 0], [0.0, 1.0, 0.5, 0.5]) == pytest.approx(0.125)


def test_survival_calibration_true_model_vs_over_confident():
    y, lp = simulate_survival(4000, seed=11)
    good = survival_calibration_by_decile(y, true_survival(lp, 24.0), 24.0)
    assert good["slope"] == pytest.approx(1.0, abs=0.1)
    assert abs(good["citl"]) < 0.02
    assert good["ici_groups"] < 0.03
    table = good["table"]
    assert list(table.columns) == [
        "group",
        "n",
        "events",
        "predicted",
        "observed",
        "observed_lo",
        "observed_hi",
    ]
    assert table["n"].sum() == 4000
    assert table["predicted"].is_monotonic_increasing
    bad = survival_calibration_by_decile(y, true_survival(2 * lp, 24.0), 24.0)
    assert bad["slope"] == pytest.approx(0.5, abs=0.07)


def test_km_by_risk_group_matches_lifelines():
    y, lp = simulate_survival(300, seed=4)
    table = km_by_risk_group(y, lp, n_groups=3)
    assert table["label"].unique().tolist() == ["low", "intermediate", "high"]
    assert table.attrs["logrank_p"] < 1e-3
    high = table[table["group"] == 3]
    sel = lp >= np.sort(lp)[200]
    kmf = KaplanMeierFitter().fit(y["time"][sel], y["event"][sel])
    expected = kmf.survival_function_at_times(high["time"].to_numpy()).to_numpy()
    np.testing.assert_allclose(high["survival"], expected, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: calibration_intercept_slope([0, 1], [0.5, 1.5]), r"must lie in \[0, 1\]"),
        (lambda: calibration_intercept_slope([1, 1], [0.5, 0.4]), "single class"),
        (lambda: brier([0, 1, 1], [0.5, 0.5]), "has 2 values, expected 3"),
        (
            lambda: survival_calibration_by_decile(simulate_survival(50, 0)[0], np.ones(50), -1),
            "must be finite and > 0",
        ),
    ],
    ids=["p_out_of_range", "one_class", "length", "bad_horizon"],
)
def test_calibration_failures(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_internal_cox_slope_matches_sksurv():
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    from models.evaluation.calibration import _fit_cox_1d

    y, lp = simulate_survival(300, seed=13)
    time = np.round(y["time"])  # force tied times
    x = 0.7 * lp + np.random.default_rng(0).normal(scale=0.5, size=lp.size)
    ref = CoxPHSurvivalAnalysis(alpha=0.0, ties="breslow").fit(
        x[:, None], Surv.from_arrays(y["event"], time)
    )
    assert _fit_cox_1d(x, y["event"], time) == pytest.approx(ref.coef_[0], abs=1e-6)

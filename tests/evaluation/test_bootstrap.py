"""Bootstrap intervals, paired differences, Harrell's optimism, fold summaries, oracle ratio."""

from __future__ import annotations

import numpy as np
import pytest
from evaluation_sim import simulate_binary, simulate_survival

from models.evaluation import (
    bootstrap_ci,
    harrell_c,
    optimism_corrected,
    oracle_auc,
    oracle_c_index,
    oracle_comparison,
    oracle_ratio,
    paired_bootstrap_difference,
    roc_auc,
    summarise,
)


def test_summarise_values():
    out = summarise([0.7, 0.8, np.nan, 0.9])
    assert out["mean"] == pytest.approx(0.8)
    assert out["n"] == 3
    assert out["sd"] == pytest.approx(0.1)
    assert 0.7 <= out["lo"] < out["mean"] < out["hi"] <= 0.9
    with pytest.raises(ValueError, match="at least one non-missing"):
        summarise([np.nan])


def test_bootstrap_ci_covers_estimate_and_is_reproducible():
    y, p, _ = simulate_binary(400, seed=2)
    a = bootstrap_ci(roc_auc, y, p, n_boot=200, seed=1)
    b = bootstrap_ci(roc_auc, y, p, n_boot=200, seed=1)
    assert a == b
    assert a["lo"] < a["estimate"] < a["hi"]
    assert 0.02 < a["sd"] < 0.04  # SE of an AUC ~0.8 with n=400


def test_bootstrap_ci_on_survival_array():
    y, lp = simulate_survival(300, seed=3)
    out = bootstrap_ci(harrell_c, y, lp, n_boot=100, seed=0)
    assert out["lo"] < out["estimate"] < out["hi"]
    assert out["n_failed"] == 0


def test_paired_difference_identical_predictions_contains_zero():
    y, p, _ = simulate_binary(300, seed=4)
    out = paired_bootstrap_difference(roc_auc, y, p, p.copy(), n_boot=100, seed=0)
    assert out["estimate"] == 0
    assert out["lo"] <= 0 <= out["hi"]


def test_paired_difference_detects_better_model():
    y, p, _ = simulate_binary(1000, seed=5)
    noisy = p + np.random.default_rng(0).normal(scale=0.3, size=p.size)
    out = paired_bootstrap_difference(roc_auc, y, p, noisy, n_boot=200, seed=0)
    assert out["lo"] > 0
    assert out["p_b_better"] < 0.025


def _fit_predict_ols(X_train, y_train, X_eval):
    """Unpenalised least squares score: overfits badly with many noise features."""
    design = np.column_stack([np.ones(len(X_train)), X_train])
    coef = np.linalg.lstsq(design, y_train, rcond=None)[0]
    return np.column_stack([np.ones(len(X_eval)), X_eval]) @ coef


def test_optimism_positive_for_overfitting_model_on_noise():
    X = np.random.default_rng(0).normal(size=(200, 20))
    y = np.tile([0, 1], 100)  # outcome independent of X: true AUC 0.5
    table = optimism_corrected(_fit_predict_ols, {"auc": roc_auc}, X, y, n_boot=200, seed=0)
    row = table.loc["auc"]
    assert row["apparent"] > 0.7
    assert row["optimism"] > 0.08
    # Harrell's bootstrap slightly under-corrects severe overfitting (p/n = 0.1 on pure noise)
    assert row["corrected"] == pytest.approx(0.5, abs=0.13)
    assert row["lo"] < row["corrected"] < row["hi"]
    assert row["n_boot"] == 200


def test_optimism_small_for_well_specified_model():
    y, _, logit = simulate_binary(400, seed=12)
    X = np.column_stack([logit, np.random.default_rng(1).normal(size=(400, 2))])
    table = optimism_corrected(_fit_predict_ols, {"auc": roc_auc}, X, y, n_boot=100, seed=0)
    assert 0 < table.loc["auc", "optimism"] < 0.02


def test_oracle_ratio_and_helpers():
    y, lp = simulate_survival(500, seed=6)
    noisy = lp + np.random.default_rng(1).normal(size=lp.size)
    out = oracle_comparison(y, noisy, lp)
    assert out["oracle"] == pytest.approx(oracle_c_index(y, lp))
    assert out["ratio"] == pytest.approx(harrell_c(y, noisy) / harrell_c(y, lp))
    assert 0.8 < out["ratio"] < 1.0
    yb, _, logit = simulate_binary(500, seed=7)
    assert oracle_comparison(yb, logit, logit)["ratio"] == pytest.approx(1.0)
    assert oracle_auc(yb, logit) == pytest.approx(roc_auc(yb, logit))
    with pytest.raises(ValueError, match="oracle_metric must be > 0"):
        oracle_ratio(0.7, 0.0)


def test_optimism_accepts_dataframe_and_series():
    import pandas as pd

    y, _, logit = simulate_binary(200, seed=14)
    X = pd.DataFrame({"logit": logit, "noise": np.random.default_rng(2).normal(size=200)})
    table = optimism_corrected(
        lambda Xt, yt, Xe: _fit_predict_ols(Xt.to_numpy(), yt.to_numpy(), Xe.to_numpy()),
        {"auc": roc_auc},
        X,
        pd.Series(y),
        n_boot=30,
        seed=np.random.default_rng(0),
    )
    assert table.loc["auc", "apparent"] == pytest.approx(roc_auc(y, logit), abs=0.01)


def test_metrics_do_not_mutate_and_ignore_row_order():
    y, lp = simulate_survival(300, seed=15)
    y_copy, lp_copy = y.copy(), lp.copy()
    perm = np.random.default_rng(0).permutation(300)
    assert harrell_c(y, lp) == pytest.approx(harrell_c(y[perm], lp[perm]))
    bootstrap_ci(harrell_c, y, lp, n_boot=10, seed=0)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(lp, lp_copy)

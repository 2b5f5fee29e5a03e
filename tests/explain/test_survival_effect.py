"""Effect of a patient's top drivers on the predicted 12- and 24-month survival probability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from models.explain import ShapResult, group_by_variable, survival_effect_of_drivers, tree_shap


def cox_survival(margins: np.ndarray, horizons) -> np.ndarray:
    """S(t) = exp(-H0(t) exp(margin)) with H0(t) = t / 30 (margin = log hazard ratio)."""
    h0 = np.asarray(horizons, dtype=float) / 30.0
    return np.exp(-np.outer(np.exp(margins), h0))


def aft_survival(margins: np.ndarray, horizons) -> np.ndarray:
    """Log-normal AFT: S(t) = 1 - Phi(log t - margin), margin = log survival time."""
    log_t = np.log(np.asarray(horizons, dtype=float))
    return norm.sf(log_t[None, :] - np.asarray(margins)[:, None])


def _one_patient(values: dict[str, float], base: float = 0.1) -> ShapResult:
    frame = pd.DataFrame([values], index=["P0001"])
    margin = np.array([base + sum(values.values())])
    return ShapResult(frame, base, margin, tuple(values), "log_hazard")


def test_risk_raising_driver_lowers_survival_and_the_numbers_are_exact():
    row = _one_patient({"ki67_percent": 0.8, "tumour_liver_ratio": -0.5, "age": 0.05})
    margin = float(row.margin[0])
    table = survival_effect_of_drivers(cox_survival, margin, row, horizons=(12, 24), top_k=2)
    assert table["variable"].tolist() == ["ki67_percent", "tumour_liver_ratio"]
    assert list(table.columns) == [
        "variable",
        "shap",
        "surv_12_with",
        "surv_12_without",
        "effect_12",
        "surv_24_with",
        "surv_24_without",
        "effect_24",
    ]
    ki67 = table.iloc[0]
    assert ki67["effect_12"] < 0
    assert ki67["effect_24"] < 0
    assert table.iloc[1]["effect_12"] > 0
    assert table.iloc[1]["effect_24"] > 0
    expected_without = np.exp(-(12 / 30) * np.exp(margin - 0.8))
    assert ki67["surv_12_without"] == pytest.approx(expected_without, rel=1e-12)
    assert ki67["surv_12_with"] == pytest.approx(np.exp(-(12 / 30) * np.exp(margin)), rel=1e-12)
    assert ki67["effect_24"] == pytest.approx(ki67["surv_24_with"] - ki67["surv_24_without"])


def test_aft_positive_contribution_raises_survival():
    row = _one_patient({"tumour_liver_ratio": 0.4, "ki67_percent": -0.6}, base=3.0)
    table = survival_effect_of_drivers(aft_survival, float(row.margin[0]), row.values.iloc[0])
    by_variable = table.set_index("variable")
    assert by_variable.loc["tumour_liver_ratio", "effect_12"] > 0
    assert by_variable.loc["ki67_percent", "effect_24"] < 0
    assert len(table) == 2  # top_k larger than the number of variables


def test_effects_on_a_trained_cox_model_have_the_sign_of_the_shap_value(cohort, xgb_models):
    grouped = group_by_variable(
        tree_shap(xgb_models["booster_cox"], cohort.design), cohort.variable_of
    )
    for position in range(5):
        row = grouped.select_rows(position)
        table = survival_effect_of_drivers(cox_survival, float(row.margin[0]), row, top_k=5)
        assert len(table) == 5
        assert table["shap"].abs().is_monotonic_decreasing
        nonzero = table["shap"].abs() > 1e-9
        assert (
            np.sign(table.loc[nonzero, "effect_12"]) == -np.sign(table.loc[nonzero, "shap"])
        ).all()


def test_survival_effect_rejects_several_patients_and_bad_predictors():
    two = ShapResult(pd.DataFrame({"a": [0.1, 0.2]}), 0.0, np.array([0.1, 0.2]), ("a",))
    with pytest.raises(ValueError, match="one patient"):
        survival_effect_of_drivers(cox_survival, 0.1, two)
    one = two.select_rows(0)
    with pytest.raises(ValueError, match="shape"):
        survival_effect_of_drivers(lambda m, h: np.zeros(3), 0.1, one)

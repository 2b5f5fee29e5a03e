"""Design columns grouped back to clinical variables; global importance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.explain import (
    ShapResult,
    check_additivity,
    global_importance,
    group_by_variable,
    linear_shap,
    tree_shap,
)

CLINICAL = {
    "ki67_percent",
    "tumour_liver_ratio",
    "cga_x_uln",
    "age",
    "ecog",
    "primary_site",
    "functional_syndrome",
}


def test_tree_shap_grouped_to_clinical_variables(cohort, xgb_models):
    result = tree_shap(xgb_models["booster_cox"], cohort.design)
    grouped = group_by_variable(result, cohort.variable_of)
    assert set(grouped.feature_names) == CLINICAL
    assert list(grouped.values.columns) == list(grouped.feature_names)
    check_additivity(grouped)
    site_columns = [c for c in cohort.design.columns if c.startswith("primary_site__")]
    np.testing.assert_allclose(
        grouped.values["primary_site"], result.values[site_columns].sum(axis=1), atol=1e-12
    )
    np.testing.assert_allclose(
        grouped.values["ki67_percent"],
        result.values["ki67_percent"] + result.values["ki67_percent__missing"],
        atol=1e-12,
    )
    pd.testing.assert_series_equal(grouped.values["age"], result.values["age"])
    np.testing.assert_array_equal(grouped.margin, result.margin)
    assert grouped.base_value == result.base_value
    assert grouped.scale == "log_hazard"


def test_linear_indicator_and_one_hot_columns_grouped(cohort, logistic_pipeline):
    design = cohort.design.drop(columns="ki67_percent__missing")
    transformed = logistic_pipeline[:-1].transform(design)
    model = logistic_pipeline[-1]
    result = linear_shap(
        model.coef_[0], model.intercept_[0], transformed, transformed.mean().to_numpy()
    )
    mapping = {
        **cohort.variable_of,
        "missingindicator_ki67_percent": "ki67_percent",
        "missingindicator_tumour_liver_ratio": "tumour_liver_ratio",
    }
    grouped = group_by_variable(result, mapping)
    assert set(grouped.feature_names) == CLINICAL
    assert check_additivity(grouped) < 1e-10


def test_unmapped_columns_keep_their_names_and_order():
    values = pd.DataFrame([[1.0, 2.0, 3.0, 4.0]], columns=["b", "a1", "c", "a2"])
    result = ShapResult(values, 0.5, np.array([10.5]), tuple(values.columns))
    grouped = group_by_variable(result, {"a1": "a", "a2": "a"})
    assert grouped.feature_names == ("b", "a", "c")
    assert grouped.values.iloc[0].tolist() == [1.0, 6.0, 3.0]
    assert result.values.shape == (1, 4)  # input not mutated


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 20),
    groups=st.lists(st.sampled_from(["g1", "g2", "g3", None]), min_size=1, max_size=12),
    seed=st.integers(0, 2**16),
)
def test_grouping_preserves_additivity(n, groups, seed):
    rng = np.random.default_rng(seed)
    columns = [f"c{i}" for i in range(len(groups))]
    values = pd.DataFrame(rng.normal(size=(n, len(columns))), columns=columns)
    base = float(rng.normal())
    result = ShapResult(values, base, base + values.sum(axis=1).to_numpy(), tuple(columns))
    mapping = {c: g for c, g in zip(columns, groups, strict=True) if g is not None}
    grouped = group_by_variable(result, mapping)
    assert check_additivity(grouped, atol=1e-9) < 1e-9
    assert len(grouped.feature_names) == len({mapping.get(c, c) for c in columns})


def test_global_importance_sorted_and_finds_the_strongest_variable(cohort, xgb_models):
    grouped = group_by_variable(
        tree_shap(xgb_models["booster_cox"], cohort.design), cohort.variable_of
    )
    table = global_importance(grouped)
    assert list(table.columns) == ["variable", "mean_abs_shap", "mean_shap", "share"]
    assert table["mean_abs_shap"].is_monotonic_decreasing
    assert table["share"].sum() == pytest.approx(1.0)
    # the simulated hazard depends mostly on Ki-67 and the tumour-to-liver ratio
    assert set(table["variable"].head(2)) == {"ki67_percent", "tumour_liver_ratio"}
    expected = grouped.values.abs().mean()
    assert table.set_index("variable")["mean_abs_shap"].to_dict() == pytest.approx(
        expected.to_dict()
    )

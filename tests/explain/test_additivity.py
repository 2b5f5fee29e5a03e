"""base value + sum(SHAP) == model margin, for every model type the project trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
import xgboost as xgb

from models.explain import (
    ShapResult,
    check_additivity,
    linear_shap,
    make_tree_explainer,
    tree_shap,
)

TREE_MODELS = ["booster_binary", "booster_cox", "booster_aft", "sklearn_classifier", "sklearn_cox"]
EXPECTED_SCALE = {
    "booster_binary": "log_odds",
    "booster_cox": "log_hazard",
    "booster_aft": "log_time",
    "sklearn_classifier": "log_odds",
    "sklearn_cox": "log_hazard",
}


def _booster(model) -> xgb.Booster:
    return model if isinstance(model, xgb.Booster) else model.get_booster()


@pytest.mark.parametrize("name", TREE_MODELS)
def test_tree_shap_adds_up_to_the_xgboost_margin(cohort, xgb_models, name):
    model = xgb_models[name]
    result = tree_shap(model, cohort.design)
    assert check_additivity(result, atol=1e-6) < 1e-6
    xgb_margin = _booster(model).predict(xgb.DMatrix(cohort.design), output_margin=True)
    np.testing.assert_allclose(result.margin, xgb_margin, atol=1e-4)  # float32 vs float64
    assert result.scale == EXPECTED_SCALE[name]
    assert result.values.shape == cohort.design.shape
    assert list(result.values.index) == list(cohort.design.index)


@pytest.mark.parametrize("name", TREE_MODELS)
def test_tree_shap_equals_xgboost_pred_contribs(cohort, xgb_models, name):
    result = tree_shap(xgb_models[name], cohort.design)
    contribs = _booster(xgb_models[name]).predict(xgb.DMatrix(cohort.design), pred_contribs=True)
    np.testing.assert_allclose(result.values.to_numpy(), contribs[:, :-1], atol=2e-5)
    assert result.base_value == pytest.approx(float(contribs[0, -1]), abs=2e-5)
    # the model actually uses the variables: not a trivially zero explanation
    assert np.abs(result.values.to_numpy()).sum() > 1.0


def test_xgboost_float32_contribs_alone_miss_the_tolerance_on_a_bigger_model(cohort):
    """Why tree_shap evaluates in float64: xgboost's float32 sum drifts beyond 1e-6."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(3000, 30)), columns=[f"x{i}" for i in range(30)])
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * X["x0"]))).astype(float)
    booster = xgb.train(
        {"max_depth": 4, "objective": "binary:logistic", "nthread": 1},
        xgb.DMatrix(X, label=y),
        num_boost_round=300,
    )
    result = tree_shap(booster, X)
    assert check_additivity(result, atol=1e-6) < 1e-7
    dm = xgb.DMatrix(X)
    float32_gap = np.abs(
        booster.predict(dm, pred_contribs=True).sum(axis=1)
        - booster.predict(dm, output_margin=True)
    ).max()
    assert float32_gap > check_additivity(result)


def test_missing_values_follow_the_default_branch_and_still_add_up(cohort, xgb_models):
    missing = cohort.design["ki67_percent"].isna()
    assert missing.sum() > 20
    result = tree_shap(xgb_models["booster_cox"], cohort.design)
    assert np.isfinite(result.values.to_numpy()).all()
    check_additivity(result.select_rows(np.flatnonzero(missing.to_numpy()).tolist()))
    single = tree_shap(xgb_models["booster_cox"], cohort.design[missing].iloc[[0]])
    np.testing.assert_allclose(
        single.values.to_numpy()[0], result.values[missing].to_numpy()[0], atol=1e-12
    )


def test_prepared_explainer_gives_the_same_values_and_reorders_columns(cohort, xgb_models):
    prepared = make_tree_explainer(xgb_models["booster_binary"])
    shuffled = cohort.design[cohort.design.columns[::-1]]
    a = tree_shap(prepared, shuffled.iloc[:5])
    b = tree_shap(xgb_models["booster_binary"], cohort.design.iloc[:5])
    pd.testing.assert_frame_equal(a.values, b.values)
    assert a.feature_names == tuple(cohort.design.columns)


def test_missing_feature_column_is_a_clear_error(cohort, xgb_models):
    with pytest.raises(ValueError, match="lacks model feature columns"):
        tree_shap(xgb_models["booster_binary"], cohort.design.drop(columns="age"))
    with pytest.raises(TypeError, match="DataFrame"):
        tree_shap(xgb_models["booster_binary"], cohort.design.to_numpy())


def test_logistic_pipeline_linear_shap_adds_up_to_decision_function(cohort, logistic_pipeline):
    design = cohort.design.drop(columns="ki67_percent__missing")
    transformed = logistic_pipeline[:-1].transform(design)
    model = logistic_pipeline[-1]
    background = transformed.mean().to_numpy()
    result = linear_shap(
        model.coef_[0], model.intercept_[0], transformed, background, scale="log_odds"
    )
    assert check_additivity(result, atol=1e-6) < 1e-10
    np.testing.assert_allclose(
        result.margin, logistic_pipeline.decision_function(design), atol=1e-10
    )
    assert "missingindicator_ki67_percent" in result.feature_names


def test_linear_shap_matches_shap_linear_explainer(cohort, logistic_pipeline):
    design = cohort.design.drop(columns="ki67_percent__missing")
    transformed = logistic_pipeline[:-1].transform(design)
    model = logistic_pipeline[-1]
    background = transformed.iloc[:100]  # shap's masker keeps at most 100 background rows
    explainer = shap.LinearExplainer(
        (model.coef_[0], model.intercept_[0]), background, feature_perturbation="interventional"
    )
    reference = explainer.shap_values(transformed)
    result = linear_shap(
        model.coef_[0], model.intercept_[0], transformed, background.mean().to_numpy()
    )
    np.testing.assert_allclose(result.values.to_numpy(), reference, atol=1e-10)
    assert result.base_value == pytest.approx(float(explainer.expected_value), abs=1e-10)


def test_linear_cox_shap_adds_up_to_the_sksurv_linear_predictor(cohort, linear_cox):
    prep, model = linear_cox
    transformed = prep.transform(cohort.design.drop(columns="ki67_percent__missing"))
    result = linear_shap(
        model.coef_, 0.0, transformed, np.zeros(transformed.shape[1]), scale="log_hazard"
    )
    assert check_additivity(result) < 1e-10
    np.testing.assert_allclose(result.margin, model.predict(transformed), atol=1e-10)
    # scaled columns have mean zero, so the base value is the mean linear predictor (~0)
    assert result.base_value == 0.0


def test_linear_shap_rejects_nan_and_shape_mismatch(cohort):
    frame = cohort.design[["age", "ki67_percent"]]
    with pytest.raises(ValueError, match="NaN"):
        linear_shap(np.ones(2), 0.0, frame, np.zeros(2))
    with pytest.raises(ValueError, match="shapes disagree"):
        linear_shap(np.ones(3), 0.0, frame.fillna(0), np.zeros(2))


def test_check_additivity_raises_on_a_broken_result():
    values = pd.DataFrame({"a": [0.5, -0.2], "b": [0.1, 0.1]})
    ok = ShapResult(values, 1.0, np.array([1.6, 0.9]), ("a", "b"))
    assert check_additivity(ok) == pytest.approx(0.0, abs=1e-15)
    broken = ShapResult(values, 1.0, np.array([1.6, 0.9 + 1e-5]), ("a", "b"))
    with pytest.raises(ValueError, match="do not add up"):
        check_additivity(broken)
    assert check_additivity(broken, atol=1e-4) == pytest.approx(1e-5, rel=1e-6)


def test_early_stopped_models_explain_what_their_predict_uses(cohort):
    X, y = cohort.design, cohort.response
    valid = xgb.DMatrix(X.iloc[:100], label=1 - y[:100])  # adversarial: stops early
    booster = xgb.train(
        {"objective": "binary:logistic", "eta": 0.3, "nthread": 1},
        xgb.DMatrix(X, label=y),
        num_boost_round=50,
        evals=[(valid, "valid")],
        early_stopping_rounds=3,
        verbose_eval=False,
    )
    assert booster.best_iteration + 1 < booster.num_boosted_rounds()
    full = tree_shap(booster, X)
    np.testing.assert_allclose(
        full.margin, booster.predict(xgb.DMatrix(X), output_margin=True), atol=1e-4
    )
    best = tree_shap(make_tree_explainer(booster, n_iterations=booster.best_iteration + 1), X)
    check_additivity(best)
    assert np.abs(best.margin - full.margin).max() > 1e-3
    clf = xgb.XGBClassifier(n_estimators=50, learning_rate=0.3, early_stopping_rounds=3, n_jobs=1)
    clf.fit(X, y.astype(int), eval_set=[(X.iloc[:100], (1 - y[:100]).astype(int))], verbose=False)
    result = tree_shap(clf, X)
    p = clf.predict_proba(X)[:, 1]
    np.testing.assert_allclose(result.margin, np.log(p / (1 - p)), atol=1e-4)
    with pytest.raises(ValueError, match="n_iterations"):
        make_tree_explainer(booster, n_iterations=0)

"""Linear models with log terms and therapy interactions; lasso logistic; cheaper tuning fits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sksurv.metrics import concordance_index_censored

from models.crossval import Candidate, TuningConfig, fit_candidate
from models.design import LinearPreprocessor, interaction_parts
from models.explain import check_additivity, group_by_variable, linear_shap
from models.response import LogisticResponseClassifier
from models.survival import PenalisedCoxSurvival, XGBCoxSurvival

PRRT_X_SSTR = "therapy__prrt_lu177__x__sstr_krenning"


def test_interaction_columns_are_products_of_standardised_inputs(split):
    X = split.X_train
    prep = LinearPreprocessor(log_columns=["ki67_percent"],
                              interactions=[("therapy__prrt_lu177", "sstr_krenning"),
                                            ("therapy__ssa", "not_a_column")]).fit(X)
    assert prep.interactions_ == [("therapy__prrt_lu177", "sstr_krenning")]  # absent pair skipped
    out = prep.transform(X)
    assert list(out.columns)[-1] == PRRT_X_SSTR
    assert interaction_parts(PRRT_X_SSTR) == ("therapy__prrt_lu177", "sstr_krenning")
    assert interaction_parts("ki67_percent__missing") is None
    z = lambda c: (X[c] - X[c].mean()) / X[c].std(ddof=0)  # noqa: E731 (no NaN in these two)
    raw = z("therapy__prrt_lu177") * z("sstr_krenning")
    expected = (raw - raw.mean()) / raw.std(ddof=0)
    np.testing.assert_allclose(out[PRRT_X_SSTR].to_numpy(), expected.to_numpy(), atol=1e-10)
    # ki67 is on the log scale: standardised log of the median-imputed value
    ki = np.log(X["ki67_percent"].fillna(X["ki67_percent"].median()))
    np.testing.assert_allclose(out["ki67_percent"].to_numpy(),
                               ((ki - ki.mean()) / ki.std(ddof=0)).to_numpy(), atol=1e-10)
    again = LinearPreprocessor.from_dict(json.loads(json.dumps(prep.to_dict())))
    pd.testing.assert_frame_equal(again.transform(split.X_test), prep.transform(split.X_test))


def _c(y, risk):
    return concordance_index_censored(y["event"], y["time"], risk)[0]


def test_penalised_cox_recovers_the_prrt_by_sstr_interaction(split):
    plain = PenalisedCoxSurvival(alpha=0.02).fit(split.X_train, split.y_train)
    shaped = PenalisedCoxSurvival(alpha=0.02, log_columns=("ki67_percent",),
                                  treatment_interactions=("sstr_krenning",)).fit(
        split.X_train, split.y_train)
    names = shaped.preprocessor_.feature_names_out_
    # truth: log-HR falls by 0.35 per Krenning point on PRRT only
    assert shaped.coef_[names.index(PRRT_X_SSTR)] < -0.05
    truth = _c(split.y_test, split.true_log_hr_test)
    gain = _c(split.y_test, shaped.predict_risk(split.X_test)) - _c(
        split.y_test, plain.predict_risk(split.X_test))
    assert gain > 0.003, gain
    assert _c(split.y_test, shaped.predict_risk(split.X_test)) > 0.9 * truth


def test_interaction_shap_is_shared_by_its_two_variables_and_adds_up(split):
    model = PenalisedCoxSurvival(alpha=0.02, treatment_interactions=("sstr_krenning",)).fit(
        split.X_train, split.y_train)
    result = linear_shap(model.coef_, model.intercept_, model.transform_inputs(split.X_test),
                         model.background_mean_, scale="log_hazard")
    check_additivity(result, 1e-9)
    grouped = group_by_variable(result, dict(split.design.variable_of_))
    check_additivity(grouped, 1e-9)
    assert not any("__x__" in c for c in grouped.values.columns)
    crossed = [c for c in result.values.columns if c.endswith("__x__sstr_krenning")]
    assert len(crossed) == 5  # one per therapy level
    inter = result.values[crossed].to_numpy().sum(axis=1)
    own = result.values["sstr_krenning"].to_numpy()
    np.testing.assert_allclose(grouped.values["sstr_krenning"].to_numpy(), own + inter / 2)


def test_lasso_logistic_zeroes_inputs_and_validates_penalty(split):
    y = split.train["response"].to_numpy()
    keep = ~np.isnan(y)
    X, y = split.X_train[keep], y[keep]
    lasso = LogisticResponseClassifier(C=0.05, penalty="l1").fit(X, y)
    ridge = LogisticResponseClassifier(C=0.05).fit(X, y)
    # ridge zeroes only the constant column (a site never drawn); lasso drops inputs too
    assert (lasso.coef_ == 0).sum() >= (ridge.coef_ == 0).sum() + 3
    assert 0.01 < lasso.predict_proba(X).mean() < 0.99
    with pytest.raises(ValueError, match="penalty"):
        LogisticResponseClassifier(penalty="l3").fit(X, y)
    with pytest.raises(ValueError, match="l1_ratio"):
        LogisticResponseClassifier(penalty="elasticnet", l1_ratio=0.0).fit(X, y)


def test_no_refit_keeps_the_early_stopped_booster(split):
    kw = {"n_estimators": 200, "learning_rate": 0.1, "random_state": 3}
    refit = XGBCoxSurvival(**kw).fit(split.X_train, split.y_train)
    early = XGBCoxSurvival(**kw, refit=False).fit(split.X_train, split.y_train)
    assert refit.n_rounds_ == early.n_rounds_
    assert early.booster_.num_boosted_rounds() == early.n_rounds_
    assert early.booster_.feature_names == list(split.X_train.columns)
    assert not np.allclose(refit.predict_risk(split.X_test), early.predict_risk(split.X_test))


def test_candidate_trial_budget_overrides_the_tuning_default(split):
    space = {"alpha": {"type": "float", "low": 0.005, "high": 0.5, "log": True}}
    fixed = Candidate("pc", PenalisedCoxSurvival, {"alpha": 0.123}, space, n_trials=0)
    _, params = fit_candidate(fixed, "survival", split.X_train, split.y_train,
                              tuning=TuningConfig(n_trials=3, inner_folds=2), seed=0)
    assert params["alpha"] == 0.123
    tuned = Candidate("pc", PenalisedCoxSurvival, {"alpha": 0.123}, space, n_trials=2)
    _, params = fit_candidate(tuned, "survival", split.X_train, split.y_train,
                              tuning=TuningConfig(n_trials=3, inner_folds=2), seed=0)
    assert params["alpha"] != 0.123


def test_treatment_weight_relieves_the_penalty_on_therapy_only(split):
    y = split.train["response"].to_numpy()
    keep = ~np.isnan(y)
    X, y = split.X_train[keep], y[keep]
    plain = LogisticResponseClassifier(C=0.01).fit(X, y)
    free = LogisticResponseClassifier(C=0.01, treatment_weight=5.0).fit(X, y)
    names = plain.preprocessor_.feature_names_out_
    therapy = [j for j, c in enumerate(names) if c.startswith("therapy__")]
    other = [j for j, c in enumerate(names) if not c.startswith("therapy__")]
    # the weighted columns are 5 x their standardised value, the others unchanged
    Xt, Xf = plain.transform_inputs(split.X_test), free.transform_inputs(split.X_test)
    np.testing.assert_allclose(Xf.iloc[:, therapy], 5.0 * Xt.iloc[:, therapy], atol=1e-12)
    np.testing.assert_allclose(Xf.iloc[:, other], Xt.iloc[:, other], atol=1e-12)
    # effect on the margin per SD of a therapy indicator: larger once the penalty is relieved
    effect_plain = np.abs(plain.coef_[therapy]).sum()
    effect_free = np.abs(5.0 * free.coef_[therapy]).sum()
    assert effect_free > 1.5 * effect_plain
    with pytest.raises(ValueError, match="weight"):
        LogisticResponseClassifier(treatment_weight=0.0).fit(X, y)

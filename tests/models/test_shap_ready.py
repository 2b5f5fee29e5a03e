"""The fitted models expose what SHAP needs: a booster whose margin is predict_margin, and
linear numbers whose closed form reproduces predict_margin."""

import numpy as np
import pytest
import shap
import xgboost as xgb

from models.response import LogisticResponseClassifier, XGBResponseClassifier
from models.survival import PenalisedCoxSurvival, XGBAFTSurvival, XGBCoxSurvival


@pytest.mark.parametrize("cls", [XGBResponseClassifier, XGBCoxSurvival, XGBAFTSurvival])
def test_tree_shap_adds_up_to_predict_margin(cls, split):
    y = split.y_train
    X = split.X_train
    if cls is XGBResponseClassifier:
        known = split.train["response"].notna().to_numpy()
        X, y = X[known], split.train["response"].to_numpy()[known]
    model = cls(n_estimators=80, learning_rate=0.1).fit(X, y)
    test = split.X_test.iloc[:50]
    explainer = shap.TreeExplainer(model.booster_)
    phi = explainer.shap_values(test.to_numpy(dtype=np.float32))
    total = np.asarray(explainer.expected_value).ravel()[0] + phi.sum(axis=1)
    np.testing.assert_allclose(total, model.predict_margin(test), atol=1e-4)
    contribs = model.booster_.predict(xgb.DMatrix(test), pred_contribs=True)
    np.testing.assert_allclose(contribs.sum(axis=1), model.predict_margin(test), atol=1e-4)


@pytest.mark.parametrize("cls", [LogisticResponseClassifier, PenalisedCoxSurvival])
def test_linear_closed_form_shap_adds_up(cls, split):
    y = split.y_train
    X = split.X_train
    if cls is LogisticResponseClassifier:
        known = split.train["response"].notna().to_numpy()
        X, y = X[known], split.train["response"].to_numpy()[known]
    model = cls().fit(X, y)
    Xt = model.transform_inputs(split.X_test).to_numpy()
    phi = (Xt - model.background_mean_) * model.coef_
    base = model.intercept_ + model.coef_ @ model.background_mean_
    np.testing.assert_allclose(base + phi.sum(axis=1), model.predict_margin(split.X_test),
                               atol=1e-10)

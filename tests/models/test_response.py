"""Response models: discrimination, held-out calibration, direction, input validation."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.metrics import roc_auc_score

from models.response import LogisticResponseClassifier, XGBResponseClassifier

MODELS = {
    "xgb_platt": lambda: XGBResponseClassifier(),
    "xgb_isotonic": lambda: XGBResponseClassifier(calibration="isotonic"),
    "logistic": lambda: LogisticResponseClassifier(),
}


def _known(frame, X):
    mask = frame["response"].notna().to_numpy()
    return X[mask], frame["response"].to_numpy()[mask]


@pytest.fixture(scope="module")
def fitted(split):
    X, y = _known(split.train, split.X_train)
    return {name: make().fit(X, y) for name, make in MODELS.items()}


@pytest.mark.parametrize("name", MODELS)
def test_auc_well_above_chance(name, fitted, split):
    X, y = _known(split.test, split.X_test)
    truth = roc_auc_score(y, split.true_log_odds_test[split.test["response"].notna()])
    auc = roc_auc_score(y, fitted[name].predict_proba(X))
    assert 0.78 < truth < 0.86  # the synthetic truth gives ~0.82
    assert auc > 0.74, f"{name}: AUC {auc:.3f} (truth {truth:.3f})"


@pytest.mark.parametrize("name", MODELS)
def test_calibration_in_the_large_on_held_out(name, fitted, split):
    X, y = _known(split.test, split.X_test)
    prob = fitted[name].predict_proba(X)
    assert prob.shape == (len(X),)
    assert ((prob >= 0) & (prob <= 1)).all()
    assert abs(prob.mean() - y.mean()) < 0.05


def test_calibration_maps_margin_monotonically(fitted, split):
    model = fitted["xgb_platt"]
    margin = model.predict_margin(split.X_test)
    prob = model.predict_proba(split.X_test)
    order = np.argsort(margin)
    assert (np.diff(prob[order]) >= 0).all()
    assert model.calibration_["method"] == "platt"
    assert model.calibration_["a"] > 0
    iso = fitted["xgb_isotonic"].calibration_
    assert iso["method"] == "isotonic"
    assert np.all(np.diff(iso["x"]) >= 0)
    logistic = fitted["logistic"]
    np.testing.assert_allclose(logistic.predict_proba(split.X_test),
                               expit(logistic.predict_margin(split.X_test)))


@pytest.mark.parametrize("name", MODELS)
def test_raising_ki67_does_not_raise_response(name, fitted, split):
    model = fitted[name]
    X = split.X_test.assign(ki67_percent=split.X_test["ki67_percent"].fillna(5.0))
    delta = model.predict_margin(X.assign(ki67_percent=X["ki67_percent"] * 3)) - \
        model.predict_margin(X)
    assert delta.mean() < -0.05
    assert (delta <= 1e-9).mean() > 0.85  # trees are not monotone row by row


def test_response_target_is_validated(split):
    with pytest.raises(ValueError, match="NaN"):
        XGBResponseClassifier().fit(split.X_train, split.train["response"])
    with pytest.raises(ValueError, match="single class"):
        LogisticResponseClassifier().fit(split.X_train, np.zeros(len(split.X_train)))
    with pytest.raises(ValueError, match="calibration"):
        XGBResponseClassifier(calibration="beta").fit(split.X_train,
                                                      np.arange(len(split.X_train)) % 2)
    with pytest.raises(TypeError, match="DataFrame"):
        LogisticResponseClassifier().fit(split.X_train.to_numpy(),
                                         np.arange(len(split.X_train)) % 2)


def test_early_stopping_limits_rounds(split):
    X, y = _known(split.train, split.X_train)
    model = XGBResponseClassifier(n_estimators=2000, learning_rate=0.3,
                                  early_stopping_rounds=10).fit(X, y)
    assert model.n_rounds_ < 200
    full = XGBResponseClassifier(n_estimators=40, early_stopping_rounds=None,
                                 calibration="none").fit(X, y)
    assert full.n_rounds_ == 40 == full.booster_.num_boosted_rounds()

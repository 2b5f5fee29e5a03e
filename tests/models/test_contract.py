"""Estimator contract for every model: fit returns self, not-fitted error, clone, determinism,
keyword-only init, native save/load round trip with no pickle."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from models.response import LogisticResponseClassifier, XGBResponseClassifier
from models.survival import PenalisedCoxSurvival, XGBAFTSurvival, XGBCoxSurvival

FAST = {"n_estimators": 60, "learning_rate": 0.1}
MODELS = {
    "xgb_response": (XGBResponseClassifier, FAST, "response"),
    "xgb_response_isotonic": (XGBResponseClassifier, {**FAST, "calibration": "isotonic"},
                              "response"),
    "logistic": (LogisticResponseClassifier, {"C": 0.5}, "response"),
    "xgb_cox": (XGBCoxSurvival, FAST, "survival"),
    "xgb_aft": (XGBAFTSurvival, {**FAST, "distribution": "logistic", "sigma": 0.8},
                "survival"),
    "coxnet": (PenalisedCoxSurvival, {"alpha": 0.05}, "survival"),
    "ridge_cox": (PenalisedCoxSurvival, {"method": "ridge", "alpha": 1.0}, "survival"),
}
TIMES = [6.0, 12.0, 24.0, 36.0]


def _data(split, kind):
    if kind == "response":
        known = split.train["response"].notna().to_numpy()
        return split.X_train[known], split.train["response"].to_numpy()[known]
    return split.X_train, split.y_train


def _outputs(model, X, kind):
    if kind == "response":
        return [model.predict_proba(X), model.predict_margin(X)]
    return [model.predict_risk(X), model.predict_margin(X), model.predict_survival(X, TIMES)]


def _assert_same(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def fitted(split):
    out = {}
    for name, (cls, params, kind) in MODELS.items():
        X, y = _data(split, kind)
        model = cls(**params)
        assert model.fit(X, y) is model
        out[name] = model
    return out


@pytest.mark.parametrize("name", MODELS)
def test_not_fitted_raises_and_init_is_keyword_only(name, split):
    cls, params, kind = MODELS[name]
    with pytest.raises(NotFittedError):
        _outputs(cls(**params), split.X_test, kind)
    with pytest.raises(TypeError):
        cls(0.1)


@pytest.mark.parametrize("name", MODELS)
def test_clone_keeps_params_and_refits_bit_identically(name, split, fitted):
    cls, params, kind = MODELS[name]
    model = fitted[name]
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert not hasattr(twin, "coef_")
    assert not hasattr(twin, "booster_")
    X, y = _data(split, kind)
    twin.fit(X, y)
    _assert_same(_outputs(model, split.X_test, kind), _outputs(twin, split.X_test, kind))


@pytest.mark.parametrize("name", MODELS)
def test_save_load_round_trip_identical_and_no_pickle(name, split, fitted, tmp_path):
    cls, _, kind = MODELS[name]
    model = fitted[name]
    model.save(tmp_path, design=split.design)
    files = sorted(p.name for p in Path(tmp_path).iterdir())
    assert set(files) <= {"model.ubj", "model.json", "design.json"}
    assert ("model.ubj" in files) == name.startswith("xgb")
    for path in Path(tmp_path).iterdir():
        head = path.read_bytes()[:2]
        assert head[:1] != b"\x80", f"{path.name} looks like a pickle"
    json.loads((tmp_path / "model.json").read_text())
    loaded = cls.load(tmp_path)
    assert loaded.get_params() == model.get_params()
    assert loaded.design_.columns_ == split.design.columns_
    _assert_same(_outputs(model, split.X_test, kind), _outputs(loaded, split.X_test, kind))


def test_load_refuses_another_kind(split, fitted, tmp_path):
    fitted["xgb_cox"].save(tmp_path)
    with pytest.raises(ValueError, match="XGBCoxSurvival"):
        XGBAFTSurvival.load(tmp_path)


@pytest.mark.parametrize("name", MODELS)
def test_columns_are_aligned_by_name(name, split, fitted):
    _, _, kind = MODELS[name]
    model = fitted[name]
    shuffled = split.X_test[split.X_test.columns[::-1]]
    _assert_same(_outputs(model, split.X_test, kind), _outputs(model, shuffled, kind))
    with pytest.raises(ValueError, match="ecog"):
        _outputs(model, split.X_test.drop(columns="ecog"), kind)


def test_tree_models_expose_booster_and_linear_models_their_numbers(fitted, split):
    for name in ["xgb_response", "xgb_cox", "xgb_aft"]:
        booster = fitted[name].booster_
        assert booster.num_boosted_rounds() == fitted[name].n_rounds_
        assert booster.feature_names == split.design.columns_
    for name in ["logistic", "coxnet"]:
        model = fitted[name]
        Xt = model.transform_inputs(split.X_test)
        assert not Xt.isna().any().any()
        assert Xt.shape[1] == model.coef_.size == model.background_mean_.size
        np.testing.assert_allclose(model.predict_margin(split.X_test),
                                   model.intercept_ + Xt.to_numpy() @ model.coef_, rtol=1e-12)

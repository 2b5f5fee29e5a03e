"""Survival models: outcome constructor, Breslow baseline, curves, discrimination, direction."""

import numpy as np
import pytest
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.metrics import concordance_index_censored

from models.survival import (
    PenalisedCoxSurvival,
    XGBAFTSurvival,
    XGBCoxSurvival,
    breslow_cumulative_hazard,
    make_surv,
)

TIMES = np.array([0.0, 3.0, 6.0, 12.0, 18.0, 24.0, 36.0, 48.0, 120.0])
MODELS = {
    "xgb_cox": lambda: XGBCoxSurvival(),
    "xgb_aft": lambda: XGBAFTSurvival(),
    "coxnet": lambda: PenalisedCoxSurvival(),
}


@pytest.fixture(scope="module")
def fitted(split):
    return {name: make().fit(split.X_train, split.y_train) for name, make in MODELS.items()}


def _c_index(y, risk):
    return concordance_index_censored(y["event"], y["time"], risk)[0]


def test_make_surv_validates():
    y = make_surv([1.0, 2.0, 0.0], [1, 0, 1])
    assert y.dtype.names == ("event", "time")
    assert y["event"].dtype == bool
    with pytest.raises(ValueError, match="negative"):
        make_surv([1.0, -2.0], [1, 1])
    with pytest.raises(ValueError, match="censored"):
        make_surv([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="NaN"):
        make_surv([1.0, np.nan], [1, 0])
    with pytest.raises(ValueError, match="length"):
        make_surv([1.0, 2.0], [1])
    with pytest.raises(ValueError, match="0/1"):
        make_surv([1.0, 2.0], [1, 2])


def test_breslow_matches_hand_computation_with_ties():
    margin = np.log(np.array([1.0, 2.0, 1.0, 3.0, 1.0]))
    time = np.array([1.0, 2.0, 2.0, 3.0, 4.0])
    event = np.array([1, 1, 1, 0, 1], dtype=bool)
    times, cumhaz = breslow_cumulative_hazard(margin, time, event)
    expected = np.cumsum([1 / 8, 2 / 7, 1 / 1])  # t=1: all at risk; t=2: two deaths; t=4
    np.testing.assert_array_equal(times, [1.0, 2.0, 4.0])
    np.testing.assert_allclose(cumhaz, expected, rtol=1e-12)


def test_breslow_matches_sksurv(split):
    rng = np.random.default_rng(3)
    margin = rng.normal(0, 0.7, len(split.y_train))
    times, cumhaz = breslow_cumulative_hazard(margin, split.y_train["time"],
                                              split.y_train["event"])
    ref = BreslowEstimator().fit(margin, split.y_train["event"], split.y_train["time"])
    grid = np.concatenate([times, [times[-1] + 1.0]])
    np.testing.assert_allclose(cumhaz, ref.cum_baseline_hazard_(times), rtol=1e-10)
    model = PenalisedCoxSurvival(method="ridge", alpha=1.0).fit(split.X_train, split.y_train)
    ref_model = BreslowEstimator().fit(model.predict_margin(split.X_train),
                                       split.y_train["event"], split.y_train["time"])
    surv = model.predict_survival(split.X_test.iloc[:20], grid)
    expected = np.vstack([f(grid) for f in ref_model.get_survival_function(
        model.predict_margin(split.X_test.iloc[:20]))])
    np.testing.assert_allclose(surv, expected, rtol=1e-9)


@pytest.mark.parametrize("name", MODELS)
def test_survival_curves_monotone_and_bounded(name, fitted, split):
    surv = fitted[name].predict_survival(split.X_test, TIMES)
    assert surv.shape == (len(split.X_test), TIMES.size)
    assert np.isfinite(surv).all()
    assert (surv >= 0).all()
    assert (surv <= 1).all()
    assert (np.diff(surv, axis=1) <= 0).all()
    np.testing.assert_allclose(surv[:, 0], 1.0)
    assert surv[:, -1].mean() < 0.2  # almost everyone progresses within 10 years


@pytest.mark.parametrize("name", MODELS)
def test_higher_risk_means_lower_survival(name, fitted, split):
    model = fitted[name]
    risk = model.predict_risk(split.X_test)
    s24 = model.predict_survival(split.X_test, [24.0])[:, 0]
    rank_corr = np.corrcoef(np.argsort(np.argsort(risk)), np.argsort(np.argsort(s24)))[0, 1]
    assert rank_corr < -0.99


@pytest.mark.parametrize("name", MODELS)
def test_discrimination_well_above_chance(name, fitted, split):
    truth = _c_index(split.y_test, split.true_log_hr_test)
    c = _c_index(split.y_test, fitted[name].predict_risk(split.X_test))
    assert 0.75 < truth < 0.80  # the synthetic truth gives ~0.77
    assert c > 0.70, f"{name}: Harrell C {c:.3f} (truth {truth:.3f})"


@pytest.mark.parametrize("name", MODELS)
def test_raising_ki67_does_not_lower_risk(name, fitted, split):
    model = fitted[name]
    X = split.X_test.copy()
    X["ki67_percent"] = X["ki67_percent"].fillna(5.0)
    higher = X.assign(ki67_percent=X["ki67_percent"] * 3.0)
    delta = model.predict_risk(higher) - model.predict_risk(X)
    assert delta.mean() > 0.05
    assert (delta >= -1e-9).mean() > 0.95


def test_mean_predicted_survival_tracks_kaplan_meier(fitted, split):
    from sksurv.nonparametric import kaplan_meier_estimator

    km_t, km_s = kaplan_meier_estimator(split.y_test["event"], split.y_test["time"])
    km24 = km_s[np.searchsorted(km_t, 24.0, side="right") - 1]
    for name, model in fitted.items():
        pred = model.predict_survival(split.X_test, [24.0])[:, 0].mean()
        assert abs(pred - km24) < 0.07, f"{name}: mean S(24) {pred:.3f} vs KM {km24:.3f}"


def test_aft_distribution_and_inputs_validated(split):
    with pytest.raises(ValueError, match="distribution"):
        XGBAFTSurvival(distribution="weibull").fit(split.X_train, split.y_train)
    with pytest.raises(ValueError, match="method"):
        PenalisedCoxSurvival(method="lasso-ish").fit(split.X_train, split.y_train)
    with pytest.raises(TypeError, match="make_surv"):
        XGBCoxSurvival().fit(split.X_train, split.y_train["time"])


@pytest.mark.parametrize("method", ["coxnet", "ridge"])
def test_unpenalised_therapy_effects_match_an_unpenalised_cox(split, method):
    """treatment_penalty 0: with every covariate shrunk away, the therapy log-HRs are the
    unpenalised Cox estimates on the therapy alone (lifelines, an independent fit)."""
    from lifelines import CoxPHFitter

    from models.survival import PenalisedCoxSurvival

    strong = 1e4 if method == "ridge" else 5.0
    model = PenalisedCoxSurvival(method=method, alpha=strong, l1_ratio=1.0,
                                 treatment_penalty=0.0).fit(split.X_train, split.y_train)
    therapy = [c for c in split.X_train.columns if c.startswith("therapy__")]
    received = split.X_train[therapy].to_numpy().argmax(axis=1)
    frame = split.X_train[therapy[1:]].assign(time=split.y_train["time"],
                                              event=split.y_train["event"].astype(int))
    reference = CoxPHFitter().fit(frame, "time", "event").params_
    # the model's log-HR of each therapy vs the first, read from its margins
    margin = model.predict_margin(split.X_train)
    first = margin[received == 0].mean()
    for j, col in enumerate(therapy[1:], start=1):
        if (received == j).sum() < 20:
            continue
        assert margin[received == j].mean() - first == pytest.approx(reference[col], abs=0.03)
    shrunk = PenalisedCoxSurvival(method=method, alpha=strong, l1_ratio=1.0).fit(
        split.X_train, split.y_train)
    assert np.ptp(shrunk.predict_margin(split.X_train)) < 0.5 * np.ptp(margin)  # effects shrunk
    with pytest.raises(ValueError, match="treatment_penalty"):
        PenalisedCoxSurvival(treatment_penalty=-1.0).fit(split.X_train, split.y_train)


def test_interaction_penalty_keeps_effect_modifiers_when_everything_else_is_shrunk(split):
    from models.survival import PenalisedCoxSurvival

    kw = {"alpha": 5.0, "l1_ratio": 1.0, "treatment_penalty": 0.0,
          "treatment_interactions": ("sstr_krenning", "ki67_percent")}
    kept = PenalisedCoxSurvival(interaction_penalty=0.0, **kw).fit(split.X_train, split.y_train)
    names = kept.preprocessor_.feature_names_out_
    crossed = np.array(["__x__" in c for c in names])
    prognostic = ~crossed & ~np.array([c.startswith("therapy__") for c in names])
    assert np.abs(kept.coef_[crossed]).max() > 0.01  # unpenalised: estimated
    assert np.abs(kept.coef_[prognostic]).max() == 0.0  # penalised away at this alpha
    shrunk = PenalisedCoxSurvival(**kw).fit(split.X_train, split.y_train)
    assert np.abs(shrunk.coef_[crossed]).max() == 0.0

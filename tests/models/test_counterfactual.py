"""What-if predictions: eligibility rules, therapy effects, positivity notes."""

import json

import numpy as np
import pytest

from models.counterfactual import (
    RARE_NOTE,
    PositivityModel,
    default_eligibility,
    fit_positivity,
    predict_what_if,
)
from models.response import LogisticResponseClassifier
from models.survival import XGBCoxSurvival

THERAPIES = ["prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy"]


@pytest.fixture(scope="module")
def cox(split):
    return XGBCoxSurvival().fit(split.X_train, split.y_train)


@pytest.fixture(scope="module")
def positivity(split):
    return fit_positivity(split.train, split.design)


def test_default_eligibility_rules(table):
    ok, why = default_eligibility(table, "sunitinib")
    np.testing.assert_array_equal(ok, table["primary_site"].eq("pancreas").to_numpy())
    assert set(why[~ok]) == {"sunitinib only for pancreatic primaries"}
    ok, why = default_eligibility(table, "prrt_lu177")
    np.testing.assert_array_equal(ok, (table["sstr_krenning"] >= 2).to_numpy())
    ok, why = default_eligibility(table.assign(sstr_krenning=np.nan), "prrt_lu177")
    assert not ok.any()
    assert set(why) == {"SSTR uptake not documented"}
    ok, _ = default_eligibility(table.drop(columns="sstr_krenning"), "prrt_lu177")
    assert ok.all()
    ok, why = default_eligibility(table, "ssa")
    assert ok.all()
    assert set(why) == {""}


def test_what_if_shape_eligibility_and_survival_columns(cox, split, positivity):
    frame = split.test.iloc[:40]
    out = predict_what_if(cox, split.design, frame, THERAPIES, positivity=positivity)
    assert len(out) == 40 * len(THERAPIES)
    assert list(out.columns) == ["row", "therapy", "eligible", "reason", "risk", "survival_12",
                                 "survival_24", "propensity", "positivity_note"]
    assert out["row"].tolist() == np.repeat(np.arange(40), len(THERAPIES)).tolist()
    suni = out[out["therapy"] == "sunitinib"]
    pancreas = frame["primary_site"].eq("pancreas").to_numpy()
    np.testing.assert_array_equal(suni["eligible"].to_numpy(), pancreas)
    assert suni.loc[~suni["eligible"], "risk"].isna().all()
    assert suni.loc[suni["eligible"], "risk"].notna().all()
    assert (out["survival_24"].dropna() <= out["survival_12"].dropna()).all()
    np.testing.assert_allclose(
        out.groupby("row")["propensity"].sum().to_numpy(), 1.0, atol=1e-9)


def test_what_if_matches_direct_prediction_and_ignores_received_therapy(cox, split):
    frame = split.test.iloc[:30]
    out = predict_what_if(cox, split.design, frame, ["ssa"])
    direct = cox.predict_risk(split.design.transform(frame.assign(therapy="ssa")))
    np.testing.assert_allclose(out["risk"].to_numpy(), direct, rtol=1e-12)
    again = predict_what_if(cox, split.design, frame.assign(therapy="everolimus"), ["ssa"])
    np.testing.assert_array_equal(again["risk"].to_numpy(), out["risk"].to_numpy())


def test_predictions_follow_the_true_therapy_effect(cox, split):
    # truth: PRRT log HR -0.9 (stronger with higher Krenning) vs SSA 0 vs chemotherapy +0.4
    out = predict_what_if(cox, split.design, split.test, ["prrt_lu177", "ssa", "chemotherapy"])
    wide = out.pivot(index="row", columns="therapy", values="risk")
    both = wide.dropna()
    assert (both["prrt_lu177"] - both["ssa"]).mean() < -0.3
    assert (wide["chemotherapy"] - wide["ssa"]).mean() > 0.1
    assert wide["prrt_lu177"].std() > 0
    assert not np.allclose(wide["ssa"], wide["chemotherapy"])


def test_what_if_for_response_model(split):
    known = split.train["response"].notna().to_numpy()
    model = LogisticResponseClassifier().fit(split.X_train[known],
                                             split.train["response"].to_numpy()[known])
    out = predict_what_if(model, split.design, split.test, ["prrt_lu177", "ssa"])
    assert "response_prob" in out.columns
    assert "risk" not in out.columns
    wide = out.pivot(index="row", columns="therapy", values="response_prob").dropna()
    assert (wide["prrt_lu177"] - wide["ssa"]).mean() > 0.15  # truth: +2.8 log-odds


def test_unknown_therapy_rejected(cox, split):
    with pytest.raises(ValueError, match="radiotherapy"):
        predict_what_if(cox, split.design, split.test.iloc[:3], ["radiotherapy"])


def test_positivity_flags_rare_therapies_and_round_trips(split, positivity):
    prop = positivity.predict_propensity(split.test)
    assert list(prop.columns) == THERAPIES
    non_pancreas = ~split.test["primary_site"].eq("pancreas").to_numpy()
    assert prop.loc[non_pancreas, "sunitinib"].max() < 0.05  # never given outside pancreas
    low_uptake = (split.test["sstr_krenning"] < 2).to_numpy()
    assert prop.loc[low_uptake, "prrt_lu177"].mean() < prop.loc[~low_uptake, "prrt_lu177"].mean()
    def custom(frame, therapy):
        return (np.ones(len(frame), bool), np.full(len(frame), "", object))
    out = predict_what_if(XGBCoxSurvival(n_estimators=30).fit(split.X_train, split.y_train),
                          split.design, split.test, ["sunitinib"], eligibility=custom,
                          positivity=positivity)
    notes = out["positivity_note"].to_numpy()
    assert (notes[non_pancreas] == RARE_NOTE).all()
    again = PositivityModel.from_dict(json.loads(json.dumps(positivity.to_dict())))
    np.testing.assert_array_equal(again.predict_propensity(split.test).to_numpy(), prop.to_numpy())


def test_cross_fitted_propensity_is_out_of_fold(table, dictionary):
    from models.counterfactual import cross_fitted_propensity

    folds = np.arange(len(table)) % 4
    prop = cross_fitted_propensity(table, dictionary, folds)
    assert list(prop.columns) == THERAPIES
    np.testing.assert_allclose(prop.sum(axis=1), 1.0)
    # a row's own therapy never informs its propensity: relabel fold 0's therapies and only
    # the other folds' propensities move
    changed = table.copy()
    changed.loc[folds == 0, "therapy"] = "ssa"
    again = cross_fitted_propensity(changed, dictionary, folds)
    np.testing.assert_allclose(again[folds == 0], prop[folds == 0])
    assert not np.allclose(again[folds == 1], prop[folds == 1])
    # sunitinib is given only for pancreatic primaries: elsewhere its propensity is tiny
    pancreas = table["primary_site"].eq("pancreas").to_numpy()
    assert prop.loc[~pancreas, "sunitinib"].max() < prop.loc[pancreas, "sunitinib"].median()
    with pytest.raises(ValueError, match="one fold per row"):
        cross_fitted_propensity(table, dictionary, folds[:-1])


def test_cross_validation_scores_every_test_row_under_every_therapy(table, dictionary):
    from models.crossval import Candidate, cross_validate
    from models.evaluation import repeated_stratified_kfold
    from models.survival import PenalisedCoxSurvival, make_surv

    y = make_surv(table["pfs_months"].to_numpy(float), table["pfs_event"].to_numpy(bool))
    splits = repeated_stratified_kfold(y, 3, 2, seed=1)
    cv = cross_validate([Candidate("penalised_cox", PenalisedCoxSurvival, {"alpha": 0.05})],
                        table, dictionary, y, splits, kind="survival", n_splits=3,
                        horizons=(12.0, 24.0), tuning=None, seed=1, therapies=THERAPIES)
    wi = cv.what_if
    assert set(wi["fold"]) == {0, 1, 2}  # the first repeat only
    assert wi.groupby("row")["therapy"].nunique().eq(5).all()
    assert sorted(wi["row"].unique()) == list(range(len(table)))
    # the received therapy's what-if is the ordinary out-of-fold prediction
    first = cv.predictions[cv.predictions["repeat"] == 0].set_index("row")
    own = wi[wi["therapy"].to_numpy() == table["therapy"].to_numpy()[wi["row"]]].set_index("row")
    ok = own["eligible"]
    np.testing.assert_allclose(own.loc[ok, "survival_12"], first.loc[own.index[ok], "surv_12"])

"""The project's estimators through register -> pyfunc: native files, design, SHAP per variable."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlops_helpers import DICTIONARY

from models.design import DesignMatrix
from models.response import LogisticResponseClassifier, XGBResponseClassifier
from models.survival import PenalisedCoxSurvival, XGBAFTSurvival, XGBCoxSurvival, make_surv
from pipeline import registry

INPUTS = ["age_at_index", "ki67_percent", "krenning_score", "therapy"]
CASES = {
    "models.response.XGBResponseClassifier": (
        "response", lambda: XGBResponseClassifier(n_estimators=60, calibration_folds=3)),
    "models.response.LogisticResponseClassifier": ("response", LogisticResponseClassifier),
    "models.survival.XGBCoxSurvival": ("pfs", lambda: XGBCoxSurvival(n_estimators=80)),
    "models.survival.XGBAFTSurvival": ("pfs", lambda: XGBAFTSurvival(n_estimators=80)),
    "models.survival.PenalisedCoxSurvival": ("pfs", PenalisedCoxSurvival),
}


@pytest.mark.parametrize("estimator", sorted(CASES))
def test_registered_estimator_serves_same_numbers(tracking_store, tmp_path, cohort, holdout,
                                                  estimator):
    endpoint, make = CASES[estimator]
    train = cohort[INPUTS + ["response", "pfs_months", "pfs_event"]]
    design = DesignMatrix().fit(train, DICTIONARY)
    assert design.variables_ == INPUTS
    X = design.transform(train)
    y = (train["response"].to_numpy() if endpoint == "response"
         else make_surv(train["pfs_months"].to_numpy(), train["pfs_event"].to_numpy() == 1))
    model = make().fit(X, y)
    folder = model.save(tmp_path / "native", design=design)
    mv = registry.register_model(endpoint, folder, estimator, None, DICTIONARY)
    assert mv.tags["estimator"] == estimator

    served = mlflow.pyfunc.load_model(f"models:/{registry.model_name(endpoint)}@challenger")
    rows = holdout[INPUTS].head(20)
    out = served.predict(rows, params={"explain": True})
    Xh = design.transform(rows)
    if endpoint == "response":
        np.testing.assert_allclose(out["p_response"], model.predict_proba(Xh), rtol=1e-6)
    else:
        np.testing.assert_allclose(out["risk_score"], model.predict_risk(Xh), rtol=1e-6)
        np.testing.assert_allclose(out["survival_12m"],
                                   model.predict_survival(Xh, [12.0])[:, 0], rtol=1e-6)
    shap_cols = [f"shap_{v}" for v in INPUTS]
    assert [c for c in out.columns if c.startswith("shap_")] == shap_cols + ["shap_base"]
    total = out[shap_cols + ["shap_base"]].sum(axis=1)
    np.testing.assert_allclose(total, model.predict_margin(Xh), atol=2e-4)


def test_therapy_is_required_by_default(tracking_store, tmp_path, cohort):
    train = cohort[INPUTS + ["response"]]
    design = DesignMatrix().fit(train, DICTIONARY)
    model = LogisticResponseClassifier().fit(design.transform(train), train["response"])
    folder = model.save(tmp_path / "native", design=design)
    registry.register_model("response", folder, "models.response.LogisticResponseClassifier",
                            None, DICTIONARY)
    served = mlflow.pyfunc.load_model("models:/net-response@challenger")
    therapy = next(c for c in served.metadata.get_input_schema().inputs if c.name == "therapy")
    assert therapy.required  # the typed signature says so
    assert therapy.type.name == "string"
    with pytest.raises(Exception, match="missing inputs.*therapy"):
        served.predict(pd.DataFrame({"age_at_index": [60.0], "ki67_percent": [5.0]}))
    with pytest.raises(Exception, match="field 'therapy': is required"):  # null: the model's check
        served.predict(pd.DataFrame({"age_at_index": [60.0], "therapy": [None]}))

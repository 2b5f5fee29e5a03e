"""Small synthetic NET cohort and one trained model of every kind the explain layer supports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

N_PATIENTS = 400
SITES = ["small_intestine", "pancreas", "lung", "unknown"]

DICTIONARY = {
    "version": 1,
    "features": [
        {
            "name": "ki67_percent",
            "label": "Ki-67 index",
            "unit": "%",
            "family": "pathology",
            "role": "feature",
            "dtype": "float",
            "range": [0, 100],
        },
        {
            "name": "tumour_liver_ratio",
            "label": "Tumour-to-liver ratio",
            "unit": "ratio",
            "family": "imaging",
            "role": "feature",
            "dtype": "float",
            "range": [0, 50],
        },
        {
            "name": "cga_x_uln",
            "label": "Chromogranin A",
            "unit": "x ULN",
            "family": "labs",
            "role": "feature",
            "dtype": "float",
            "range": [0, 500],
        },
        {
            "name": "age",
            "label": "Age",
            "unit": "years",
            "family": "clinical",
            "role": "feature",
            "dtype": "float",
            "range": [18, 95],
        },
        {
            "name": "ecog",
            "label": "ECOG performance status",
            "unit": "",
            "family": "clinical",
            "role": "feature",
            "dtype": "int",
            "range": [0, 4],
        },
        {
            "name": "primary_site",
            "label": "Primary site",
            "unit": "",
            "family": "clinical",
            "role": "feature",
            "dtype": "category",
            "categories": SITES,
            "range": None,
        },
        {
            "name": "functional_syndrome",
            "label": "Functional syndrome",
            "unit": "",
            "family": "clinical",
            "role": "feature",
            "dtype": "bool",
            "range": [0, 1],
        },
    ],
}


@dataclass(frozen=True)
class Cohort:
    """Clinical frame, design matrix (one-hot + indicator), mapping and outcomes."""

    frame: pd.DataFrame
    design: pd.DataFrame
    variable_of: dict[str, str]
    response: np.ndarray
    time: np.ndarray
    event: np.ndarray


def _simulate_frame(rng: np.random.Generator) -> pd.DataFrame:
    n = N_PATIENTS
    ki67 = np.clip(np.exp(rng.normal(np.log(5.0), 0.9, n)), 0.5, 60).round(1)
    ki67[rng.random(n) < 0.12] = np.nan
    ratio = np.exp(rng.normal(np.log(3.0), 0.5, n)).round(2)
    ratio[rng.random(n) < 0.08] = np.nan
    frame = pd.DataFrame(
        {
            "ki67_percent": ki67,
            "tumour_liver_ratio": ratio,
            "cga_x_uln": np.exp(rng.normal(0.8, 1.0, n)).round(2),
            "age": rng.normal(62, 10, n).round(0),
            "ecog": rng.choice([0, 1, 2], n, p=[0.5, 0.4, 0.1]).astype(float),
            "primary_site": rng.choice(SITES, n, p=[0.4, 0.35, 0.15, 0.1]),
            "functional_syndrome": rng.random(n) < 0.3,
        },
        index=pd.Index([f"P{i:04d}" for i in range(n)], name="pseudonym"),
    )
    return frame


def _design_of(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    design = frame.drop(columns=["primary_site", "functional_syndrome"]).astype(float)
    design["functional_syndrome"] = frame["functional_syndrome"].astype(float)
    design["ki67_percent__missing"] = frame["ki67_percent"].isna().astype(float)
    variable_of = {"ki67_percent__missing": "ki67_percent"}
    for site in SITES:
        column = f"primary_site__{site}"
        design[column] = (frame["primary_site"] == site).astype(float)
        variable_of[column] = "primary_site"
    return design, variable_of


@pytest.fixture(scope="session")
def cohort() -> Cohort:
    rng = np.random.default_rng(20261122)
    frame = _simulate_frame(rng)
    design, variable_of = _design_of(frame)
    log_ki67 = np.log(frame["ki67_percent"].fillna(5.0).to_numpy())
    ratio = frame["tumour_liver_ratio"].fillna(3.0).to_numpy()
    pancreas = (frame["primary_site"] == "pancreas").to_numpy()
    log_hazard = 0.9 * (log_ki67 - np.log(5.0)) - 0.3 * (ratio - 3.0) + 0.4 * pancreas
    time = rng.exponential(24.0 * np.exp(-log_hazard))
    censor = rng.uniform(6, 60, N_PATIENTS)
    logit = 0.9 * (ratio - 3.0) - 0.6 * (log_ki67 - np.log(5.0)) - 0.3
    response = (rng.random(N_PATIENTS) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    return Cohort(
        frame=frame,
        design=design,
        variable_of=variable_of,
        response=response,
        time=np.minimum(time, censor),
        event=time <= censor,
    )


_TREE_PARAMS = {"max_depth": 3, "eta": 0.1, "nthread": 1, "seed": 0}


@pytest.fixture(scope="session")
def xgb_models(cohort: Cohort) -> dict[str, object]:
    """xgboost models: Booster API for the three objectives and two sklearn wrappers."""
    X = cohort.design
    cox_label = np.where(cohort.event, cohort.time, -cohort.time)
    binary = xgb.train(
        {**_TREE_PARAMS, "objective": "binary:logistic"},
        xgb.DMatrix(X, label=cohort.response),
        num_boost_round=60,
    )
    cox = xgb.train(
        {**_TREE_PARAMS, "objective": "survival:cox"},
        xgb.DMatrix(X, label=cox_label),
        num_boost_round=60,
    )
    aft_data = xgb.DMatrix(X)
    aft_data.set_float_info("label_lower_bound", cohort.time)
    aft_data.set_float_info("label_upper_bound", np.where(cohort.event, cohort.time, np.inf))
    aft = xgb.train(
        {
            **_TREE_PARAMS,
            "objective": "survival:aft",
            "aft_loss_distribution": "normal",
            "aft_loss_distribution_scale": 1.0,
        },
        aft_data,
        num_boost_round=60,
    )
    classifier = xgb.XGBClassifier(n_estimators=40, max_depth=3, n_jobs=1, random_state=0)
    classifier.fit(X, cohort.response.astype(int))
    cox_regressor = xgb.XGBRegressor(
        objective="survival:cox", n_estimators=40, max_depth=3, n_jobs=1, random_state=0
    )
    cox_regressor.fit(X, cox_label)
    return {
        "booster_binary": binary,
        "booster_cox": cox,
        "booster_aft": aft,
        "sklearn_classifier": classifier,
        "sklearn_cox": cox_regressor,
    }


@pytest.fixture(scope="session")
def logistic_pipeline(cohort: Cohort) -> Pipeline:
    """L2 logistic regression with median imputation + missing indicators + scaling."""
    pipe = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=0.5, max_iter=2000)),
        ]
    ).set_output(transform="pandas")
    design = cohort.design.drop(columns="ki67_percent__missing")  # imputer adds its own
    return pipe.fit(design, cohort.response)


@pytest.fixture(scope="session")
def linear_cox(cohort: Cohort) -> tuple[Pipeline, CoxPHSurvivalAnalysis]:
    """Penalised Cox on the imputed, scaled design (preprocessing and model kept apart)."""
    prep = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("scale", StandardScaler()),
        ]
    ).set_output(transform="pandas")
    design = cohort.design.drop(columns="ki67_percent__missing")
    transformed = prep.fit_transform(design)
    model = CoxPHSurvivalAnalysis(alpha=0.5).fit(
        transformed, Surv.from_arrays(event=cohort.event, time=cohort.time)
    )
    return prep, model


@pytest.fixture
def dictionary() -> dict:
    return DICTIONARY

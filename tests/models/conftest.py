"""Synthetic cohort with known Cox / logistic truth (therapy effects and interactions)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from models.design import DesignMatrix
from models.survival import make_surv

N_ROWS = 600
SITES = ["pancreas", "small_intestine", "lung", "other", "rectum"]  # rectum never drawn
THERAPIES = ["prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy"]
# true log hazard ratio of each therapy (vs ssa) and log-odds of response
THERAPY_LOG_HR = {"prrt_lu177": -0.9, "everolimus": -0.3, "sunitinib": -0.4, "ssa": 0.0,
                  "chemotherapy": 0.4}
THERAPY_LOG_ODDS = {"prrt_lu177": 1.4, "everolimus": -0.6, "sunitinib": 0.0, "ssa": -1.4,
                    "chemotherapy": 0.6}


def _entry(name, role, dtype, lo=None, hi=None, cats=None, predictor=None):
    entry = {"name": name, "label": name.replace("_", " "), "unit": "", "family": "test",
             "role": role, "dtype": dtype, "range": [lo, hi]}
    if cats is not None:
        entry["categories"] = cats
    if predictor is not None:
        entry["predictor"] = predictor
    return entry


def make_dictionary() -> dict:
    """Feature dictionary of the synthetic table (same shape as features.dictionary)."""
    return {"version": 1, "features": [
        _entry("patient_id", "id", "categorical", predictor=False),
        _entry("centre_id", "group", "categorical", cats=["A", "B"], predictor=False),
        _entry("primary_site", "group", "categorical", cats=SITES, predictor=True),
        _entry("therapy", "treatment", "categorical", cats=THERAPIES, predictor=False),
        _entry("age_at_index", "feature", "numeric", 18, 100),
        _entry("ecog", "feature", "numeric", 0, 4),
        _entry("ki67_percent", "feature", "numeric", 0, 100),
        _entry("liver_burden_pct", "feature", "numeric", 0, 100),
        _entry("sstr_krenning", "feature", "numeric", 0, 4),
        _entry("functional_syndrome", "feature", "binary", 0, 1),
        _entry("noise", "feature", "numeric", None, None),
        _entry("response", "target", "binary", 0, 1),
        _entry("pfs_months", "target", "numeric", 0, None),
        _entry("pfs_event", "target", "binary", 0, 1),
    ]}


def _assign_therapy(rng: np.random.Generator, site: np.ndarray, krenning: np.ndarray):
    n = len(site)
    weights = np.tile([1.0, 1.0, 1.0, 1.2, 0.8], (n, 1))
    weights[:, 0] = np.where(krenning >= 2, 2.0, 0.15)
    weights[:, 2] = np.where(site == "pancreas", 1.5, 0.0)
    prob = weights / weights.sum(axis=1, keepdims=True)
    cum = prob.cumsum(axis=1)
    pick = (rng.random(n)[:, None] > cum).sum(axis=1)
    return np.asarray(THERAPIES, dtype=object)[np.minimum(pick, 4)]


def simulate_table(n: int = N_ROWS, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Table with NaNs, plus the true log hazard and the true response log-odds."""
    rng = np.random.default_rng(seed)
    site = rng.choice(SITES[:4], n, p=[0.35, 0.4, 0.15, 0.1])
    age = rng.normal(62, 10, n)
    ecog = rng.choice([0.0, 1.0, 2.0], n, p=[0.5, 0.35, 0.15])
    ki67 = np.clip(np.exp(rng.normal(np.log(5.0), 0.9, n)), 0.5, 80)
    liver = rng.uniform(0, 60, n)
    krenning = rng.choice([0.0, 1.0, 2.0, 3.0, 4.0], n, p=[0.1, 0.1, 0.2, 0.3, 0.3])
    functional = (rng.random(n) < 0.3).astype(float)
    therapy = _assign_therapy(rng, site, krenning)
    z_ki = (np.log(ki67) - np.log(5.0)) / 0.9
    is_prrt = therapy == "prrt_lu177"
    log_hr = (1.1 * z_ki + 0.5 * ecog + 0.02 * liver + 0.01 * (age - 62)
              + 0.4 * (site == "pancreas") + 0.5 * (site == "lung")
              + pd.Series(therapy).map(THERAPY_LOG_HR).to_numpy()
              - 0.35 * is_prrt * (krenning - 2))
    log_odds = (-0.8 - 0.8 * z_ki - 0.4 * ecog + pd.Series(therapy).map(THERAPY_LOG_ODDS).to_numpy()
                + 0.6 * is_prrt * (krenning - 2.5) + 0.4 * functional)
    lam, shape = 0.03, 1.2
    t_true = (-np.log(rng.random(n)) / (lam * np.exp(log_hr))) ** (1 / shape)
    censor = rng.uniform(6, 60, n)
    response = (rng.random(n) < 1 / (1 + np.exp(-log_odds))).astype(float)
    response[rng.random(n) < 0.05] = np.nan
    frame = pd.DataFrame({
        "patient_id": [f"S{i:04d}" for i in range(n)],
        "centre_id": rng.choice(["A", "B"], n),
        "primary_site": site, "therapy": therapy, "age_at_index": age.round(0), "ecog": ecog,
        "ki67_percent": np.where(rng.random(n) < 0.1, np.nan, ki67.round(1)),
        "liver_burden_pct": np.where(rng.random(n) < 0.05, np.nan, liver.round(1)),
        "sstr_krenning": krenning, "functional_syndrome": functional,
        "noise": rng.normal(0, 1, n),
        "response": response,
        "pfs_months": np.minimum(t_true, censor).round(2),
        "pfs_event": (t_true <= censor).astype(float),
    })
    return frame, log_hr, log_odds


@dataclass(frozen=True)
class Split:
    """Train/test frames, designs and outcomes."""

    train: pd.DataFrame
    test: pd.DataFrame
    design: DesignMatrix
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    true_log_hr_test: np.ndarray
    true_log_odds_test: np.ndarray


@pytest.fixture(scope="session")
def dictionary() -> dict:
    return make_dictionary()


@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    return simulate_table()[0]


@pytest.fixture(scope="session")
def split(dictionary) -> Split:
    frame, log_hr, log_odds = simulate_table(n=2 * N_ROWS, seed=11)
    train, test = frame.iloc[:N_ROWS], frame.iloc[N_ROWS:]
    design = DesignMatrix().fit(train, dictionary)
    return Split(train, test, design, design.transform(train), design.transform(test),
                 make_surv(train["pfs_months"], train["pfs_event"]),
                 make_surv(test["pfs_months"], test["pfs_event"]),
                 log_hr[N_ROWS:], log_odds[N_ROWS:])

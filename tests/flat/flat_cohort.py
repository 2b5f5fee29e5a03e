"""Single-table cohort generator and tiny params shared by the flat tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_ROWS = 180

TINY_PARAMS = """\
train:
  n_jobs: 1
  tuning: {n_trials: 2, timeout_s: null, validation_fraction: 0.25}
  candidates: {binary: [logistic], survival: [penalised_cox, xgb_cox]}
  models:
    logistic:
      params: {C: 1.0, max_iter: 500}
      inner_folds: 3
      space: {C: {type: float, low: 0.01, high: 1.0, log: true}}
    penalised_cox:
      params: {method: coxnet, alpha: 0.05, l1_ratio: 0.5}
      inner_folds: 3
      space: {alpha: {type: float, low: 0.01, high: 0.2, log: true}}
    xgb_cox:
      params: {n_estimators: 40, learning_rate: 0.1, max_depth: 2, early_stopping_rounds: 10,
               n_jobs: 1, random_state: 0}
      space: {max_depth: {type: int, low: 1, high: 3}}
"""


def make_cohort(n: int = N_ROWS, seed: int = 7) -> pd.DataFrame:
    """One row per patient: numeric (with NaN), categorical (with NaN), 0/1, treatment, outcomes."""
    rng = np.random.default_rng(seed)
    age = rng.normal(62, 10, n)
    ki67 = rng.lognormal(1.5, 0.8, n)
    site = rng.choice(["pancreas", "small_intestine", "lung"], n)
    arm = rng.choice(["prrt", "ssa"], n)
    flag = rng.integers(0, 2, n)
    lp = 0.03 * (age - 62) + 0.5 * np.log(ki67) + 0.6 * (site == "pancreas") - 0.7 * (arm == "prrt")
    t_event = rng.exponential(30 * np.exp(-lp))
    t_censor = rng.uniform(5, 60, n)
    frame = pd.DataFrame({
        "pid": [f"S{i:05d}" for i in range(n)],
        "age": age.round(1),
        "ki67": ki67.round(2),
        "site": site,
        "functional": flag,
        "arm": arm,
        "months": np.minimum(t_event, t_censor).round(2),
        "died": (t_event <= t_censor).astype(int),
        "responded": (rng.random(n) < 1 / (1 + np.exp(-1.2 * (arm == "prrt") + 0.3))).astype(float),
    })
    frame.loc[rng.random(n) < 0.15, "ki67"] = np.nan
    frame.loc[rng.random(n) < 0.10, "site"] = np.nan
    frame.loc[rng.random(n) < 0.05, "responded"] = np.nan
    return frame

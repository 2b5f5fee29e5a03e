"""Test data for the MLOps tests: a tiny dictionary, simulated patients, bare boosters."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

FEATURES = ["age_at_index", "ki67_percent", "krenning_score"]
DICTIONARY = {
    "version": 1,
    "features": [
        {"name": "age_at_index", "label": "Age at index", "unit": "years", "dtype": "numeric",
         "range": [0, 120], "role": "feature"},
        {"name": "ki67_percent", "label": "Ki-67 index", "unit": "%", "dtype": "numeric",
         "range": [0, 100], "role": "feature", "computation": "Latest Ki-67."},
        {"name": "krenning_score", "label": "Krenning-like uptake score", "unit": "",
         "dtype": "numeric", "range": [0, 4], "role": "feature"},
        {"name": "therapy", "label": "Index therapy", "unit": "", "dtype": "categorical",
         "range": [None, None], "categories": ["prrt_lu177", "everolimus", "ssa"],
         "role": "treatment"},
        {"name": "functional_syndrome", "label": "Functional syndrome", "unit": "",
         "dtype": "binary", "range": [0, 1], "role": "feature"},
        {"name": "pfs_months", "label": "Progression-free survival", "unit": "months",
         "dtype": "numeric", "range": [0, None], "role": "target",
         "computation": "Index date to first progression of the line or death."},
        {"name": "pfs_event", "label": "Progression or death observed", "unit": "",
         "dtype": "binary", "range": [0, 1], "role": "target",
         "computation": "1 if progression or death ended PFS, 0 if censored."},
        {"name": "response", "label": "Objective response", "unit": "", "dtype": "binary",
         "range": [0, 1], "role": "target", "computation": "Best RECIST CR/PR."},
    ],
}


def simulate_cohort(n: int, seed: int) -> pd.DataFrame:
    """Synthetic patients: three numeric features, subgroups and both outcomes (true model)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age_at_index": rng.uniform(30, 85, n).round(1),
        "ki67_percent": rng.gamma(2.0, 5.0, n).clip(0, 100).round(1),
        "krenning_score": rng.integers(1, 5, n).astype(float),
        "sex": rng.choice(["F", "M"], n),
        "primary_site": rng.choice(["pancreas", "small_intestine"], n),
    })
    lp = 0.08 * (frame["ki67_percent"] - 10) - 0.5 * (frame["krenning_score"] - 2.5)
    frame["response"] = (rng.uniform(size=n) < 1 / (1 + np.exp(lp + 0.5))).astype(float)
    t_event = rng.exponential(1.0 / (0.05 * np.exp(lp)))
    t_cens = rng.uniform(6, 48, n)
    frame["pfs_months"] = np.minimum(t_event, t_cens).round(2)
    frame["pfs_event"] = (t_event <= t_cens).astype(float)
    frame["therapy"] = rng.choice(["prrt_lu177", "everolimus", "ssa"], n)
    return frame


def breslow(time: np.ndarray, event: np.ndarray, margin: np.ndarray):
    """Breslow cumulative baseline hazard at the distinct event times."""
    order = np.argsort(time)
    t, e, r = time[order], event[order], np.exp(margin[order])
    at_risk = np.cumsum(r[::-1])[::-1]
    times, first = np.unique(t, return_index=True)
    deaths = np.add.reduceat(e, first)
    h = np.cumsum(deaths / at_risk[first])
    return times[deaths > 0].tolist(), h[deaths > 0].tolist()


def save_booster_model(folder: Path, kind: str, frame: pd.DataFrame, rounds: int = 30,
                       noise: float = 0.0, seed: int = 0) -> Path:
    """Train a small booster (``binary:logistic`` or ``survival:cox``) and save it natively."""
    folder.mkdir(parents=True, exist_ok=True)
    X = frame[FEATURES].copy()
    if noise:
        X = X + np.random.default_rng(seed).normal(0, noise, X.shape) * X.std().to_numpy()
    params = {"max_depth": 2, "eta": 0.1, "seed": seed, "nthread": 1}
    sidecar: dict = {"feature_names": FEATURES}
    if kind == "response":
        dm = xgb.DMatrix(X, frame["response"])
        booster = xgb.train({**params, "objective": "binary:logistic"}, dm, rounds)
    else:
        label = np.where(frame["pfs_event"] == 1, frame["pfs_months"], -frame["pfs_months"])
        booster = xgb.train({**params, "objective": "survival:cox"}, xgb.DMatrix(X, label),
                            rounds)
        margin = booster.predict(xgb.DMatrix(frame[FEATURES]), output_margin=True)
        times, cumhaz = breslow(frame["pfs_months"].to_numpy(), frame["pfs_event"].to_numpy(),
                                margin)
        sidecar.update(baseline_times=times, baseline_cumhazard=cumhaz)
    booster.save_model(str(folder / "model.ubj"))
    (folder / "booster.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return folder


@contextmanager
def store_in(folder: Path, template_db: Path, experiment: str) -> Iterator[str]:
    """cwd = ``folder`` with a fresh copy of the template MLflow store as the tracking URI
    (for module-scoped fixtures, which cannot use ``monkeypatch``); all restored on exit."""
    import mlflow

    from pipeline import tracking

    shutil.copyfile(template_db, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        try:
            tracking.configure(experiment, artifact_root=folder / "mlartifacts")
            yield uri
        finally:
            mlflow.set_tracking_uri(None)

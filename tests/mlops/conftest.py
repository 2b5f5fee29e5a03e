"""Fixtures for the MLOps tests: a throw-away tracking store and simulated cohorts."""

from __future__ import annotations

import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlops_helpers import simulate_cohort


@pytest.fixture(scope="session")
def empty_store_db(tmp_path_factory) -> Path:
    """An SQLite file with MLflow's schema, made once (creating the schema takes seconds)."""
    path = tmp_path_factory.mktemp("store") / "template.db"
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments(max_results=1)
    return path


@pytest.fixture
def tracking_store(tmp_path, monkeypatch, empty_store_db):
    """A fresh SQLite tracking/registry store under ``tmp_path`` (cwd = tmp_path)."""
    monkeypatch.chdir(tmp_path)
    shutil.copyfile(empty_store_db, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    from pipeline import tracking

    tracking.configure("netoutcomes-test", artifact_root=tmp_path / "mlartifacts")
    yield uri
    if mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def cohort() -> pd.DataFrame:
    return simulate_cohort(800, seed=1)


@pytest.fixture(scope="session")
def holdout() -> pd.DataFrame:
    return simulate_cohort(500, seed=2)

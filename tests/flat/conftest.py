"""Fixtures: a small single-table cohort CSV (categoricals, NaN, treatment) and tiny params.

Every flat test logs its MLflow runs to one throw-away SQLite store (never ./mlflow.db).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flat_cohort import TINY_PARAMS, make_cohort


@pytest.fixture(scope="session", autouse=True)
def flat_tracking_store(tmp_path_factory):
    """``MLFLOW_TRACKING_URI`` at a session SQLite store; the flat experiment's artifacts there."""
    import mlflow

    from pipeline import tracking
    from pipeline.stages.evaluate_flat_outputs import EXPERIMENT

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        tracking.configure(EXPERIMENT, artifact_root=root / "mlartifacts")
        yield uri
        if mlflow.active_run():
            mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.fixture(scope="session")
def cohort_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flat") / "cohort.csv"
    make_cohort().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tiny_params(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flat_params") / "params.yaml"
    path.write_text(TINY_PARAMS)
    return path

"""MLflow: a classic-ML experiment; parent runs named after the cohort, with params and headline."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from headline_helpers import metrics_block

from pipeline import tracking
from pipeline.params import load_params
from pipeline.stages.evaluate_headline import record_headline

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(
        {"seed": 7, "simulate": {"n_patients": 400, "mode": "rct"}}))
    yield tmp_path
    while mlflow.active_run():
        mlflow.end_run()


def _cohort(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = [f"P{i:04d}" for i in range(n)]
    return pd.DataFrame({"patient_id": ids + ids[:5], "line": [1] * n + [2] * 5,
                         "ki67_percent": rng.uniform(1, 20, n + 5)})


def test_experiment_is_tagged_machine_learning(project):
    exp_id = tracking.configure()
    tags = mlflow.MlflowClient().get_experiment(exp_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"


def test_existing_experiment_gets_the_tag_but_a_user_choice_stays(project):
    mlflow.set_tracking_uri(tracking.tracking_uri())
    exp_id = mlflow.create_experiment(tracking.DEFAULT_EXPERIMENT)
    tracking.configure()
    client = mlflow.MlflowClient()
    assert client.get_experiment(exp_id).tags["mlflow.experimentKind"] == \
        "custom_model_development"
    client.set_experiment_tag(exp_id, "mlflow.experimentKind", "genai_development")
    tracking.configure()
    assert client.get_experiment(exp_id).tags["mlflow.experimentKind"] == "genai_development"


def _parent(project, truth: bool):
    if truth:
        (project / "data" / "truth").mkdir(parents=True)
        (project / "data" / "truth" / "truth.csv").write_text("patient_id\n")
    tracking.configure()
    train = load_params(ROOT / "params.yaml").train.model_dump()
    with tracking.pipeline_run(_cohort(), 7, train, {"dvc_data_hash": "0123abcd"},
                               project / "cohort.parquet") as parent:
        pass
    return mlflow.MlflowClient().get_run(parent.info.run_id)


def test_parent_run_is_named_after_the_cohort_and_logs_every_param(project):
    run = _parent(project, truth=True)
    assert run.info.run_name == "simulated n=40 seed=7"
    params = run.data.params
    assert params["simulate.n_patients"] == "400"  # simulate.* from params.yaml
    assert params["simulate.mode"] == "rct"
    assert params["seed"] == "7"
    assert params["train.cv.n_splits"] == "5"  # train as the stage used it
    assert len(params) > 100  # more than one MLflow batch
    assert run.data.tags["cohort.n_rows"] == "45"


def test_export_cohort_and_the_dataset_with_the_dvc_hash(project):
    run = _parent(project, truth=False)
    assert run.info.run_name.startswith("export n=40")
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.name == "cohort"
    assert dataset.dataset.digest == "0123abcd"
    assert json.loads(dataset.dataset.profile)["num_rows"] == 45


def test_headline_lands_on_the_parent_run(project):
    models = project / "data" / "models"
    (models / "pfs").mkdir(parents=True)
    (models / "pfs" / "selection.json").write_text("{}")
    run = _parent(project, truth=True)
    tracking.record_runs(models, run.info.run_id, {})
    record_headline(metrics_block(), models, project / "metrics" / "headline.json")
    logged = mlflow.MlflowClient().get_run(run.info.run_id).data.metrics
    assert logged["pfs.harrell_c"] == pytest.approx(0.7356)
    assert logged["response.prrt_c_benefit"] == pytest.approx(0.55)


def test_a_reader_of_a_shared_experiment_is_not_stopped_by_the_tag(project, monkeypatch, caplog):
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import PERMISSION_DENIED

    mlflow.set_tracking_uri(tracking.tracking_uri())
    exp_id = mlflow.create_experiment(tracking.DEFAULT_EXPERIMENT)

    def denied(self, *args, **kwargs):
        raise MlflowException("no EDIT permission", error_code=PERMISSION_DENIED)

    monkeypatch.setattr(mlflow.MlflowClient, "set_experiment_tag", denied)
    assert tracking.configure() == exp_id
    assert "PERMISSION_DENIED" in caplog.text

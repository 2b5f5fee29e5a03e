"""evaluate-flat end to end on a CSV with categoricals, missing values and a treatment column."""

from __future__ import annotations

import json
import re

import mlflow
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from models.persist import load_model
from pipeline.cli_flat import evaluate_flat
from pipeline.params import load_params
from pipeline.stages import evaluate_flat as stage
from pipeline.stages.evaluate_flat_outputs import EXPERIMENT

ARGS = ["--time", "months", "--event", "died", "--treatment", "arm", "--response", "responded",
        "--folds", "3", "--repeats", "1", "--seed", "3"]


@pytest.fixture(scope="module")
def cli_run(cohort_csv, tiny_params, tmp_path_factory):
    out = tmp_path_factory.mktemp("flat_out")
    app = typer.Typer()
    app.command()(evaluate_flat)
    result = CliRunner().invoke(app, ["--csv", str(cohort_csv), *ARGS, "--params", str(tiny_params),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result, out


def _check_summary(summary: dict) -> None:
    assert {"mean", "lo", "hi", "n"} <= set(summary)
    assert summary["lo"] <= summary["mean"] <= summary["hi"]


def test_metrics_json_has_required_keys(cli_run):
    _, out = cli_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["n"] == 180
    assert m["folds"] == 3
    assert m["n_splits"] == 3
    assert m["n_repeats"] == 1
    assert 0 < m["events"] < 180
    assert set(m["models"]) == {"penalised_cox", "xgb_cox"}
    assert m["selected"] in m["models"]
    assert m["selected_model"]["name"] == m["selected"]
    for block in [*m["models"].values(), m["selected_model"]]:
        for key in ("harrell_c", "uno_c", "ibs"):
            _check_summary(block[key])
        assert block["harrell_c"]["n"] == 3
        assert block["folds_scored"] == 3
    best = max(m["models"], key=lambda k: m["models"][k]["harrell_c"]["mean"])
    assert m["selected"] == best  # selection by mean Harrell's C
    assert m["selected_model"]["harrell_c"] == m["models"][best]["harrell_c"]
    # the simulated risk (ki67, site, age, arm) is learnt: clearly better than chance
    assert m["selected_model"]["harrell_c"]["mean"] > 0.6
    assert 0 < m["selected_model"]["ibs"]["mean"] < 0.25


def test_columns_typed_and_roles(cli_run):
    _, out = cli_run
    m = json.loads((out / "metrics.json").read_text())
    types = {f["name"]: (f["dtype"], f["role"]) for f in m["features"]}
    assert types == {"age": ("numeric", "feature"), "ki67": ("numeric", "feature"),
                     "site": ("categorical", "feature"), "functional": ("binary", "feature"),
                     "arm": ("categorical", "treatment")}
    assert [e["name"] for e in m["excluded"]] == ["pid"]  # identifier-like text column
    assert m["input"] == {"file": "cohort.csv", "rows": 180, "time": "months", "event": "died",
                          "response": "responded", "treatment": "arm", "randomised": False}


def test_response_block(cli_run):
    _, out = cli_run
    r = json.loads((out / "metrics.json").read_text())["response"]
    assert r["selected"] == "logistic"
    assert r["selection_metric"] == "auc"
    assert r["n"] < 180  # rows with a missing response are left out
    for key in ("auc", "brier", "ici"):
        _check_summary(r["models"]["logistic"][key])


def test_table_printed(cli_run):
    result, _ = cli_run
    assert "harrell_c" in result.output
    assert "xgb_cox" in result.output
    assert "selected:" in result.output


def test_same_seed_same_bytes(cli_run, cohort_csv, tiny_params, tmp_path):
    _, out = cli_run
    train = load_params(tiny_params).train
    stage.run(cohort_csv, tmp_path, train, time="months", event="died", treatment="arm",
              response="responded", n_splits=3, n_repeats=1, seed=3)
    assert (tmp_path / "metrics.json").read_bytes() == (out / "metrics.json").read_bytes()


def test_selected_models_saved_natively_and_reload(cli_run, cohort_csv):
    _, out = cli_run
    m = json.loads((out / "metrics.json").read_text())
    frame = pd.read_csv(cohort_csv)
    for block, name in ((m, "survival"), (m["response"], "response")):
        saved = block["outputs"]["model"]
        assert saved["dir"] == f"{name}/model"
        files = sorted(p.name for p in (out / saved["dir"]).iterdir())
        assert "design.json" in files
        assert "model.json" in files
        model = load_model(out / saved["dir"])
        assert type(model).__name__ == saved["class"]
        X = model.design_.transform(frame)
        if name == "survival":
            risk = model.predict_risk(X)
            assert np.isfinite(risk).all()
            assert np.unique(risk).size > 10
        else:
            p = model.predict_proba(X)
            assert ((p >= 0) & (p <= 1)).all()


def test_out_of_fold_predictions(cli_run):
    _, out = cli_run
    m = json.loads((out / "metrics.json").read_text())
    preds = pd.read_parquet(out / m["outputs"]["predictions"])
    assert m["outputs"]["predictions"] == "survival/cv_predictions.parquet"
    assert {"candidate", "repeat", "fold", "csv_row", "score"} <= set(preds.columns)
    assert not {"pid", "age", "months", "died", "row"} & set(preds.columns)  # no table values
    assert len(preds) == 180 * 2  # every row once per candidate (1 repeat)
    assert sorted(preds.loc[preds["candidate"] == "xgb_cox", "csv_row"]) == list(range(1, 181))
    assert any(c.startswith("surv_") for c in preds.columns)
    resp = pd.read_parquet(out / "response" / "cv_predictions.parquet")
    assert resp["p"].between(0, 1).all()
    assert resp["csv_row"].max() <= 180


def test_plots_and_self_contained_report(cli_run):
    _, out = cli_run
    m = json.loads((out / "metrics.json").read_text())
    assert m["outputs"]["plots"] == ["survival_km_by_risk_tertile.png",
                                     "survival_calibration.png"]
    assert m["response"]["outputs"]["plots"] == ["response_calibration.png"]
    for name in [*m["outputs"]["plots"], *m["response"]["outputs"]["plots"]]:
        assert (out / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    for external in ("http://", "https://", "<script", "<link", "url("):
        assert external not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 3
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert m["selected"] in page
    assert m["response"]["selected"] in page
    assert "S0000" not in page  # no identifier values


def test_one_mlflow_run_and_last_line(cli_run, flat_tracking_store):
    result, out = cli_run
    m = json.loads((out / "metrics.json").read_text())
    last = result.output.strip().splitlines()[-1]
    assert last == f"selected: survival {m['selected']}, response {m['response']['selected']}"
    client = mlflow.MlflowClient(tracking_uri=flat_tracking_store)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id],
                              filter_string="tags.`input.file` = 'cohort.csv' and "
                                            "params.seed = '3'")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.tags["selected.survival"] == m["selected"]
    assert run.data.tags["selected.response"] == m["response"]["selected"]
    harrell = run.data.metrics["survival.harrell_c"]
    assert harrell == pytest.approx(m["selected_model"]["harrell_c"]["mean"])
    assert run.data.params["treatment"] == "arm"
    assert run.data.params["train.tuning.n_trials"] == "2"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "report.html", "plots", "survival", "response"} <= artifacts
    assert f"MLflow run: {run.info.run_id}" in " ".join(result.output.split())

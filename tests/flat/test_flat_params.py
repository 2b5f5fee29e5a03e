"""evaluate-flat settings: built-in defaults outside the project, a named --params must exist."""

from __future__ import annotations

import json

import pytest
import typer
from sksurv.datasets import load_veterans_lung_cancer
from typer.testing import CliRunner

from pipeline.cli_flat import evaluate_flat
from pipeline.params import check_model_arguments
from pipeline.stages import evaluate_flat as stage
from pipeline.stages.train import FACTORIES

FAST = ["--folds", "3", "--repeats", "1", "--seed", "0"]


def _invoke(args: list[str]):
    app = typer.Typer()
    app.command()(evaluate_flat)
    return CliRunner().invoke(app, args)


@pytest.fixture
def veterans(tmp_path, monkeypatch):
    """The VA lung cancer trial (shipped with scikit-survival) in an empty working folder."""
    X, y = load_veterans_lung_cancer()
    X.assign(days=y["Survival_in_days"], died=y["Status"].astype(int)).to_csv(
        tmp_path / "veterans.csv", index=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "veterans.csv"


def test_builtin_defaults_are_valid():
    train = stage.default_train_params()
    check_model_arguments(train, FACTORIES)  # every argument is one the estimator takes
    for names in train.candidates.values():
        assert all(n in train.models and n in FACTORIES for n in names)


def test_empty_folder_runs_on_builtin_defaults(veterans):
    assert sorted(p.name for p in veterans.parent.iterdir()) == ["veterans.csv"]
    result = _invoke(["--csv", "veterans.csv", "--time", "days", "--event", "died",
                      "--out", "out", *FAST])
    assert result.exit_code == 0, result.output
    assert "built-in defaults" in result.output
    m = json.loads((veterans.parent / "out" / "metrics.json").read_text())
    assert set(m["models"]) == {"penalised_cox", "xgb_cox", "xgb_aft"}
    assert m["n"] == 137
    assert m["selected_model"]["harrell_c"]["mean"] > 0.6  # Karnofsky score is prognostic
    # a test fold with events after its training fold's last time is still scored (truncated)
    assert all(block["folds_scored"] == 3 for block in m["models"].values())


def test_named_params_that_does_not_exist_is_an_error(veterans):
    result = _invoke(["--csv", "veterans.csv", "--time", "days", "--event", "died",
                      "--out", "out", "--params", "nowhere.yaml"])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    for words in ("nowhere.yaml", "params file not found", "--params"):
        assert words in flat
    assert "Traceback" not in result.output
    assert not (veterans.parent / "out").exists()


def test_params_without_models_uses_builtin_settings(veterans):
    (veterans.parent / "params.yaml").write_text(
        "train:\n  n_jobs: 1\n  tuning: {n_trials: 0}\n  candidates: {survival: [penalised_cox]}\n")
    result = _invoke(["--csv", "veterans.csv", "--time", "days", "--event", "died",
                      "--out", "out", *FAST])
    assert result.exit_code == 0, result.output
    assert "settings: params.yaml" in result.output
    m = json.loads((veterans.parent / "out" / "metrics.json").read_text())
    assert list(m["models"]) == ["penalised_cox"]


@pytest.mark.parametrize(("params", "words"), [
    ("train:\n  candidates: {survival: [random_forest]}\n", "random_forest"),
    ("train:\n  tuning: {n_trials: -1}\n", "n_trials"),
    ("train: [1, 2\n", "not valid YAML"),
])
def test_bad_params_is_one_line(veterans, params, words):
    (veterans.parent / "params.yaml").write_text(params)
    result = _invoke(["--csv", "veterans.csv", "--time", "days", "--event", "died",
                      "--out", "out"])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args", [
    ["--csv", "veterans.csv", "--time", "days", "--event", "died", "--out", "veterans.csv"],
    ["--csv", ".", "--time", "days", "--event", "died", "--out", "out"],
    ["--csv", "veterans.csv", "--time", "Celltype", "--event", "died", "--out", "out"],
    ["--csv", "veterans.csv", "--time", "days", "--event", "died", "--out", "out",
     "--folds", "1"],
])
def test_bad_input_never_a_traceback(veterans, args):
    result = _invoke(args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)

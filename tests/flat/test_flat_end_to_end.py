"""evaluate-flat end to end on a CSV with categoricals, missing values and a treatment column."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli_flat import evaluate_flat
from pipeline.params import load_params
from pipeline.stages import evaluate_flat as stage

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

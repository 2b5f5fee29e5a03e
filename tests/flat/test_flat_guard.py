"""evaluate-flat refuses identifier columns and columns that nearly determine the outcome."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from flat_cohort import make_cohort
from typer.testing import CliRunner

from models.flat import LEAK_AUC, identifier_name, screen_columns
from pipeline.cli_flat import evaluate_flat
from pipeline.errors import InputError
from pipeline.params import load_params
from pipeline.stages import evaluate_flat as stage

ARGS = ["--time", "months", "--event", "died", "--folds", "3", "--repeats", "1"]


def _invoke(args: list[str]):
    app = typer.Typer()
    app.command()(evaluate_flat)
    return CliRunner().invoke(app, args)


def _with_leaks():
    frame = make_cohort()
    rng = np.random.default_rng(0)
    frame["patient_id"] = rng.permutation(len(frame)) + 100_000  # numeric, unique per row
    # recorded only for the patients who died (like a cause of death)
    frame["cause"] = np.where(frame["died"] == 1, rng.choice(["tumour", "other"], len(frame)),
                              None)
    frame["last_visit"] = frame["months"] * 30.4 + rng.normal(0, 3, len(frame))  # ~ follow-up
    return frame


@pytest.mark.parametrize(("name", "expected"), [
    ("patient_id", True), ("PatientID", True), ("SubjectId", True), ("MRN", True), ("id", True),
    ("record number", True), ("study-id", True), ("thyroid", False), ("carcinoid", False),
    ("ki67", False), ("cd4", False), ("ivdrug", False), ("width", False), ("valid", False),
])
def test_identifier_names(name, expected):
    assert identifier_name(name) is expected


def test_screen_names_column_statistic_and_value():
    frame = _with_leaks()
    found = screen_columns(frame, ["age", "ki67", "site", "arm", "patient_id", "cause",
                                   "last_visit"], time=frame["months"].to_numpy(),
                           outcomes={"event": frame["died"].to_numpy(float)})
    by = {(f["column"], f["statistic"]): f for f in found}
    assert {f["column"] for f in found} == {"patient_id", "cause", "last_visit"}
    assert ("patient_id", "column name") in by
    assert ("patient_id", "distinct values / recorded rows") in by
    cause = by["cause", "AUC of recorded-vs-missing for the event"]
    assert cause["value"] == 1.0
    assert cause["threshold"] == LEAK_AUC
    assert by["last_visit", "|Spearman| with the follow-up time"]["value"] > 0.99


@pytest.mark.parametrize(("column", "words"), [
    ("patient_id", ["named like an identifier", "unique per row (180 distinct"]),
    ("cause", ["whether it is recorded nearly determines the event",
               "AUC of recorded-vs-missing for the event 1.00 >= 0.90"]),
    ("last_visit", ["nearly determine the follow-up time", "|Spearman| with the follow-up time"]),
])
def test_cli_refuses_and_names_the_column(tmp_path, tiny_params, column, words):
    keep = ["pid", "age", "ki67", "site", "functional", "arm", "months", "died", column]
    path = tmp_path / "leaky.csv"
    _with_leaks()[keep].to_csv(path, index=False)
    result = _invoke(["--csv", str(path), *ARGS, "--params", str(tiny_params),
                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f"leaky.csv: column '{column}'" in flat
    for w in [*words, f"--allow-column {column}", f"--exclude {column}"]:
        assert w in flat
    assert "Traceback" not in result.output
    assert "S0000" not in flat  # no identifier value in the message
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_several_columns_are_named_together(tmp_path):
    path = tmp_path / "leaky.csv"
    _with_leaks().to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        stage.run(path, tmp_path / "out", stage.default_train_params(), time="months",
                  event="died", n_splits=3, n_repeats=1)
    assert info.value.column == "patient_id, cause, last_visit"


def test_allow_column_keeps_it_and_records_the_finding(tmp_path, tiny_params):
    path = tmp_path / "leaky.csv"
    _with_leaks().drop(columns=["patient_id", "last_visit"]).to_csv(path, index=False)
    train = load_params(tiny_params).train
    m = stage.run(path, tmp_path / "out", train, time="months", event="died", n_splits=3,
                  n_repeats=1, allow=["cause"])
    assert "cause" in [f["name"] for f in m["features"]]
    assert [f["column"] for f in m["screen"]["allowed"]] == ["cause"]
    assert m["screen"]["thresholds"] == {"auc": 0.9, "spearman_time": 0.9}
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved["screen"] == m["screen"]
    # what the guard prevents: the leaked column makes the model look better than it is
    honest = stage.run(path, tmp_path / "honest", train, time="months", event="died",
                       n_splits=3, n_repeats=1, exclude=["cause"])
    assert (m["selected_model"]["harrell_c"]["mean"]
            > honest["selected_model"]["harrell_c"]["mean"] + 0.03)


def test_response_leak_is_refused(tmp_path):
    frame = make_cohort()
    frame["response_grade"] = frame["responded"] * 2 + 1  # re-codes the response
    path = tmp_path / "r.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="values nearly determine the response") as info:
        stage.run(path, tmp_path / "out", stage.default_train_params(), time="months",
                  event="died", response="responded", n_splits=3, n_repeats=1)
    assert info.value.column == "response_grade"


def test_allow_column_must_exist(tmp_path):
    path = tmp_path / "c.csv"
    make_cohort(60).to_csv(path, index=False)
    with pytest.raises(InputError, match="column not found"):
        stage.run(path, tmp_path / "out", stage.default_train_params(), time="months",
                  event="died", n_splits=3, n_repeats=1, allow=["nope"])


def test_text_code_unique_per_row_is_refused():
    frame = make_cohort(40)
    frame["code"] = [f"K{i * 7919 % 1000:03d}x" for i in range(40)]  # 40 distinct codes
    found = screen_columns(frame, ["code", "age"], time=frame["months"].to_numpy(),
                           outcomes={"event": frame["died"].to_numpy(float)})
    assert [(f["column"], f["problem"]) for f in found] == [
        ("code", "unique per row (40 distinct values in 40 recorded rows)")]

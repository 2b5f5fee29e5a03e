"""Bad single-table inputs fail with InputError naming the file and the column, never the values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import typer
from flat_cohort import make_cohort
from typer.testing import CliRunner

from pipeline.cli_flat import evaluate_flat
from pipeline.errors import InputError
from pipeline.params import TrainParams
from pipeline.stages import evaluate_flat as stage


def _csv(tmp_path, frame: pd.DataFrame, name: str = "my_cohort.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _run(path, tmp_path, **kw):
    args = {"time": "months", "event": "died", **kw}
    return stage.run(path, tmp_path / "out", TrainParams(), **args)


@pytest.mark.parametrize(
    ("mutate", "options", "column", "words"),
    [
        (None, {"time": "follow_up"}, "follow_up", "column not found"),
        (None, {"event": "Died"}, "Died", "column not found"),
        (None, {"treatment": "therapy"}, "therapy", "column not found"),
        (None, {"response": "months"}, "months", "more than one option"),
        (lambda f: f.assign(months=f["months"].astype(object).where(f.index != 3, "ten")), {},
         "months", "1 non-numeric value"),
        (lambda f: f.assign(months=f["months"].where(f.index != 5, -1.0)), {}, "months",
         "negative follow-up time"),
        (lambda f: f.assign(died=f["died"].where(f.index != 2, 2)), {}, "died",
         "values other than 0 and 1"),
        (lambda f: f.assign(died=np.where(f["died"] == 1, "dead", "alive")), {}, "died",
         "non-numeric"),
        (lambda f: f.assign(responded=f["responded"] * 3), {"response": "responded"}, "responded",
         "values other than 0 and 1"),
        (lambda f: f.assign(died=0), {}, "died", "fewer events"),
        (lambda f: f.assign(months=10.0), {}, "months", "two distinct event times"),
        (None, {"exclude": ["nope"]}, "nope", "column not found"),
    ],
)
def test_bad_input_names_file_and_column(tmp_path, mutate, options, column, words):
    frame = make_cohort(60)
    if mutate is not None:
        frame = mutate(frame)
    with pytest.raises(InputError) as info:
        _run(_csv(tmp_path, frame), tmp_path, **options)
    err = info.value
    assert err.file == "my_cohort.csv"
    assert err.column == column
    message = str(err)
    assert message.startswith("my_cohort.csv")
    assert f"'{column}'" in message
    assert words in err.problem
    assert words in message
    assert err.fix
    assert err.fix in message
    assert "S0000" not in message
    assert "dead" not in message
    assert not (tmp_path / "out" / "metrics.json").exists()


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nowhere.csv") as info:
        _run(tmp_path / "nowhere.csv", tmp_path)
    assert info.value.problem == "file not found"
    assert "--csv" in info.value.fix


def test_true_false_events_are_accepted(tmp_path):
    frame = make_cohort(60).assign(died=lambda f: np.where(f["died"] == 1, "True", "False"))
    rows, y, dropped = stage.survival_rows(frame, tmp_path / "x.csv", "months", "died", 3)
    assert y["event"].sum() == (make_cohort(60)["died"] == 1).sum()
    assert dropped == 0


def test_rows_without_outcome_are_dropped_and_counted(tmp_path):
    frame = make_cohort(60)
    frame.loc[[1, 4], "months"] = np.nan
    frame.loc[7, "died"] = np.nan
    rows, y, dropped = stage.survival_rows(frame, tmp_path / "x.csv", "months", "died", 3)
    assert dropped == 3
    assert len(rows) == len(y) == 57
    np.testing.assert_array_equal(rows["age"], frame.drop(index=[1, 4, 7])["age"])


def test_cli_prints_one_line_and_exits_2(tmp_path):
    app = typer.Typer()
    app.command()(evaluate_flat)
    path = _csv(tmp_path, make_cohort(60))
    result = CliRunner().invoke(app, ["--csv", str(path), "--time", "follow_up", "--event", "died",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "my_cohort.csv" in flat
    assert "'follow_up'" in flat
    assert "column not found" in flat
    assert "Traceback" not in result.output

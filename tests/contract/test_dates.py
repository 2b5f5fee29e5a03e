"""Dates at the border: every date within 1900-01-01 .. the export date (at most 2100-12-31);
others (``9999-12-31``, ``0001-01-01``) and unparseable ones quarantine their row with a reason,
through real CSV files and the validate stage (never an OutOfBoundsDatetime traceback)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from contract_fixtures import KEY, make_raw, write_raw
from typer.testing import CliRunner

from features.clean import DATE_MAX, DATE_MIN, date_bounds, parse_date
from features.contract import TABLES
from pipeline.secrets import KEY_ENV
from pipeline.stages.validate import run


def _validate(raw, tmp_path, export_date=None):
    raw_dir = write_raw(raw, tmp_path / "raw")
    out = tmp_path / "validated"
    report = run(raw_dir, out, tmp_path / "quarantine", out / "report.json", KEY,
                 demo_key=False, export_date=export_date)
    quar = {t: pd.read_parquet(tmp_path / "quarantine" / f"{t}.parquet") for t in TABLES}
    kept = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLES}
    for t in TABLES:
        e = report["tables"][t]
        assert e["rows_in"] == len(raw[t]) == len(kept[t]) + len(quar[t]), t
        assert e["rows_in"] == e["rows_valid"] + e["rows_quarantined"], t
    return report, kept, quar


@pytest.mark.parametrize(("text", "rule"), [
    ("9999-12-31", "out_of_range"), ("0001-01-01", "out_of_range"),
    ("9999-12-31T00:00:00", "out_of_range"), ("1899-12-31", "out_of_range"),
    ("2101-01-01", "out_of_range"), ("2015-02-30", "unparseable_date"),
    ("31/12/2015", "unparseable_date"), ("soon", "unparseable_date"),
    ("10000-01-01", "unparseable_date"),
])
def test_bad_lab_date_quarantines_its_row(text, rule, tmp_path):
    raw = make_raw()
    raw["labs"].loc[2, "date"] = text
    report, kept, quar = _validate(raw, tmp_path)
    q = quar["labs"]
    assert q["quarantine_rule"].tolist() == [rule]
    assert q["quarantine_column"].tolist() == ["date"]
    assert q["quarantine_value"].iloc[0].startswith(text[:10])
    assert q["source_row"].tolist() == [3]
    assert report["tables"]["labs"]["rows_valid"] == 5
    assert kept["labs"]["date"].dtype == "datetime64[ns]"


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01"])
def test_a_whole_column_of_open_ended_dates_is_quarantined(text, tmp_path):
    """Every cell such a date: pyarrow reads the column as dates pandas cannot hold."""
    raw = make_raw()
    raw["treatments"]["end_date"] = text
    report, kept, quar = _validate(raw, tmp_path)
    q = quar["treatments"]
    assert set(q["quarantine_rule"]) == {"out_of_range"}
    assert set(q["quarantine_column"]) == {"end_date"}
    assert q["quarantine_value"].str.contains("outside 1900-01-01..2100-12-31").all()
    assert len(kept["treatments"]) == 0
    assert report["tables"]["treatments"]["rows_quarantined"] == 4


def test_open_ended_death_date_quarantines_the_patient_and_its_rows(tmp_path):
    raw = make_raw()
    raw["patients"].loc[0, "death_date"] = "9999-12-31"
    report, kept, quar = _validate(raw, tmp_path)
    assert quar["patients"]["quarantine_rule"].tolist() == ["out_of_range"]
    assert quar["patients"]["quarantine_column"].tolist() == ["death_date"]
    assert len(kept["patients"]) == 2
    assert set(quar["labs"]["quarantine_rule"]) == {"unknown_patient"}


def test_dates_after_the_export_date_are_quarantined(tmp_path):
    raw = make_raw()
    raw["patients"].loc[2, "last_contact_date"] = "2023-06-02"
    raw["labs"].loc[0, "date"] = "2023-06-02"
    report, kept, quar = _validate(raw, tmp_path, export_date=date(2023, 6, 1))
    assert report["export_date"] == "2023-06-01"
    assert quar["patients"]["quarantine_value"].tolist() == [
        "2023-06-02 (outside 1900-01-01..2023-06-01)"]
    labs = dict(zip(quar["labs"]["source_row"], quar["labs"]["quarantine_rule"], strict=True))
    assert labs == {1: "out_of_range", 5: "unknown_patient", 6: "unknown_patient"}
    # the export day itself is fine
    raw["patients"].loc[2, "last_contact_date"] = "2023-06-01"
    raw["labs"].loc[0, "date"] = "2023-06-01"
    report, kept, quar = _validate(raw, tmp_path / "again", export_date=date(2023, 6, 1))
    assert report["totals"]["rows_quarantined"] == 0


def test_cli_quarantines_far_dates_without_traceback(tmp_path, monkeypatch):
    from pipeline.cli import app

    raw = make_raw()
    raw["patients"]["death_date"] = ["9999-12-31", "", "0001-01-01"]
    raw_dir = write_raw(raw, tmp_path / "raw")
    monkeypatch.setenv(KEY_ENV, "ab" * 32)
    res = CliRunner().invoke(app, ["validate", "--raw", str(raw_dir), "--out",
                                   str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    q = pd.read_parquet(tmp_path / "quarantine" / "patients.parquet")
    assert q["quarantine_rule"].tolist() == ["out_of_range", "out_of_range"]
    bad = CliRunner().invoke(app, ["validate", "--raw", str(raw_dir), "--out",
                                   str(tmp_path / "v"), "--export-date", "2023-13-01"])
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.output


def test_cli_default_export_date_is_today_for_a_real_export(tmp_path, monkeypatch):
    from pipeline.cli import app

    raw = make_raw()
    future = (pd.Timestamp.today() + pd.Timedelta(days=400)).strftime("%Y-%m-%d")
    raw["patients"].loc[0, "last_contact_date"] = future
    raw_dir = write_raw(raw, tmp_path / "raw")
    monkeypatch.setenv(KEY_ENV, "ab" * 32)
    res = CliRunner().invoke(app, ["validate", "--raw", str(raw_dir), "--out",
                                   str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    q = pd.read_parquet(tmp_path / "quarantine" / "patients.parquet")
    assert q["quarantine_column"].tolist() == ["last_contact_date"]
    assert q["quarantine_value"].iloc[0].startswith(future)


def test_parse_date_separates_far_days_from_nonsense():
    dates, missing, bad, beyond = parse_date(pd.Series(
        ["2015-03-01", "9999-12-31", "0001-01-01", "2015-02-30", "", None, "x"], dtype=object))
    assert missing.tolist() == [False, False, False, False, True, True, False]
    assert bad.tolist() == [False, False, False, True, False, False, True]
    assert beyond.tolist() == [False, True, True, False, False, False, False]
    assert np.isnat(dates[1:]).all()
    assert dates[0] == np.datetime64("2015-03-01")


def test_date_bounds_are_the_documented_range():
    assert (DATE_MIN, DATE_MAX) == (date(1900, 1, 1), date(2100, 12, 31))
    lo, hi = date_bounds(date(2024, 5, 1))
    assert (lo, hi) == (np.datetime64("1900-01-01"), np.datetime64("2024-05-01"))
    assert date_bounds(date(2300, 1, 1))[1] == np.datetime64("2100-12-31")

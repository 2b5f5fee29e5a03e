"""``features`` on a validated export where nothing is left stops with a clear error naming why."""

from __future__ import annotations

from contract_fixtures import make_raw, write_raw
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.secrets import KEY_ENV


def _validate_then_features(raw, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "cd" * 32)
    raw_dir = write_raw(raw, tmp_path / "raw")
    runner = CliRunner()
    res = runner.invoke(app, ["validate", "--raw", str(raw_dir), "--out", str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    return runner.invoke(app, ["features", "--validated", str(tmp_path / "v"), "--out",
                               str(tmp_path / "f" / "cohort.parquet")])


def test_every_patient_quarantined_is_an_error_naming_why(tmp_path, monkeypatch):
    raw = make_raw()
    raw["patients"]["death_date"] = "9999-12-31"
    res = _validate_then_features(raw, tmp_path, monkeypatch)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    flat = " ".join(res.output.split())
    assert "no patient passed validation" in flat
    assert "3 of 3 patients quarantined: out_of_range 3" in flat
    assert "patients.parquet" in flat
    assert not (tmp_path / "f" / "cohort.parquet").exists()


def test_no_index_line_is_an_error_naming_the_therapies(tmp_path, monkeypatch):
    raw = make_raw()
    raw["treatments"]["therapy"] = "surgery"
    res = _validate_then_features(raw, tmp_path, monkeypatch)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    flat = " ".join(res.output.split())
    assert "no prediction row" in flat
    assert "index_therapies" in flat
    assert not (tmp_path / "f" / "cohort.parquet").exists()


def test_a_valid_export_still_builds_its_cohort(tmp_path, monkeypatch):
    res = _validate_then_features(make_raw(), tmp_path, monkeypatch)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "f" / "cohort.parquet").exists()

"""Whole-file faults stop with one InputError naming file, column and fix; the stage writes."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from contract_fixtures import IDS, KEY, make_raw, write_raw
from typer.testing import CliRunner

from pipeline.errors import InputError
from pipeline.stages.validate import run


def _run(raw_dir, tmp_path, demo=False):
    out = tmp_path / "validated"
    return run(raw_dir, out, tmp_path / "quarantine", out / "validation_report.json", KEY,
               demo_key=demo)


def test_stage_writes_tables_quarantine_and_report(raw_dir, tmp_path):
    raw = make_raw()
    raw["pathology"].loc[0, "ki67_percent"] = "150"
    write_raw(raw, raw_dir)
    report = _run(raw_dir, tmp_path)
    saved = json.loads((tmp_path / "validated" / "validation_report.json").read_text())
    assert saved["tables"]["pathology"]["reasons"] == {"out_of_range": 1}
    assert saved["demo_key"] is False
    assert saved["warnings"] == []
    assert report["totals"]["rows_in"] == sum(len(f) for f in raw.values())
    path = pd.read_parquet(tmp_path / "validated" / "pathology.parquet")
    assert len(path) == 2
    assert path["sample_date"].dtype == "datetime64[ns]"
    q = pd.read_parquet(tmp_path / "quarantine" / "pathology.parquet")
    assert q["quarantine_rule"].tolist() == ["out_of_range"]
    assert q["quarantine_value"].tolist() == ["150.0"]


def _expect(raw_dir, tmp_path, file, column, words):
    with pytest.raises(InputError) as info:
        _run(raw_dir, tmp_path)
    err = info.value
    assert err.file.endswith(file)
    assert err.column == column
    text = str(err)
    assert "\n" not in text
    assert file in text
    for w in words:
        assert w in text, text
    return err


def test_missing_required_column(raw_dir, tmp_path):
    raw = make_raw()
    write_raw({"pathology": raw["pathology"].drop(columns="ki67_percent")}, raw_dir)
    err = _expect(raw_dir, tmp_path, "pathology.csv", "ki67_percent", ["missing"])
    assert "add column 'ki67_percent' (Ki-67 index in %) to" in err.fix


def test_missing_file(raw_dir, tmp_path):
    (raw_dir / "labs.csv").unlink()
    _expect(raw_dir, tmp_path, "labs.csv", "", ["missing", "labs.csv"])


@pytest.mark.parametrize("sep", [";", "\t"])
def test_wrong_delimiter(raw_dir, tmp_path, sep):
    make_raw()["treatments"].to_csv(raw_dir / "treatments.csv", sep=sep, index=False)
    _expect(raw_dir, tmp_path, "treatments.csv", "", ["delimiter", "comma"])


def test_empty_file(raw_dir, tmp_path):
    (raw_dir / "lesions.csv").write_text("")
    _expect(raw_dir, tmp_path, "lesions.csv", "", ["empty"])


def test_header_only(raw_dir, tmp_path):
    (raw_dir / "assessments.csv").write_text(
        "patient_id,date,treatment_line,recist_response,progression\n")
    _expect(raw_dir, tmp_path, "assessments.csv", "", ["no rows"])


def test_not_utf8(raw_dir, tmp_path):
    (raw_dir / "patients.csv").write_bytes("patient_id,centre_id\nÄ,1\n".encode("utf-16"))
    _expect(raw_dir, tmp_path, "patients.csv", "", ["UTF-8"])


def test_ragged_rows(raw_dir, tmp_path):
    path = raw_dir / "labs.csv"
    path.write_text(path.read_text() + "HOSP-0001,2016-01-01,cga,5,ng/mL,extra,fields\n")
    _expect(raw_dir, tmp_path, "labs.csv", "", ["CSV"])


def test_cli_prints_one_line_and_exits_2(raw_dir, tmp_path, monkeypatch):
    from pipeline.cli import app

    (raw_dir / "imaging_studies.csv").write_text("study_id;patient_id\nS1;X\n")
    monkeypatch.setenv("NETOUTCOMES_PSEUDONYM_KEY", "cli-test-key-" * 3)
    res = CliRunner().invoke(app, ["validate", "--raw", str(raw_dir), "--out",
                                   str(tmp_path / "v")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_no_raw_identifier_in_outputs_or_logs(raw_dir, tmp_path, caplog):
    raw = make_raw()
    raw["patients"]["patient_name"] = ["Ann Smith", "Bob Jones", "Cy Young"]
    raw["patients"]["mrn"] = ["MRN0001", "MRN0002", "MRN0003"]
    raw["patients"].loc[1, "death_date"] = "2015-01-01"  # quarantines B and its rows
    raw["labs"] = pd.concat([raw["labs"], raw["labs"].iloc[[0]].assign(patient_id="HOSP-7777")])
    write_raw(raw, raw_dir)
    caplog.set_level(logging.DEBUG)
    _run(raw_dir, tmp_path)
    secrets = [*IDS, "HOSP-7777", "Ann Smith", "Bob", "MRN000"]
    texts = [caplog.text]
    for path in tmp_path.rglob("*"):
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            texts.append(frame.astype(str).to_csv() + " ".join(map(str, frame.columns)))
        elif path.suffix == ".json":
            texts.append(path.read_text())
    for text in texts:
        for s in secrets:
            assert s not in text


def test_late_bad_value_in_a_large_file_is_a_row_fault(raw_dir, tmp_path):
    raw = make_raw()
    n = 60_000
    labs = pd.DataFrame({"patient_id": IDS[0], "date": pd.date_range("2015-03-02", periods=n,
                                                                     freq="h").strftime("%Y-%m-%d"),
                         "analyte": "cga", "value": "12", "unit": "ng/mL"})
    labs["date"] = (pd.Timestamp("2015-03-02") + pd.to_timedelta(range(n), "D") // 10
                    ).strftime("%Y-%m-%d")
    labs["analyte"] = ["cga", "alp", "albumin", "nse", "bilirubin", "ppi_use", "cga", "alp",
                       "albumin", "nse"] * (n // 10)
    labs.loc[labs["analyte"] == "ppi_use", ["value", "unit"]] = ["1", "flag"]
    labs.loc[labs["analyte"] == "alp", "unit"] = "U/L"
    labs.loc[labs["analyte"] == "albumin", ["value", "unit"]] = ["40", "g/L"]
    labs.loc[labs["analyte"] == "bilirubin", "unit"] = "µmol/L"
    labs = labs.drop_duplicates(["patient_id", "date", "analyte"]).reset_index(drop=True)
    labs.loc[len(labs) - 1, "value"] = "twelve"
    raw["labs"] = labs
    raw["patients"].loc[0, "last_contact_date"] = "2040-01-01"
    write_raw(raw, raw_dir)
    report = _run(raw_dir, tmp_path)
    assert report["tables"]["labs"]["reasons"] == {"unparseable_number": 1}
    assert report["tables"]["labs"]["rows_valid"] == len(labs) - 1

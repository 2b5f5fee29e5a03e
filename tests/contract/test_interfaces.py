"""The fixed interfaces other packages call: pseudonymise, InputError, the key loader."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest
from contract_fixtures import KEY, make_raw, write_raw

from features.pseudonym import pseudonymise
from pipeline.errors import InputError
from pipeline.stages.validate import run


def test_pseudonymise_series_contract():
    ids = pd.Series([" net-7 ", "NET-7", "NET-8", None], index=[5, 6, 7, 8], name="patient_id")
    out = pseudonymise(ids, b"secret")
    expected = "P" + hmac.new(b"secret", b"NET-7", hashlib.sha256).hexdigest()[:16]
    assert out.tolist()[:2] == [expected, expected]
    assert out.index.tolist() == [5, 6, 7, 8]
    assert out.name == "patient_id"
    assert out.iloc[2] != expected
    assert pd.isna(out.iloc[3])
    assert pseudonymise(ids, b"other").iloc[0] != expected
    assert ids.tolist()[0] == " net-7 "  # input untouched


def test_input_error_is_one_line_with_file_column_fix():
    err = InputError("pathology.csv", "ki67_percent", "add column 'ki67_percent' to the export",
                     "missing (required column absent)")
    text = str(err)
    assert text == ("pathology.csv: column 'ki67_percent' missing (required column absent). "
                    "Fix: add column 'ki67_percent' to the export")
    assert (err.file, err.column) == ("pathology.csv", "ki67_percent")
    assert "\n" not in str(InputError("a.csv", "", "line one\nline two", "bad\nfile"))


def test_latin1_bytes_late_in_a_file_are_an_input_error(tmp_path):
    raw_dir = write_raw(make_raw(), tmp_path / "raw")
    path = raw_dir / "patients.csv"
    path.write_bytes(path.read_bytes() + "HOSP-0009,C1,F,1960,2015-01-01,Pänkreas,0,1,"
                     "2020-01-01,\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        run(raw_dir, tmp_path / "v", tmp_path / "q", tmp_path / "r.json", KEY, demo_key=False)
    assert "UTF-8" in str(info.value)
    assert info.value.file.endswith("patients.csv")
    assert "HOSP" not in str(info.value)


def test_binary_file_is_an_input_error(tmp_path):
    raw_dir = write_raw(make_raw(), tmp_path / "raw")
    (raw_dir / "labs.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError) as info:
        run(raw_dir, tmp_path / "v", tmp_path / "q", tmp_path / "r.json", KEY, demo_key=False)
    assert info.value.file.endswith("labs.csv")


def test_numeric_ids_get_the_same_pseudonym_as_their_text():
    from features.validate import validate_tables

    raw = make_raw()
    numbers = {"HOSP-0001": 1, "HOSP-0002": 2, "HOSP-0003": 3}
    for frame in raw.values():
        if "patient_id" in frame:
            frame["patient_id"] = frame["patient_id"].map(numbers).astype(float)  # 1.0, 2.0
    res = validate_tables(raw, b"k")
    got = res.tables["patients"]["patient_id"].astype(str).tolist()
    assert got == pseudonymise(pd.Series(["1", "2", "3"]), b"k").tolist()
    assert got == pseudonymise(pd.Series([1.0, 2.0, 3.0]), b"k").tolist()
    assert all(e["rows_quarantined"] == 0 for e in res.report.values())

"""Identifiers at the border: quarantine holds the pseudonym, the rule, the column and a value
that is never the raw text of an identifier; identifiers typed into the wrong column (shifted
columns) reach neither the quarantine nor the validated tables."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from contract_fixtures import IDS, KEY, make_raw, write_raw

from features.contract import QUARANTINE_COLUMNS, TABLES
from features.pseudonym import REDACTED, IdentifierScreen, pseudonymise_value
from pipeline.stages.validate import run

NAMES = ["Ann Smith", "Bob Jones", "Cy Young"]
MRNS = ["MRN0001", "MRN0002", "78120034"]


def _with_identifier_columns():
    raw = make_raw()
    raw["patients"]["patient_name"] = NAMES
    raw["patients"]["mrn"] = MRNS
    return raw


def _shift_right(frame: pd.DataFrame, row: int, start: str, value: str) -> None:
    """Insert ``value`` at column ``start`` of ``row``; later cells move one column right."""
    cols = list(frame.columns)
    i = cols.index(start)
    cells = frame.loc[row, cols[i:]].tolist()
    frame.loc[row, cols[i:]] = [value, *cells[:-1]]


def _shifted_export():
    raw = _with_identifier_columns()
    a, b, c = IDS
    raw["patients"].loc[2, "centre_id"] = c                    # own id typed into centre_id
    _shift_right(raw["patients"], 1, "sex", b)                 # id in sex, sex in birth_year...
    raw["pathology"].loc[1, "specimen"] = NAMES[1]             # a name in a category column
    raw["labs"].loc[3, "unit"] = MRNS[1]                       # an MRN in the unit column
    _shift_right(raw["labs"], 0, "date", a)                    # id in date, date in analyte ...
    raw["treatments"].loc[0, "dose_mg"] = MRNS[2]              # a numeric MRN in a number column
    raw["lesions"].loc[0, "lesion_id"] = b                     # a patient id as lesion id
    raw["imaging_studies"].loc[0, "tracer"] = "ann.smith@example.org"
    raw["assessments"].loc[0, "recist_response"] = "Smith"     # a surname alone
    _shift_right(raw["assessments"], 2, "patient_id", "")      # everything one cell right
    return raw


@pytest.fixture
def shifted(tmp_path):
    raw = _shifted_export()
    raw_dir = write_raw(raw, tmp_path / "raw")
    out = tmp_path / "validated"
    report = run(raw_dir, out, tmp_path / "quarantine", out / "validation_report.json", KEY,
                 demo_key=False)
    kept = {t: pd.read_parquet(out / f"{t}.parquet") for t in TABLES}
    quar = {t: pd.read_parquet(tmp_path / "quarantine" / f"{t}.parquet") for t in TABLES}
    return dict(raw=raw, report=report, kept=kept, quar=quar, root=tmp_path)


def test_no_raw_identifier_in_quarantine_or_validated_tables(shifted):
    secrets = [*IDS, *NAMES, *MRNS, "Smith", "Jones", "ann.smith", "0001", "0002", "0003"]
    for where in ("validated", "quarantine"):
        for path in (shifted["root"] / where).glob("*.parquet"):
            frame = pd.read_parquet(path)
            text = frame.astype(str).to_csv() + " ".join(map(str, frame.columns))
            for s in secrets:
                assert s.lower() not in text.lower(), (path.name, s)
    report = (shifted["root"] / "validated" / "validation_report.json").read_text()
    for s in secrets:
        assert s.lower() not in report.lower(), s


def test_rows_in_equal_kept_plus_quarantined(shifted):
    for t in TABLES:
        e = shifted["report"]["tables"][t]
        assert e["rows_in"] == len(shifted["raw"][t]), t
        assert e["rows_in"] == len(shifted["kept"][t]) + len(shifted["quar"][t]), t


def _row(shifted, table, source_row):
    q = shifted["quar"][table]
    hit = q[q["source_row"] == source_row]
    assert len(hit) == 1, (table, source_row, q)
    return hit.iloc[0]


def test_each_shifted_identifier_is_quarantined_with_pseudonym_rule_and_column(shifted):
    a, b, c = (pseudonymise_value(i, KEY) for i in IDS)
    got = {
        ("patients", 3): ("identifier_like", "centre_id", c),
        ("patients", 2): ("unknown_category", "sex", b),
        ("pathology", 2): ("unknown_category", "specimen", b),
        ("labs", 4): ("unknown_unit", "unit", b),
        ("labs", 1): ("unparseable_date", "date", a),
        ("treatments", 1): ("out_of_range", "dose_mg", a),
        ("lesions", 1): ("identifier_like", "lesion_id", a),
        ("imaging_studies", 1): ("identifier_like", "tracer", a),
        ("assessments", 1): ("unknown_category", "recist_response", a),
        ("assessments", 3): ("missing_key", "patient_id", None),
    }
    for (table, source_row), (rule, column, pid) in got.items():
        row = _row(shifted, table, source_row)
        assert (row["quarantine_rule"], row["quarantine_column"]) == (rule, column), table
        assert row["patient_id"] == pid or (pid is None and pd.isna(row["patient_id"])), table
        if rule != "missing_key":
            assert row["quarantine_value"] == REDACTED, (table, row["quarantine_value"])


def test_quarantine_holds_only_pseudonym_reason_column_value_and_row(shifted):
    for t in TABLES:
        assert list(shifted["quar"][t].columns) == ["patient_id", *QUARANTINE_COLUMNS], t
        ids = shifted["quar"][t]["patient_id"].dropna()
        assert ids.str.fullmatch(r"P[0-9a-f]{16}").all(), t


def test_ordinary_faults_keep_their_value(tmp_path):
    raw = _with_identifier_columns()
    raw["pathology"].loc[0, "ki67_percent"] = "150"
    raw["treatments"].loc[1, "therapy"] = "homeopathy"
    raw["patients"].loc[1, "death_date"] = "2015-01-01"
    raw_dir = write_raw(raw, tmp_path / "raw")
    run(raw_dir, tmp_path / "v", tmp_path / "q", tmp_path / "v" / "r.json", KEY,
        demo_key=False)
    q = {t: pd.read_parquet(tmp_path / "q" / f"{t}.parquet") for t in TABLES}
    assert q["pathology"]["quarantine_value"].tolist()[0] == "150.0"
    assert "homeopathy" in q["treatments"]["quarantine_value"].tolist()
    assert q["patients"]["quarantine_value"].tolist() == [
        "2015-01-01 (before diagnosis_date 2016-01-10)"]
    pb = pseudonymise_value(IDS[1], KEY)
    assert set(q["labs"]["quarantine_value"]) == {pb}  # pseudonyms are not redacted
    assert json.loads((tmp_path / "v" / "r.json").read_text())["totals"]["rows_quarantined"] > 0


def test_clean_export_with_identifier_columns_keeps_every_row(tmp_path):
    raw = _with_identifier_columns()
    raw_dir = write_raw(raw, tmp_path / "raw")
    report = run(raw_dir, tmp_path / "v", tmp_path / "q", tmp_path / "v" / "r.json", KEY,
                 demo_key=False)
    assert report["totals"]["rows_quarantined"] == 0
    kept = pd.read_parquet(tmp_path / "v" / "imaging_studies.parquet")
    assert kept["tracer"].astype(str).tolist() == ["68Ga-DOTATATE", "nan", "18F-FDG"]


@pytest.mark.parametrize(("text", "expected"), [
    ("HOSP-0001", True), ("hosp-0001 ", True), ("HOSP-0099", True),   # known, and its shape
    ("Ann Smith", True), ("smith", True), ("Smith, Ann", True), ("Dr Who Else", True),
    ("NET-0001234", True), ("12345678", True), ("+44 20 7946 0958", True),
    ("a.b@c.org", True),
    ("150", False), ("150.0", False), ("homeopathy", False), ("2015-01-01", False),
    ("2015-01-01 (before diagnosis_date 2016-01-10)", False), ("68Ga-DOTATATE", False),
    ("mg/furlong", False), ("C01", False), ("", False), ("P0123456789abcdef", False),
    ("1e+308", False), ("01/10/2015", False),
])
def test_identifier_screen(text, expected):
    screen = IdentifierScreen([*IDS, *NAMES, *MRNS])
    assert screen.is_identifier_like(text) is expected


def test_non_strict_screen_spares_codes_of_the_column_itself():
    screen = IdentifierScreen([*IDS, "MRN0001"])
    assert not screen.is_identifier_like("ST000000001", strict=False, generic=False)
    assert screen.is_identifier_like("HOSP-0002", strict=False, generic=False)
    assert screen.is_identifier_like("MRN0042", strict=False, generic=False)  # an MRN's shape
    assert not screen.is_identifier_like("Royal Free", strict=False)  # a centre's name
    assert screen.is_identifier_like("Royal Free")  # ... but redacted in quarantine values

"""Row rules: each messiness kind of the contract ends in quarantine with its one reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from contract_fixtures import IDS, KEY, make_raw

from features.pseudonym import pseudonymise_value
from features.validate import validate_tables


def _run(raw):
    return validate_tables(raw, KEY)


def _reasons(result, table):
    q = result.quarantine[table]
    return list(zip(q["quarantine_rule"], q["quarantine_column"], strict=True))


def test_clean_export_is_fully_valid(raw):
    res = _run(raw)
    for t, entry in res.report.items():
        assert entry["rows_quarantined"] == 0, (t, entry)
        assert entry["rows_valid"] == len(raw[t])
    pat = res.tables["patients"]
    assert pat["patient_id"].astype(str).tolist() == [pseudonymise_value(i, KEY) for i in IDS]
    assert pat["diagnosis_date"].dtype == "datetime64[ns]"
    assert str(pat["ecog"].dtype) == "Int64"
    assert pat["ecog"].isna().sum() == 1
    assert res.tables["labs"]["value"].dtype == np.float64


def _set(raw, table, row, column, value):
    raw[table].loc[row, column] = value
    return raw


CASES = [
    ("pathology", 0, "ki67_percent", "150", "out_of_range"),
    ("lesions", 1, "volume_ml", "-2.5", "out_of_range"),
    ("patients", 0, "ecog", "7", "out_of_range"),
    ("patients", 0, "ecog", "1.5", "not_integer"),
    ("patients", 2, "sex", "alien", "unknown_category"),
    ("treatments", 0, "therapy", "homeopathy", "unknown_category"),
    ("labs", 0, "analyte", "unobtainium", "unknown_category"),
    ("labs", 0, "unit", "mg/furlong", "unknown_unit"),
    ("labs", 1, "value", "forty", "unparseable_number"),
    ("labs", 1, "value", "400", "out_of_range"),
    ("assessments", 0, "date", "01/10/2015", "unparseable_date"),
    ("assessments", 0, "recist_response", "great", "unknown_category"),
    ("treatments", 1, "line", "", "missing_key"),
    ("treatments", 1, "start_date", "", "missing_value"),
    ("pathology", 1, "sample_date", "1890-01-01", "out_of_range"),
    ("treatments", 0, "start_date", "2014-01-01", "date_order"),
    ("treatments", 0, "end_date", "2015-01-01", "date_order"),
    ("labs", 0, "date", "1959-12-31", "date_order"),
    ("assessments", 2, "date", "2016-01-20", "date_order"),
    ("patients", 1, "death_date", "2015-01-01", "date_order"),
    # an assessment before its line started or before the diagnosis, progression or not, and
    # one of a line the patient never had: none may count towards a response label
    ("assessments", 0, "date", "2015-03-15", "date_order"),
    ("assessments", 0, "date", "2015-02-01", "date_order"),
    ("assessments", 3, "treatment_line", "2", "unknown_line"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "rule"), CASES)
def test_each_fault_quarantines_one_row_with_its_reason(table, row, column, value, rule):
    raw = _set(make_raw(), table, row, column, value)
    res = _run(raw)
    q = res.quarantine[table]
    assert len(q) == 1, q
    assert q["quarantine_rule"].iloc[0] == rule
    assert q["quarantine_column"].iloc[0] == column
    assert q["source_row"].iloc[0] == row + 1
    if rule not in ("missing_key", "missing_value"):
        assert q["quarantine_value"].iloc[0].startswith(value)
    entry = res.report[table]
    assert entry["reasons"] == {rule: 1}
    assert entry["rows_valid"] == len(raw[table]) - 1


def test_iso_timestamps_with_mixed_offsets_are_read_as_days():
    raw = make_raw()
    raw["labs"]["date"] = ["2015-03-02T08:00:00Z", "2015-03-02T08:00:00+05:00", "2016-01-01",
                           "2016-01-11 10:30", "2018-05-05", "2018-05-05T00:00:00-03:00"]
    res = _run(raw)
    assert res.report["labs"]["rows_quarantined"] == 0
    assert res.tables["labs"]["date"].dt.strftime("%Y-%m-%d").tolist()[:2] == ["2015-03-02"] * 2


def test_quarantined_patient_takes_its_rows_along():
    raw = _set(make_raw(), "patients", 1, "death_date", "2015-01-01")  # death before diagnosis
    res = _run(raw)
    pb = pseudonymise_value(IDS[1], KEY)
    for t in ("pathology", "treatments", "labs", "imaging_studies", "assessments"):
        q = res.quarantine[t]
        assert set(q["quarantine_rule"]) == {"unknown_patient"}, t
        assert set(q["quarantine_value"]) == {pb}
        assert pb not in set(res.tables[t]["patient_id"].astype(str))
    assert _reasons(res, "lesions") == [("unknown_study", "study_id")]


def test_rows_for_unknown_patients_are_quarantined():
    raw = make_raw()
    extra = raw["labs"].iloc[[0]].assign(patient_id="HOSP-9999")
    raw["labs"] = pd.concat([raw["labs"], extra], ignore_index=True)
    res = _run(raw)
    assert _reasons(res, "labs") == [("unknown_patient", "patient_id")]
    assert res.quarantine["labs"]["patient_id"].iloc[0] == pseudonymise_value("HOSP-9999", KEY)


def test_exact_duplicates_keep_the_first_copy():
    raw = make_raw()
    for t in ("labs", "lesions", "assessments", "patients"):
        raw[t] = pd.concat([raw[t], raw[t].iloc[[1]]], ignore_index=True)
    res = _run(raw)
    for t in ("labs", "lesions", "assessments", "patients"):
        assert _reasons(res, t) == [("duplicate", "*")], t
        assert res.quarantine[t]["source_row"].iloc[0] == len(raw[t])
        assert res.report[t]["rows_valid"] == len(raw[t]) - 1


def test_conflicting_key_is_duplicate_key():
    raw = make_raw()
    raw["treatments"] = pd.concat(
        [raw["treatments"], raw["treatments"].iloc[[0]].assign(therapy="surgery")],
        ignore_index=True)
    res = _run(raw)
    assert _reasons(res, "treatments") == [("duplicate_key", "patient_id+line")]


def test_lab_units_are_converted_to_canonical():
    raw = make_raw()
    raw["labs"]["unit"] = ["µg/L", "g/dL", "nmol/L", "mg/dL", "flag", "mmol/L"]
    raw["labs"]["value"] = ["150", "4.0", "2", "1.0", "1", "8"]
    res = _run(raw)
    labs = res.tables["labs"]
    np.testing.assert_allclose(labs["value"], [150, 40, 97.8, 88.42, 1, 12.888])
    assert labs["unit"].astype(str).tolist() == ["ng/mL", "g/L", "ng/mL", "µmol/L", "flag",
                                                 "g/dL"]
    conv = res.report["labs"]["unit_conversions"]
    assert conv["cga: µg/L -> ng/mL (x1)"] == 1
    assert conv["cga: nmol/L -> ng/mL (x48.9)"] == 1
    assert conv["albumin: g/dL -> g/L (x10)"] == 1
    assert sum(conv.values()) == 5


def test_spellings_are_normalised():
    raw = make_raw()
    raw["patients"]["primary_site"] = ["PNET", "small bowel", "n/a"]
    raw["patients"]["sex"] = ["female", " Man ", "w"]
    raw["treatments"]["therapy"] = ["octreotide LAR", "Lu-177", "Afinitor", "CAPTEM"]
    raw["imaging_studies"]["modality"] = ["68Ga-DOTATATE PET/CT", "CT scan", "18F-FDG"]
    raw["assessments"]["recist_response"] = ["stable disease", "Partial-Response", "progression",
                                             "sd"]
    res = _run(raw)
    assert all(e["rows_quarantined"] == 0 for e in res.report.values()), res.report
    t = {k: v.astype({c: object for c in v.select_dtypes("category")}) for k, v in
         res.tables.items()}
    assert t["patients"]["primary_site"].tolist() == ["pancreas", "small_intestine", "unknown"]
    assert t["patients"]["sex"].tolist() == ["F", "M", "F"]
    assert t["treatments"]["therapy"].tolist() == ["ssa", "prrt_lu177", "everolimus",
                                                   "chemotherapy"]
    assert t["imaging_studies"]["modality"].tolist() == ["sstr_pet", "ct", "fdg_pet"]
    assert t["assessments"]["recist_response"].tolist() == ["SD", "PR", "PD", "SD"]


def test_identifier_and_extra_columns_are_dropped_and_reported():
    raw = make_raw()
    raw["patients"]["patient_name"] = ["Ann Smith", "Bob Jones", "Cy Young"]
    raw["patients"]["MRN"] = ["MRN001", "MRN002", "MRN003"]
    raw["patients"]["Date of Birth"] = ["1960-01-02"] * 3
    raw["labs"]["comment"] = "x"
    res = _run(raw)
    rep = res.report["patients"]
    assert rep["dropped_identifier_columns"] == ["patient_name", "mrn", "date_of_birth"]
    assert res.report["labs"]["dropped_extra_columns"] == ["comment"]
    assert list(res.tables["patients"].columns)[-1] == "death_date"
    assert "patient_name" not in res.quarantine["patients"].columns


def test_accounting_invariant_on_a_messy_mix():
    raw = make_raw()
    raw["labs"] = pd.concat([raw["labs"]] * 3, ignore_index=True)
    raw["labs"].loc[4, "value"] = "-1"
    raw["pathology"].loc[0, "ki67_percent"] = "150"
    res = _run(raw)
    for t, e in res.report.items():
        assert e["rows_in"] == len(raw[t]) == e["rows_valid"] + e["rows_quarantined"]
        assert e["rows_valid"] == len(res.tables[t])
        assert e["rows_quarantined"] == len(res.quarantine[t]) == sum(e["reasons"].values())


def test_inputs_are_not_mutated(raw):
    before = {t: f.copy() for t, f in raw.items()}
    _run(raw)
    for t in raw:
        pd.testing.assert_frame_equal(raw[t], before[t])

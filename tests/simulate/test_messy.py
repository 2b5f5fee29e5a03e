"""``messy=True`` adds each documented kind of export fault; truth is unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from simtools import simulate

from features.simulate.messy import SPELLINGS


@pytest.fixture(scope="module")
def pair(parameters):
    return simulate(parameters, 1500, 9), simulate(parameters, 1500, 9, messy=True)


def test_unit_variants_converted(pair):
    clean, messy = pair
    labs = messy.tables["labs"]
    units = labs.groupby("analyte")["unit"].agg(set)
    assert {"ng/mL", "µg/L", "nmol/L"} <= units["cga"]
    assert {"g/L", "g/dL"} <= units["albumin"]
    assert {"µmol/L", "mg/dL"} <= units["creatinine"]
    alb = labs.loc[labs["analyte"] == "albumin"]
    assert alb.loc[alb["unit"] == "g/dL", "value"].median() * 10 == pytest.approx(
        alb.loc[alb["unit"] == "g/L", "value"].median(), rel=0.1
    )
    cga = labs.loc[labs["analyte"] == "cga"]
    assert (
        cga.loc[cga["unit"] == "nmol/L", "value"].median()
        < cga.loc[cga["unit"] == "ng/mL", "value"].median() / 10
    )


def test_spelling_variants(pair):
    _, messy = pair
    sites = set(messy.tables["patients"]["primary_site"])
    assert sites & set(SPELLINGS["primary_site"]["pancreas"])
    therapies = set(messy.tables["treatments"]["therapy"])
    assert therapies & {"Lutathera", "PRRT", "177Lu-DOTATATE", "Lu-177"}
    assert set(messy.tables["assessments"]["recist_response"]) - {"CR", "PR", "SD", "PD", "NE"}
    assert set(messy.tables["imaging_studies"]["modality"]) - {"sstr_pet", "fdg_pet", "ct", "mri"}


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        ("labs", ["patient_id", "date", "analyte"]),
        ("lesions", ["study_id", "lesion_id"]),
        ("assessments", ["patient_id", "date"]),
    ],
)
def test_duplicated_rows(pair, table, keys):
    clean, messy = pair
    dup = messy.tables[table].duplicated().mean()
    assert 0.005 < dup < 0.02
    assert not clean.tables[table].duplicated(keys).any()


def test_typos_dates_unknown_patients_identifiers(pair):
    clean, messy = pair
    t = messy.tables
    assert (t["pathology"]["ki67_percent"] == 150).any()
    assert (t["lesions"]["volume_ml"] < 0).any()
    assert (t["patients"]["ecog"] == 7).any()
    pat = t["patients"].set_index("patient_id")
    assert (pat["death_date"] < pat["diagnosis_date"]).any()
    tx = t["treatments"].join(pat[["diagnosis_date"]], on="patient_id")
    assert (tx["start_date"] < tx["diagnosis_date"]).any()
    assert not set(t["labs"]["patient_id"]) <= set(pat.index)
    assert {"patient_name", "mrn"} <= set(t["patients"].columns)
    assert t["patients"]["patient_name"].notna().all()
    assert "patient_name" not in clean.tables["patients"].columns
    # clean mode has none of these faults
    assert clean.tables["pathology"]["ki67_percent"].dropna().le(100).all()
    assert (clean.tables["lesions"]["volume_ml"] >= 0).all()


def test_truth_unchanged_by_messiness(pair):
    clean, messy = pair
    for name in ("truth", "counterfactual"):
        assert clean.truth[name].equals(messy.truth[name])
    assert np.array_equal(
        clean.tables["patients"]["patient_id"], messy.tables["patients"]["patient_id"]
    )

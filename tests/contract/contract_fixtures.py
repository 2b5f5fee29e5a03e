"""Hand-made raw tables shared by the contract tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

KEY = b"test-key-0123456789-test-key-0123456789"
IDS = ("HOSP-0001", "HOSP-0002", "HOSP-0003")


def make_raw() -> dict[str, pd.DataFrame]:
    """A clean raw export as string tables (fresh copies on each call)."""
    a, b, c = IDS
    t = {
        "patients": {
            "patient_id": [a, b, c], "centre_id": ["C1", "C1", "C2"], "sex": ["F", "M", "F"],
            "birth_year": ["1960", "1955", "1970"],
            "diagnosis_date": ["2015-03-01", "2016-01-10", "2018-05-05"],
            "primary_site": ["pancreas", "small_intestine", "lung"],
            "functional_syndrome": ["0", "1", "0"], "ecog": ["1", "0", ""],
            "last_contact_date": ["2022-01-01", "2021-06-30", "2023-01-01"],
            "death_date": ["", "2021-06-30", ""],
        },
        "pathology": {
            "patient_id": [a, b, c], "sample_date": ["2015-03-05", "2016-01-12", "2018-05-06"],
            "specimen": ["primary", "metastasis", "primary"], "ki67_percent": ["5.5", "2", ""],
            "differentiation": ["well", "well", "poor"], "sstr2_ihc": ["3", "", "1"],
            "egfr_ihc": ["", "", ""], "cmet_ihc": ["", "1", ""], "igf1r_ihc": ["", "", ""],
            "daxx_atrx_loss": ["1", "", "0"],
        },
        "treatments": {
            "patient_id": [a, a, b, c], "line": ["1", "2", "1", "1"],
            "therapy": ["ssa", "prrt_lu177", "everolimus", "chemotherapy"],
            "start_date": ["2015-04-01", "2017-01-01", "2016-02-01", "2018-06-01"],
            "end_date": ["2016-12-01", "2017-07-01", "", "2018-12-01"],
            "cycles": ["", "4", "", "6"], "cumulative_activity_gbq": ["", "29.6", "", ""],
            "dose_mg": ["120", "", "10", ""],
        },
        "labs": {
            "patient_id": [a, a, a, b, c, c],
            "date": ["2015-03-02", "2015-03-02", "2016-01-01", "2016-01-11", "2018-05-05",
                     "2018-05-05"],
            "analyte": ["cga", "albumin", "cga", "creatinine", "ppi_use", "haemoglobin"],
            "value": ["150", "40", "80", "90", "1", "13.2"],
            "unit": ["ng/mL", "g/L", "ng/mL", "µmol/L", "flag", "g/dL"],
        },
        "imaging_studies": {
            "study_id": ["S1", "S2", "S3"], "patient_id": [a, b, c],
            "date": ["2015-03-10", "2016-01-15", "2018-05-20"],
            "modality": ["sstr_pet", "ct", "fdg_pet"], "tracer": ["68Ga-DOTATATE", "", "18F-FDG"],
            "liver_suvmean": ["5.1", "", "2.2"], "spleen_suvmean": ["18", "", "2.5"],
            "liver_volume_ml": ["1500", "1600", "1450"],
        },
        "lesions": {
            "study_id": ["S1", "S1", "S2", "S3"], "lesion_id": ["L01", "L02", "L01", "L01"],
            "organ": ["liver", "bone", "liver", "lymph_node"], "suvmax": ["25", "12", "", "8"],
            "suvmean": ["15", "7", "", "5"], "volume_ml": ["30", "2.5", "40", "3"],
            "longest_diameter_mm": ["38", "15", "41", "12"],
        },
        "assessments": {
            "patient_id": [a, a, b, c], "date": ["2015-10-01", "2017-06-01", "2016-08-01",
                                                 "2018-09-01"],
            "treatment_line": ["1", "2", "1", "1"], "recist_response": ["SD", "PR", "PD", "SD"],
            "progression": ["0", "0", "1", "0"],
        },
    }
    return {name: pd.DataFrame(cols, dtype=object) for name, cols in t.items()}


def write_raw(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write tables as ``folder/<table>.csv`` (comma-separated, UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder



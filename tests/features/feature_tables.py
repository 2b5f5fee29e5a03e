"""Hand-made validated tables (data contract §2) for five patients whose features are known.

- A (F, pancreas): index line 3 PRRT on 2021-01-10 after SSA (line 1, assessed) and liver-directed
  therapy (line 2); full labs, pathology, SSTR-/FDG-PET and two CT/MRI.
- B (M, small intestine): index line 3 everolimus on 2020-06-01 after surgery and PRRT; died.
- C (F, lung): index line 1 sunitinib on 2020-05-01, only an NE assessment, no other data.
- D (M): SSA line without any assessment: no prediction.
- E (M, rectum): index line 1 chemotherapy on 2021-02-01, PD only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NA = np.nan
PA, PB, PC, PD_, PE = (f"P{str(i) * 16}" for i in "abcde")


def _dates(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    for col in cols:
        frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


def make_tables() -> dict[str, pd.DataFrame]:
    """The fixture cohort as validated tables (fresh copies on each call)."""
    patients = _dates(
        pd.DataFrame(
            {
                "patient_id": [PA, PB, PC, PD_, PE],
                "centre_id": ["C1", "C2", "C1", "C2", "C3"],
                "sex": ["F", "M", "F", "M", "M"],
                "birth_year": [1960, 1950, 1970, 1965, 1980],
                "diagnosis_date": ["2018-01-15", "2015-06-01", "2019-03-01", "2018-01-01",
                                   "2021-01-01"],
                "primary_site": ["pancreas", "small_intestine", "lung", "pancreas", "rectum"],
                "functional_syndrome": [0, 1, 0, 0, 0],
                "ecog": [1.0, 0.0, NA, 1.0, 2.0],
                "last_contact_date": ["2023-06-30", "2022-12-31", "2021-12-31", "2020-01-01",
                                      "2021-12-31"],
                "death_date": [None, "2022-10-01", None, None, None],
            }
        ),
        ["diagnosis_date", "last_contact_date", "death_date"],
    )
    treatments = _dates(
        pd.DataFrame(
            {
                "patient_id": [PA, PA, PA, PB, PB, PB, PC, PD_, PE],
                "line": [1, 2, 3, 1, 2, 3, 1, 1, 1],
                "therapy": ["ssa", "liver_directed", "prrt_lu177", "surgery", "prrt_lu177",
                            "everolimus", "sunitinib", "ssa", "chemotherapy"],
                "start_date": ["2018-03-01", "2020-01-15", "2021-01-10", "2015-07-01",
                               "2016-01-01", "2020-06-01", "2020-05-01", "2019-01-01",
                               "2021-02-01"],
                "end_date": ["2019-12-31", "2020-01-15", "2021-07-10", "2015-07-01",
                             "2016-07-01", None, "2020-12-01", None, "2021-06-01"],
                "cycles": [NA, NA, 4.0, NA, 4.0, NA, NA, NA, 6.0],
                "cumulative_activity_gbq": [NA, NA, 29.6, NA, 22.2, NA, NA, NA, NA],
                "dose_mg": [120.0, NA, NA, NA, NA, 10.0, 37.5, 120.0, NA],
            }
        ),
        ["start_date", "end_date"],
    )
    pathology = _dates(
        pd.DataFrame(
            {
                "patient_id": [PA, PA, PA, PB, PB],
                "sample_date": ["2018-01-20", "2020-11-01", "2021-02-01", "2015-06-01",
                                "2015-06-01"],
                "specimen": ["primary", "metastasis", "metastasis", "primary", "primary"],
                "ki67_percent": [2.0, 12.5, 40.0, 1.5, 2.5],
                "differentiation": ["well", "well", "poor", "well", "well"],
                "sstr2_ihc": [3.0, NA, 0.0, NA, NA],
                "egfr_ihc": [NA, NA, NA, NA, NA],
                "cmet_ihc": [NA, NA, NA, NA, NA],
                "igf1r_ihc": [NA, NA, NA, NA, NA],
                "daxx_atrx_loss": [NA, 1.0, NA, NA, NA],
            }
        ),
        ["sample_date"],
    )
    lab_rows = [
        # patient A, index 2021-01-10 (labs window from 2020-10-12, CgA series from 2020-01-11)
        (PA, "2020-01-15", "cga", 100.0, "ng/mL"),
        (PA, "2020-06-28", "cga", 200.0, "ng/mL"),
        (PA, "2020-12-10", "cga", 400.0, "ng/mL"),
        (PA, "2020-12-20", "alp", 150.0, "U/L"),
        (PA, "2020-09-01", "albumin", 20.0, "g/L"),
        (PA, "2020-12-20", "albumin", 38.0, "g/L"),
        (PA, "2020-12-20", "neutrophils", 4.0, "10^9/L"),
        (PA, "2020-12-20", "lymphocytes", 2.0, "10^9/L"),
        (PA, "2020-12-20", "platelets", 250.0, "10^9/L"),
        (PA, "2021-01-05", "neutrophils", 6.0, "10^9/L"),
        (PA, "2021-01-10", "creatinine", 70.736, "µmol/L"),
        (PA, "2020-12-20", "haemoglobin", 12.5, "g/dL"),
        (PA, "2020-12-20", "bilirubin", 8.0, "µmol/L"),
        (PA, "2020-12-20", "nse", 15.0, "ng/mL"),
        (PA, "2020-12-20", "5hiaa", 120.0, "µmol/24h"),
        (PA, "2020-12-20", "ppi_use", 1.0, "flag"),
        (PA, "2021-01-11", "albumin", 10.0, "g/L"),  # after the index date
        # patient B, index 2020-06-01
        (PB, "2020-05-01", "cga", 50.0, "ng/mL"),
        (PB, "2020-05-01", "creatinine", 88.42, "µmol/L"),
        (PB, "2020-05-01", "platelets", 200.0, "10^9/L"),
        (PB, "2020-05-01", "platelets", 300.0, "10^9/L"),  # same-day tie: higher wins
        (PB, "2020-06-02", "creatinine", 500.0, "µmol/L"),  # after the index date
    ]
    labs = _dates(
        pd.DataFrame(lab_rows, columns=["patient_id", "date", "analyte", "value", "unit"]),
        ["date"],
    )
    studies = _dates(
        pd.DataFrame(
            [
                ("S1", PA, "2020-06-01", "sstr_pet", "68Ga-DOTATATE", 5.0, 20.0, 1500.0),
                ("S2", PA, "2020-12-01", "sstr_pet", "68Ga-DOTATATE", 5.0, 20.0, 1500.0),
                ("F1", PA, "2020-12-05", "fdg_pet", "18F-FDG", 2.5, NA, NA),
                ("C0", PA, "2019-06-01", "ct", None, NA, NA, NA),
                ("C1", PA, "2020-06-10", "ct", None, NA, NA, NA),
                ("C2", PA, "2020-12-15", "mri", None, NA, NA, NA),
                ("S3", PB, "2020-05-15", "sstr_pet", "68Ga-DOTATATE", 6.0, NA, NA),
                ("F2", PB, "2020-05-20", "fdg_pet", "18F-FDG", 2.0, NA, NA),
                ("C3", PB, "2020-04-01", "ct", None, NA, NA, 1800.0),
            ],
            columns=["study_id", "patient_id", "date", "modality", "tracer", "liver_suvmean",
                     "spleen_suvmean", "liver_volume_ml"],
        ),
        ["date"],
    )
    lesions = pd.DataFrame(
        [
            ("S1", "L1", "liver", 90.0, 50.0, 900.0, 90.0),
            ("S2", "L1", "liver", 30.0, 15.0, 100.0, 45.0),
            ("S2", "L2", "liver", 10.0, 6.0, 50.0, 25.0),
            ("S2", "L3", "bone", 4.0, 3.0, 10.0, 12.0),
            ("F1", "L1", "liver", 6.0, 4.0, 100.0, 45.0),
            ("F1", "L2", "bone", 5.0, 3.0, 10.0, 12.0),
            ("F1", "L3", "lymph_node", 3.0, 2.0, 5.0, 10.0),
            ("C0", "L1", "liver", NA, NA, NA, 10.0),
            ("C1", "L1", "liver", NA, NA, NA, 40.0),
            ("C1", "L2", "liver", NA, NA, NA, 20.0),
            ("C2", "L1", "liver", NA, NA, NA, 45.0),
            ("C2", "L2", "liver", NA, NA, NA, 25.0),
            ("S3", "L1", "lymph_node", 12.0, 8.0, 20.0, 18.0),
            ("F2", "L1", "lymph_node", 1.5, 1.0, 20.0, 18.0),
            ("C3", "L1", "lymph_node", NA, NA, NA, 18.0),
        ],
        columns=["study_id", "lesion_id", "organ", "suvmax", "suvmean", "volume_ml",
                 "longest_diameter_mm"],
    )
    assessments = _dates(
        pd.DataFrame(
            [
                (PA, "2018-09-01", 1, "SD", 0),
                (PA, "2019-12-01", 1, "PD", 1),
                (PA, "2021-04-10", 3, "PR", 0),
                (PA, "2021-10-10", 3, "SD", 0),
                (PA, "2022-06-01", 3, "PD", 1),
                (PB, "2016-06-01", 2, "PR", 0),
                (PB, "2020-09-01", 3, "NE", 0),
                (PB, "2020-12-01", 3, "SD", 0),
                (PC, "2020-08-01", 1, "NE", 0),
                (PE, "2021-04-01", 1, "PD", 1),
            ],
            columns=["patient_id", "date", "treatment_line", "recist_response", "progression"],
        ),
        ["date"],
    )
    return {
        "patients": patients,
        "treatments": treatments,
        "pathology": pathology,
        "labs": labs,
        "imaging_studies": studies,
        "lesions": lesions,
        "assessments": assessments,
    }


ANALYTES = ["cga", "alp", "albumin", "neutrophils", "lymphocytes", "platelets", "haemoglobin",
            "creatinine", "bilirubin", "nse", "5hiaa", "ppi_use"]


def inject_future_rows(tables: dict[str, pd.DataFrame], when: pd.DataFrame) -> dict:
    """Extreme rows in every long table, dated one day after ``when.index_date`` per patient."""
    out = {name: frame.copy() for name, frame in tables.items()}
    pid = when["patient_id"].to_numpy()
    day = (when["index_date"] + pd.Timedelta(days=1)).to_numpy()
    n = len(when)
    labs = pd.DataFrame({
        "patient_id": np.repeat(pid, len(ANALYTES)), "date": np.repeat(day, len(ANALYTES)),
        "analyte": np.tile(ANALYTES, n), "value": np.tile([99999.0] * 11 + [1.0], n),
        "unit": "x"})
    path = pd.DataFrame({
        "patient_id": pid, "sample_date": day, "specimen": "metastasis", "ki67_percent": 99.0,
        "differentiation": "poor", "sstr2_ihc": 0.0, "egfr_ihc": 3.0, "cmet_ihc": 3.0,
        "igf1r_ihc": 3.0, "daxx_atrx_loss": 0.0})
    mods = ["sstr_pet", "fdg_pet", "ct", "mri"]
    ids = [f"X{i}_{m}" for i in range(n) for m in mods]
    studies = pd.DataFrame({
        "study_id": ids, "patient_id": np.repeat(pid, 4), "date": np.repeat(day, 4),
        "modality": np.tile(mods, n), "tracer": None, "liver_suvmean": 0.5,
        "spleen_suvmean": 0.5, "liver_volume_ml": 10.0})
    lesions = pd.DataFrame({
        "study_id": np.repeat(ids, 2), "lesion_id": np.tile(["Z1", "Z2"], len(ids)),
        "organ": np.tile(["bone", "liver"], len(ids)), "suvmax": 500.0, "suvmean": 400.0,
        "volume_ml": 5000.0, "longest_diameter_mm": 300.0})
    next_line = out["treatments"].groupby("patient_id")["line"].max().reindex(pid).fillna(0)
    tx = pd.DataFrame({
        "patient_id": pid, "line": next_line.to_numpy().astype(int) + 100,
        "therapy": "prrt_lu177", "start_date": day, "end_date": day, "cycles": 4.0,
        "cumulative_activity_gbq": 100.0, "dose_mg": np.nan})
    for name, extra in (("labs", labs), ("pathology", path), ("imaging_studies", studies),
                        ("lesions", lesions), ("treatments", tx)):
        out[name] = pd.concat([out[name], extra.astype(out[name].dtypes.to_dict())],
                              ignore_index=True)
    return out

"""The data contract (docs/data-contract.md) as code: columns, kinds, ranges, categories, units.

Column specs drive the vectorised cleaning in :mod:`features.clean`; the pandera
``DataFrameModel`` classes check the final validated tables (strict: no unexpected column).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from clinical import SITES as CLINICAL_SITES
from clinical import THERAPIES as CLINICAL_THERAPIES

TABLES = ("patients", "pathology", "treatments", "labs", "imaging_studies", "lesions",
          "assessments")
PATIENT_ID = "patient_id"
PSEUDONYM_PATTERN = r"^P[0-9a-f]{16}$"
QUARANTINE_COLUMNS = ("quarantine_rule", "quarantine_column", "quarantine_value", "source_row")
NA_TOKENS = frozenset({"na", "n/a", "nan", "null", "none", "nk", "-", "--", ".", "..", "?"})


@dataclass(frozen=True)
class ColumnSpec:
    """One contract column: kind is id | str | cat | date | int | float."""

    name: str
    kind: str
    description: str
    nullable: bool = False
    lo: float | None = None
    hi: float | None = None
    allowed: tuple[str, ...] = ()


def _c(name, kind, description, nullable=False, lo=None, hi=None, allowed=()):
    return ColumnSpec(name, kind, description, nullable, lo, hi, tuple(allowed))


SITES = CLINICAL_SITES
THERAPIES = tuple(CLINICAL_THERAPIES)
MODALITIES = ("sstr_pet", "fdg_pet", "ct", "mri")
ORGANS = ("liver", "lymph_node", "bone", "lung", "peritoneum", "primary", "other")
RECIST = ("CR", "PR", "SD", "PD", "NE")
ANALYTES = ("cga", "alp", "albumin", "neutrophils", "lymphocytes", "platelets", "haemoglobin",
            "creatinine", "bilirubin", "nse", "5hiaa", "ppi_use")
_IHC = dict(kind="int", nullable=True, lo=0, hi=3)

COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "patients": (
        _c("patient_id", "id", "the centre's patient identifier (pseudonymised)"),
        _c("centre_id", "str", "centre identifier"),
        _c("sex", "cat", "sex (F/M)", allowed=("F", "M")),
        _c("birth_year", "int", "year of birth", lo=1900, hi=2100),
        _c("diagnosis_date", "date", "date of diagnosis (YYYY-MM-DD)"),
        _c("primary_site", "cat", "primary tumour site", nullable=True, allowed=SITES),
        _c("functional_syndrome", "int", "functional syndrome 0/1", nullable=True, lo=0, hi=1),
        _c("ecog", "int", "ECOG performance status 0-4", nullable=True, lo=0, hi=4),
        _c("last_contact_date", "date", "date of last contact (YYYY-MM-DD)"),
        _c("death_date", "date", "date of death, empty if alive", nullable=True),
    ),
    "pathology": (
        _c("patient_id", "id", "patient identifier"),
        _c("sample_date", "date", "sample date (YYYY-MM-DD)"),
        _c("specimen", "cat", "specimen (primary/metastasis)", nullable=True,
           allowed=("primary", "metastasis")),
        _c("ki67_percent", "float", "Ki-67 index in %", nullable=True, lo=0, hi=100),
        _c("differentiation", "cat", "differentiation (well/poor)", nullable=True,
           allowed=("well", "poor")),
    ),
    "treatments": (
        _c("patient_id", "id", "patient identifier"),
        _c("line", "int", "therapy line number (>= 1)", lo=1, hi=50),
        _c("therapy", "cat", "therapy", allowed=THERAPIES),
        _c("start_date", "date", "start date of the line (YYYY-MM-DD)"),
        _c("end_date", "date", "end date of the line", nullable=True),
        _c("cycles", "int", "number of cycles", nullable=True, lo=0, hi=500),
        _c("cumulative_activity_gbq", "float", "cumulative PRRT activity in GBq", nullable=True,
           lo=0, hi=100),
        _c("dose_mg", "float", "dose in mg", nullable=True, lo=0, hi=100000),
    ),
    "labs": (
        _c("patient_id", "id", "patient identifier"),
        _c("date", "date", "sample date (YYYY-MM-DD)"),
        _c("analyte", "cat", "analyte name", allowed=ANALYTES),
        _c("value", "float", "measured value"),
        _c("unit", "str", "unit of the value", nullable=True),
    ),
    "imaging_studies": (
        _c("study_id", "str", "imaging study identifier"),
        _c("patient_id", "id", "patient identifier"),
        _c("date", "date", "study date (YYYY-MM-DD)"),
        _c("modality", "cat", "modality", allowed=MODALITIES),
        _c("tracer", "str", "PET tracer, empty for CT/MRI", nullable=True),
        _c("liver_suvmean", "float", "liver background SUVmean", nullable=True, lo=0, hi=100),
        _c("spleen_suvmean", "float", "spleen SUVmean", nullable=True, lo=0, hi=200),
        _c("liver_volume_ml", "float", "liver volume in mL", nullable=True, lo=0, hi=20000),
    ),
    "lesions": (
        _c("study_id", "str", "imaging study identifier"),
        _c("lesion_id", "str", "lesion identifier within the study"),
        _c("organ", "cat", "organ of the lesion", allowed=ORGANS),
        _c("suvmax", "float", "lesion SUVmax (g/mL)", nullable=True, lo=0, hi=5000),
        _c("suvmean", "float", "lesion SUVmean (g/mL)", nullable=True, lo=0, hi=5000),
        _c("volume_ml", "float", "lesion volume in mL", nullable=True, lo=0, hi=20000),
        _c("longest_diameter_mm", "float", "longest diameter in mm", nullable=True, lo=0, hi=1000),
    ),
    "assessments": (
        _c("patient_id", "id", "patient identifier"),
        _c("date", "date", "assessment date (YYYY-MM-DD)"),
        _c("treatment_line", "int", "therapy line assessed (>= 1)", lo=1, hi=50),
        _c("recist_response", "cat", "RECIST response (CR/PR/SD/PD/NE)", allowed=RECIST),
        _c("progression", "int", "progression 0/1", lo=0, hi=1),
    ),
}
OPTIONAL_COLUMNS: dict[str, tuple[ColumnSpec, ...]] = {
    "pathology": tuple(_c(m, description=f"{m} IHC score 0-3", **_IHC)
                       for m in ("sstr2_ihc", "egfr_ihc", "cmet_ihc", "igf1r_ihc"))
    + (_c("daxx_atrx_loss", "int", "DAXX/ATRX loss 0/1", nullable=True, lo=0, hi=1),),
}
KEYS: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id",), "pathology": ("patient_id", "sample_date"),
    "treatments": ("patient_id", "line"), "labs": ("patient_id", "date", "analyte"),
    "imaging_studies": ("study_id",), "lesions": ("study_id", "lesion_id"),
    "assessments": ("patient_id", "date"),
}
# Keys that must be unique in a validated table (pathology may hold several samples a day).
UNIQUE_KEYS = {t: k for t, k in KEYS.items() if t != "pathology"}

# analyte -> (canonical unit, {accepted variant: factor to canonical}, (lo, hi) canonical)
LAB_UNITS: dict[str, tuple[str, dict[str, float], tuple[float, float]]] = {
    "cga": ("ng/mL", {"µg/L": 1.0, "ug/L": 1.0, "nmol/L": 48.9}, (0, 100000)),
    "alp": ("U/L", {"IU/L": 1.0, "µkat/L": 60.0, "ukat/L": 60.0}, (0, 5000)),
    "albumin": ("g/L", {"g/dL": 10.0}, (5, 70)),
    "neutrophils": ("10^9/L", {"10^3/µL": 1.0, "10^3/uL": 1.0, "G/L": 1.0}, (0, 100)),
    "lymphocytes": ("10^9/L", {"10^3/µL": 1.0, "10^3/uL": 1.0, "G/L": 1.0}, (0, 100)),
    "platelets": ("10^9/L", {"10^3/µL": 1.0, "10^3/uL": 1.0, "G/L": 1.0}, (0, 2000)),
    "haemoglobin": ("g/dL", {"g/L": 0.1, "mmol/L": 1.611}, (2, 25)),
    "creatinine": ("µmol/L", {"umol/L": 1.0, "mg/dL": 88.42}, (5, 3000)),
    "bilirubin": ("µmol/L", {"umol/L": 1.0, "mg/dL": 17.1}, (0, 1000)),
    "nse": ("ng/mL", {"µg/L": 1.0, "ug/L": 1.0}, (0, 5000)),
    "5hiaa": ("µmol/24h", {"umol/24h": 1.0, "mg/24h": 5.23}, (0, 10000)),
    "ppi_use": ("flag", {"": 1.0}, (0, 1)),
}
assert ANALYTES == tuple(LAB_UNITS)

SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "primary_site": {
        "pancreas": ("pancreatic", "PNET", "panNET", "pancreatic NET"),
        "small_intestine": ("small bowel", "SI", "ileum", "ileal", "jejunum", "midgut"),
        "lung": ("bronchial", "bronchopulmonary", "pulmonary"),
        "unknown": ("CUP", "unknown primary", *NA_TOKENS, "not known", "unk"),
        "rectum": ("rectal",), "colon": ("colonic",), "stomach": ("gastric",),
    },
    "sex": {"F": ("female", "woman", "w"), "M": ("male", "man")},
    "therapy": {
        "prrt_lu177": ("PRRT", "Lu-177", "177Lu-DOTATATE", "Lutathera", "lutetium"),
        "everolimus": ("Afinitor",), "sunitinib": ("Sutent",),
        "ssa": ("octreotide", "octreotide LAR", "lanreotide", "somatostatin analogue",
                "somatostatin analog"),
        "chemotherapy": ("CAPTEM", "capecitabine/temozolomide", "chemo", "streptozocin"),
        "liver_directed": ("TACE", "TARE", "SIRT", "ablation", "RFA"), "surgery": ("resection",),
    },
    "modality": {
        "sstr_pet": ("SSTR PET", "DOTATATE PET", "Ga68 PET", "68Ga-DOTATATE PET/CT"),
        "fdg_pet": ("FDG PET", "18F-FDG"), "ct": ("CT scan",), "mri": ("MR",),
    },
    "recist_response": {
        "CR": ("complete response",), "PR": ("partial response",), "SD": ("stable disease",),
        "PD": ("progressive disease", "progression"), "NE": ("not evaluable",),
    },
}

# Direct identifiers (HIPAA Safe Harbor kinds), matched on normalised column names.
IDENTIFIER_NAMES = frozenset({
    "name", "patient_name", "first_name", "last_name", "surname", "given_name", "full_name",
    "mrn", "medical_record_number", "hospital_number", "date_of_birth", "dob", "birth_date",
    "birthdate", "address", "street", "city", "zip", "zip_code", "postcode", "postal_code",
    "phone", "telephone", "mobile", "fax", "email", "e_mail", "ssn", "social_security_number",
    "nhs_number", "nhs", "insurance_number", "health_plan_number", "account_number", "ip_address",
    "url", "licence_number", "license_number", "passport", "national_id", "bsn", "insee",
    "initials", "patient_initials", "next_of_kin", "gp_name",
})
IDENTIFIER_PARTS = ("name", "mrn", "birth", "dob", "address", "phone", "email", "ssn", "nhs",
                    "zip", "postcode", "insurance")


def allowed_values(table: str, column: str) -> tuple[str, ...]:
    """Canonical values of a categorical column."""
    return next(c.allowed for c in column_specs(table) if c.name == column)


def column_specs(table: str) -> tuple[ColumnSpec, ...]:
    """Required then optional column specs of a table."""
    return COLUMNS[table] + OPTIONAL_COLUMNS.get(table, ())


# Text columns of validated tables are pandas categoricals (compact; dtype check is O(1)).
Text = pd.CategoricalDtype


def _pid():
    return pa.Field(str_matches=PSEUDONYM_PATTERN)


def _num(lo=None, hi=None, nullable=True):
    return pa.Field(ge=lo, le=hi, nullable=nullable)


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class ValidatedPatients(_Strict):
    patient_id: Series[Text] = pa.Field(str_matches=PSEUDONYM_PATTERN, unique=True)
    centre_id: Series[Text]
    sex: Series[Text] = pa.Field(isin=["F", "M"])
    birth_year: Series[pd.Int64Dtype] = _num(1900, 2100, False)
    diagnosis_date: Series[pa.DateTime]
    primary_site: Series[Text] = pa.Field(isin=list(SITES), nullable=True)
    functional_syndrome: Series[pd.Int64Dtype] = _num(0, 1)
    ecog: Series[pd.Int64Dtype] = _num(0, 4)
    last_contact_date: Series[pa.DateTime]
    death_date: Series[pa.DateTime] = pa.Field(nullable=True)


class ValidatedPathology(_Strict):
    patient_id: Series[Text] = _pid()
    sample_date: Series[pa.DateTime]
    specimen: Series[Text] = pa.Field(isin=["primary", "metastasis"], nullable=True)
    ki67_percent: Series[float] = _num(0, 100)
    differentiation: Series[Text] = pa.Field(isin=["well", "poor"], nullable=True)
    sstr2_ihc: Series[pd.Int64Dtype] = _num(0, 3)
    egfr_ihc: Series[pd.Int64Dtype] = _num(0, 3)
    cmet_ihc: Series[pd.Int64Dtype] = _num(0, 3)
    igf1r_ihc: Series[pd.Int64Dtype] = _num(0, 3)
    daxx_atrx_loss: Series[pd.Int64Dtype] = _num(0, 1)


class ValidatedTreatments(_Strict):
    patient_id: Series[Text] = _pid()
    line: Series[pd.Int64Dtype] = _num(1, 50, False)
    therapy: Series[Text] = pa.Field(isin=list(THERAPIES))
    start_date: Series[pa.DateTime]
    end_date: Series[pa.DateTime] = pa.Field(nullable=True)
    cycles: Series[pd.Int64Dtype] = _num(0, 500)
    cumulative_activity_gbq: Series[float] = _num(0, 100)
    dose_mg: Series[float] = _num(0, 100000)


class ValidatedLabs(_Strict):
    patient_id: Series[Text] = _pid()
    date: Series[pa.DateTime]
    analyte: Series[Text] = pa.Field(isin=list(ANALYTES))
    value: Series[float] = _num(0, 100000, False)
    unit: Series[Text] = pa.Field(isin=sorted({u for u, _, _ in LAB_UNITS.values()}))


class ValidatedImagingStudies(_Strict):
    study_id: Series[Text] = pa.Field(unique=True)
    patient_id: Series[Text] = _pid()
    date: Series[pa.DateTime]
    modality: Series[Text] = pa.Field(isin=list(MODALITIES))
    tracer: Series[Text] = pa.Field(nullable=True)
    liver_suvmean: Series[float] = _num(0, 100)
    spleen_suvmean: Series[float] = _num(0, 200)
    liver_volume_ml: Series[float] = _num(0, 20000)


class ValidatedLesions(_Strict):
    study_id: Series[Text]
    lesion_id: Series[Text]
    organ: Series[Text] = pa.Field(isin=list(ORGANS))
    suvmax: Series[float] = _num(0, 5000)
    suvmean: Series[float] = _num(0, 5000)
    volume_ml: Series[float] = _num(0, 20000)
    longest_diameter_mm: Series[float] = _num(0, 1000)


class ValidatedAssessments(_Strict):
    patient_id: Series[Text] = _pid()
    date: Series[pa.DateTime]
    treatment_line: Series[pd.Int64Dtype] = _num(1, 50, False)
    recist_response: Series[Text] = pa.Field(isin=list(RECIST))
    progression: Series[pd.Int64Dtype] = _num(0, 1, False)


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "patients": ValidatedPatients, "pathology": ValidatedPathology,
    "treatments": ValidatedTreatments, "labs": ValidatedLabs,
    "imaging_studies": ValidatedImagingStudies, "lesions": ValidatedLesions,
    "assessments": ValidatedAssessments,
}

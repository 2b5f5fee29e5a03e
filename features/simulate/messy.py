"""Faults of real exports, added on top of clean tables (``--messy``).

Exactly these kinds, so validation can be tested against each: unit variants (CgA ng/mL,
µg/L, nmol/L; albumin g/dL; creatinine mg/dL; values converted), spelling variants of
categories (data contract §1 list), ~1 % duplicated rows (labs, lesions, assessments),
out-of-range typos (Ki-67 150, negative lesion volume, ECOG 7), impossible date orders (death
before diagnosis, treatment start before diagnosis), lab rows for unknown patients, and direct
identifier columns ``patient_name`` and ``mrn`` in patients.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.simulate._params import block, days, sort_rows

SPELLINGS = {
    "primary_site": {
        "pancreas": ["Pancreas", "pancreatic", "PNET", "pNET", "panNET"],
        "small_intestine": ["Small intestine", "small bowel", "ileum", "midgut", "SI"],
        "lung": ["bronchial", "pulmonary"],
        "unknown": ["CUP", "unknown primary"],
        "rectum": ["rectal"],
        "colon": ["colonic"],
        "stomach": ["gastric"],
    },
    "sex": {"F": ["female", "f", "woman"], "M": ["male", "m", "man"]},
    "therapy": {
        "prrt_lu177": ["Lutathera", "PRRT", "177Lu-DOTATATE", "Lu-177"],
        "everolimus": ["Afinitor", "Everolimus"],
        "sunitinib": ["Sutent"],
        "ssa": ["octreotide LAR", "lanreotide", "octreotide"],
        "chemotherapy": ["CAPTEM", "capecitabine/temozolomide", "chemo"],
        "liver_directed": ["TACE", "SIRT", "RFA"],
        "surgery": ["resection"],
    },
    "modality": {
        "sstr_pet": ["68Ga-DOTATATE PET/CT", "DOTATATE PET", "SSTR PET"],
        "fdg_pet": ["FDG PET", "18F-FDG"],
        "ct": ["CT scan", "CT"],
    },
    "recist_response": {
        "CR": ["complete response"],
        "PR": ["partial response"],
        "SD": ["stable disease"],
        "PD": ["progressive disease", "progression"],
        "NE": ["not evaluable"],
    },
}
_TABLE_OF = {
    "primary_site": "patients",
    "sex": "patients",
    "therapy": "treatments",
    "modality": "imaging_studies",
    "recist_response": "assessments",
}
_FIRST = ["Anna", "Jonas", "Maria", "Pieter", "Sofia", "Lukas", "Elena", "Tomas", "Ingrid", "Marco"]
_LAST = [
    "Jansen",
    "Rossi",
    "Muller",
    "Larsen",
    "Novak",
    "Garcia",
    "Berg",
    "Dubois",
    "Smit",
    "Keller",
]


def add_messiness(
    parameters: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    rng: np.random.Generator,
    *,
    consume: bool = False,
) -> dict[str, pd.DataFrame]:
    """Return new tables with the messiness kinds above.

    The input frames are never modified. With ``consume=True`` the input dict itself is
    emptied as tables are replaced (lower peak memory when the caller drops the clean tables).
    """
    m = block(parameters, "messy")
    out = {k: (tables.pop(k) if consume else tables[k]) for k in list(tables)}
    for name in ("pathology", "patients", "treatments"):  # small tables mutated in place below
        out[name] = out[name].copy()
    out["labs"] = _unit_variants(out["labs"], m, rng)
    for column, variants in SPELLINGS.items():
        out[_TABLE_OF[column]] = _spell(
            out[_TABLE_OF[column]], column, variants, m["p_spelling_variant"], rng
        )
    _typos(out, m, rng)
    _date_errors(out, m, rng)
    out["labs"] = _unknown_patient_labs(out["labs"], m, rng)
    out["patients"] = _identifiers(out["patients"], rng)
    for name, keys in (
        ("labs", ["patient_id", "date", "analyte"]),
        ("lesions", ["study_id", "lesion_id"]),
        ("assessments", ["patient_id", "date"]),
    ):
        out[name] = _duplicate(out[name], keys, m["p_duplicate"], rng)
    return out


def _unit_variants(labs: pd.DataFrame, m: dict[str, Any], rng) -> pd.DataFrame:
    labs = labs.copy()
    pick = rng.random(len(labs)) < m["p_unit_variant"]
    choice = rng.integers(0, 2, len(labs))
    value, unit, analyte = (
        labs["value"].to_numpy(dtype=float).copy(),
        labs["unit"].to_numpy().copy(),
        labs["analyte"].to_numpy(),
    )
    cga = pick & (analyte == "cga")
    unit[cga & (choice == 0)] = "µg/L"
    nmol = cga & (choice == 1)
    unit[nmol], value[nmol] = "nmol/L", np.round(value[nmol] / m["cga_nmol_factor"], 3)
    alb = pick & (analyte == "albumin")
    unit[alb], value[alb] = "g/dL", np.round(value[alb] / m["albumin_g_dl_factor"], 2)
    cre = pick & (analyte == "creatinine")
    unit[cre], value[cre] = "mg/dL", np.round(value[cre] / m["creatinine_mg_dl_factor"], 3)
    labs["value"], labs["unit"] = value, unit
    return labs


def _spell(
    frame: pd.DataFrame, column: str, variants: dict[str, list[str]], p: float, rng
) -> pd.DataFrame:
    frame = frame.copy()
    values = frame[column].to_numpy().copy()
    pick = rng.random(len(values)) < p
    draw = rng.integers(0, 1000, len(values))
    for canon, alts in variants.items():
        sel = pick & (values == canon)
        values[sel] = np.asarray(alts, dtype=object)[draw[sel] % len(alts)]
    frame[column] = values
    return frame


def _n_faults(n_rows: int, per_1000: float) -> int:
    return max(1, int(round(n_rows * per_1000 / 1000)))


def _typos(out: dict[str, pd.DataFrame], m: dict[str, Any], rng) -> None:
    path = out["pathology"]
    k = _n_faults(len(path), m["n_typos_per_1000"])
    path.loc[rng.choice(len(path), k, replace=False), "ki67_percent"] = 150.0
    les = out["lesions"]
    k = _n_faults(len(les), m["n_typos_per_1000"] / 10)
    rows = rng.choice(len(les), k, replace=False)
    volume = les["volume_ml"].to_numpy(dtype=float).copy()
    volume[rows] = -np.abs(volume[rows]) - 0.1
    out["lesions"] = les.assign(volume_ml=volume)
    pat = out["patients"]
    k = _n_faults(len(pat), m["n_typos_per_1000"])
    pat.loc[rng.choice(len(pat), k, replace=False), "ecog"] = 7


def _date_errors(out: dict[str, pd.DataFrame], m: dict[str, Any], rng) -> None:
    pat = out["patients"]
    dead = np.nonzero(pat["death_date"].notna().to_numpy())[0]
    if len(dead):
        k = min(len(dead), _n_faults(len(pat), m["n_date_errors_per_1000"]))
        rows = rng.choice(dead, k, replace=False)
        pat.loc[rows, "death_date"] = pat.loc[rows, "diagnosis_date"] - days(
            rng.integers(10, 400, k)
        )
    tx = out["treatments"]
    k = _n_faults(len(pat), m["n_date_errors_per_1000"])
    ids = rng.choice(pat["patient_id"].to_numpy(), k, replace=False)
    dx = pat.set_index("patient_id")["diagnosis_date"]
    first = tx.index[tx["patient_id"].isin(ids) & ~tx["patient_id"].duplicated()]
    tx.loc[first, "start_date"] = dx.reindex(tx.loc[first, "patient_id"]).to_numpy() - days(
        rng.integers(30, 300, len(first))
    )


def _unknown_patient_labs(labs: pd.DataFrame, m: dict[str, Any], rng) -> pd.DataFrame:
    k = _n_faults(labs["patient_id"].nunique(), m["n_unknown_patient_lab_rows_per_1000"])
    src = labs.iloc[rng.choice(len(labs), k, replace=False)].copy()
    src["patient_id"] = np.char.mod("NET-9%06d", rng.integers(0, 999_999, k)).astype(object)
    src = sort_rows(
        src, ["patient_id", "date", "analyte"]
    )  # "NET-9..." ids sort after the real ones
    return pd.concat([labs, src], ignore_index=True)


def _identifiers(pat: pd.DataFrame, rng) -> pd.DataFrame:
    pat = pat.copy()
    n = len(pat)
    first = np.asarray(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.asarray(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    pat["patient_name"] = first + " " + last
    pat["mrn"] = np.char.mod("MRN%08d", rng.integers(0, 99_999_999, n)).astype(object)
    return pat


def _duplicate(frame: pd.DataFrame, keys: list[str], p: float, rng) -> pd.DataFrame:
    k = max(1, int(round(len(frame) * p)))
    """Append ~p copies of random rows, each placed right after its original (order kept)."""
    rows = np.concatenate(
        [np.arange(len(frame)), np.sort(rng.choice(len(frame), k, replace=False))]
    )
    return frame.iloc[rows[np.argsort(rows, kind="stable")]].reset_index(drop=True)

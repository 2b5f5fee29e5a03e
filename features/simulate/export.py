"""Assemble the raw tables of the data contract (§1) and the truth tables; write them as CSV.

CSV writing goes through pyarrow (fast, deterministic): dates as ISO ``YYYY-MM-DD``, floats
rounded beforehand, missing values as empty cells, rows sorted by each table's key.

Beside the CSV files the simulator writes ``manifest.json`` (:data:`MANIFEST`): the SHA-256 of
every table file and the export date (the latest date in the tables). ``validate`` accepts the
public demo pseudonym key only for an export whose files match such a manifest (a guard against
running a real export with the demo key by mistake, not against forgery).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from features.contract import TABLES
from features.simulate._params import block, days, sort_rows

MANIFEST = "manifest.json"
GENERATOR = "netoutcomes simulate"
_LESION_IDS = np.asarray([f"L{i:02d}" for i in range(1, 100)], dtype=object)
_MODALITY_ORDER = {"sstr_pet": 0, "fdg_pet": 1, "ct": 2, "mri": 3}
_TRUTH_LATENTS = (
    "site",
    "sstr_density",
    "tlr_true",
    "ki67_true",
    "hepatic_burden_true",
    "heterogeneity",
    "tgr0_true",
    "fdg_positive",
    "bone_mets",
    "large_lesion",
    "largest_lesion_mm",
    "cga_true",
    "alp_true",
    "albumin_true",
    "nlr_true",
    "ecog_true",
    "age",
    "prior_ssa",
    "prior_chemo",
    "n_prior",
    "egfr_ihc_true",
    "cmet_ihc_true",
    "igf1r_ihc_true",
    "sstr2_ihc_true",
    "daxx_atrx_loss_true",
    "responder",
    "true_progression",
    "crossover",
    "frailty",
)


@dataclass(frozen=True)
class SimulatedCohort:
    """A simulated cohort: the 7 raw tables (CSV-ready) and the truth tables."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)


def make_patient_ids(n: int, rng: np.random.Generator) -> np.ndarray:
    """Hospital-number-like unique identifiers ``NET-0001234`` in increasing order."""
    numbers = 1_000_000 + np.cumsum(rng.integers(1, 40, n))
    return np.char.mod("NET-%07d", numbers).astype(object)


def assemble_tables(
    parameters: dict[str, Any],
    pt: pd.DataFrame,
    cf: pd.DataFrame,
    parts: dict[str, pd.DataFrame],
    rng,
) -> SimulatedCohort:
    """Turn internal frames (keyed by ``pid``) into contract tables and truth tables.

    ``parts`` (``treatments``, ``assessments``, ``labs``, ``pathology``, ``studies``,
    ``lesion_rows``) is consumed: each frame is popped once converted, to bound peak memory.
    """
    ids = make_patient_ids(len(pt), rng)
    centres = np.asarray(block(parameters, "centres")["ids"], dtype=object)
    ecog = pd.array(pt["ecog_true"].to_numpy(), dtype="Int64")
    ecog[rng.random(len(pt)) < block(parameters, "pathology")["p_ecog_missing"]] = pd.NA
    patients = pd.DataFrame(
        {
            "patient_id": ids,
            "centre_id": centres[pt["centre_idx"].to_numpy()],
            "sex": np.where(pt["female"].to_numpy() == 1, "F", "M"),
            "birth_year": (pt["index_date"].dt.year - np.floor(pt["age"]))
            .astype(np.int64)
            .to_numpy(),
            "diagnosis_date": pt["diagnosis_date"].to_numpy(),
            "primary_site": pt["site"].to_numpy(),
            "functional_syndrome": pt["functional"].to_numpy().astype(np.int64),
            "ecog": ecog,
            "last_contact_date": pt["last_contact_date"].to_numpy(),
            "death_date": pt["death_date"].to_numpy(),
        }
    )
    tables = {
        "patients": patients,
        "pathology": _with_ids(parts.pop("pathology"), ids, ["patient_id", "sample_date"]),
        "treatments": _with_ids(parts.pop("treatments"), ids, ["patient_id", "line"]),
        "labs": _with_ids(
            parts.pop("labs").drop(columns=["day"]), ids, ["patient_id", "date", "analyte"]
        ),
        "assessments": _assessments(parts.pop("assessments"), pt, ids),
    }
    tables["imaging_studies"], tables["lesions"] = _imaging(
        parts.pop("studies"), parts.pop("lesion_rows"), pt, ids
    )
    for name in ("pathology",):
        for col in ("sstr2_ihc", "egfr_ihc", "cmet_ihc", "igf1r_ihc", "daxx_atrx_loss"):
            tables[name][col] = pd.array(tables[name][col].to_numpy(), dtype="Float64").astype(
                "Int64"
            )
    return SimulatedCohort(tables={k: tables[k] for k in TABLES}, truth=_truth(pt, cf, ids))


def _with_ids(frame: pd.DataFrame, ids: np.ndarray, keys: list[str]) -> pd.DataFrame:
    """Replace ``pid`` by the patient id; sort (ids increase with pid, so sort on pid)."""
    out = sort_rows(frame, ["pid" if k == "patient_id" else k for k in keys])
    out.insert(0, "patient_id", ids[out.pop("pid").to_numpy()])
    return out


def _assessments(assessments: pd.DataFrame, pt: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    pid = assessments["pid"].to_numpy()
    out = pd.DataFrame(
        {
            "pid": pid,
            "date": assessments["date"].to_numpy(),
            "treatment_line": (pt["n_prior"].to_numpy() + 1)[pid],
            "recist_response": assessments["recist_response"].to_numpy(),
            "progression": assessments["progression"].to_numpy().astype(np.int64),
        }
    )
    out = sort_rows(out, ["pid", "date"])
    out.insert(0, "patient_id", ids[out.pop("pid").to_numpy()])
    return out


def _imaging(studies: pd.DataFrame, lesion_rows: pd.DataFrame, pt: pd.DataFrame, ids: np.ndarray):
    st = studies.assign(order=studies["modality"].map(_MODALITY_ORDER))
    st = sort_rows(st, ["pid", "day", "order", "sid"])
    st["study_id"] = np.char.mod("ST%09d", np.arange(1, len(st) + 1)).astype(object)
    out_st = pd.DataFrame(
        {
            "study_id": st["study_id"].to_numpy(),
            "patient_id": ids[st["pid"].to_numpy()],
            "date": pt["index_date"].to_numpy()[st["pid"].to_numpy()] + days(st["day"].to_numpy()),
            "modality": st["modality"].to_numpy(),
            "tracer": st["tracer"].to_numpy(),
            "liver_suvmean": st["liver_suvmean"].to_numpy(),
            "spleen_suvmean": st["spleen_suvmean"].to_numpy(),
            "liver_volume_ml": st["liver_volume_ml"].to_numpy(),
        }
    )
    rank = np.empty(len(st), dtype=np.int64)
    rank[st["sid"].to_numpy()] = np.arange(len(st))
    les = lesion_rows.assign(rank=rank[lesion_rows["sid"].to_numpy()])
    les = sort_rows(les, ["rank", "lesion_no"])
    les.insert(0, "study_id", st["study_id"].to_numpy()[les.pop("rank").to_numpy()])
    les.insert(1, "lesion_id", _LESION_IDS[les.pop("lesion_no").to_numpy() - 1])
    les = les.drop(columns=["sid"])
    return out_st, les


def _truth(pt: pd.DataFrame, cf: pd.DataFrame, ids: np.ndarray) -> dict[str, pd.DataFrame]:
    truth = pd.DataFrame(
        {
            "patient_id": ids,
            "index_line": pt["n_prior"].to_numpy() + 1,
            "therapy": pt["therapy"].to_numpy(),
            "lp_pfs": pt["lp_pfs"].to_numpy(),
            "lp_os": pt["lp_os"].to_numpy(),
            # therapy-free prognostic log-hazards: the covariate part of lp_pfs / lp_os, for the
            # true-risk-adjusted Cox that bounds what any model of observed outcomes can reach
            "lp_pfs_prognostic": pt["lp_pfs_cov"].to_numpy(),
            "lp_os_prognostic": pt["lp_os_cov"].to_numpy(),
            "p_response": pt["p_response"].to_numpy(),
            "true_pfs_months": pt["true_pfs_months"].to_numpy(),
            "true_os_months": pt["true_os_months"].to_numpy(),
        }
    )
    for col in _TRUTH_LATENTS:
        truth[col] = pt[col].to_numpy()
    counterfactual = pd.DataFrame(
        {
            "patient_id": ids[cf["pid"].to_numpy()],
            "therapy": cf["therapy"].to_numpy(),
            "eligible": cf["eligible"].to_numpy(),
            "lp_pfs": cf["lp_pfs"].to_numpy(),
            "lp_os": cf["lp_os"].to_numpy(),
            "p_response": cf["p_response"].to_numpy(),
        }
    )
    order = np.lexsort([cf["therapy"].to_numpy().astype(str), cf["pid"].to_numpy()])
    return {"truth": truth, "counterfactual": counterfactual.iloc[order].reset_index(drop=True)}


def _to_arrow(frame: pd.DataFrame, decimals: int | None = None) -> pa.Table:
    out = {}
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = pa.array(
                s.to_numpy().astype("datetime64[D]"), type=pa.date32(), mask=s.isna().to_numpy()
            )
        elif decimals is not None and pd.api.types.is_float_dtype(s):
            out[col] = pa.array(np.round(s.to_numpy(dtype=float), decimals), from_pandas=True)
        elif s.dtype == object:
            out[col] = pa.array(s.to_numpy(), type=pa.string(), from_pandas=True)
        else:
            out[col] = pa.array(s, from_pandas=True)
    return pa.table(out)


def _write_csv(frame: pd.DataFrame, path: Path, decimals: int | None = None) -> Path:
    tmp = path.with_suffix(".csv.tmp")
    pacsv.write_csv(
        _to_arrow(frame, decimals), str(tmp), pacsv.WriteOptions(quoting_style="needed")
    )
    tmp.replace(path)
    return path


def write_cohort(cohort: SimulatedCohort, out_dir: Path, truth_dir: Path) -> dict[str, Path]:
    """Write ``out_dir/<table>.csv`` and ``truth_dir/{truth,counterfactual}.csv``.

    Same cohort => byte-identical files. Returns the written paths keyed by table name.
    """
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: _write_csv(cohort.tables[name], out_dir / f"{name}.csv") for name in TABLES}
    paths["manifest"] = write_manifest(out_dir, _latest_date(cohort.tables))
    for name, frame in cohort.truth.items():
        paths[name] = _write_csv(frame, truth_dir / f"{name}.csv", decimals=6)
    return paths


def _latest_date(tables: dict[str, pd.DataFrame]) -> date | None:
    latest = [frame[c].max() for frame in tables.values() for c in frame.columns
              if pd.api.types.is_datetime64_any_dtype(frame[c])]
    latest = [d for d in latest if not pd.isna(d)]
    return max(latest).date() if latest else None


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(out_dir: Path, export_date: date | None) -> Path:
    """Write ``out_dir/manifest.json``: generator, export date, SHA-256 of each table file."""
    files = {f"{t}.csv": file_sha256(Path(out_dir) / f"{t}.csv") for t in TABLES}
    doc = {"generator": GENERATOR, "synthetic": True,
           "export_date": export_date.isoformat() if export_date else None, "files": files}
    path = Path(out_dir) / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class ManifestCheck:
    """Outcome of :func:`check_manifest`: ``synthetic`` is True only if every file matches."""

    synthetic: bool
    problem: str = ""
    export_date: date | None = None


def check_manifest(raw_dir: Path) -> ManifestCheck:
    """Does ``raw_dir`` hold the simulator's export, unchanged since it was written?"""
    path = Path(raw_dir) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        files, gen = doc["files"], doc["generator"]
        when = date.fromisoformat(doc["export_date"]) if doc.get("export_date") else None
    except FileNotFoundError:
        return ManifestCheck(False, f"no {MANIFEST} of the simulator in the export folder")
    except (OSError, ValueError, KeyError, TypeError):
        return ManifestCheck(False, f"{MANIFEST} cannot be read")
    if gen != GENERATOR or not doc.get("synthetic") or set(files) != {f"{t}.csv" for t in TABLES}:
        return ManifestCheck(False, f"{MANIFEST} is not the simulator's")
    for name, digest in sorted(files.items()):
        target = Path(raw_dir) / name
        if not target.is_file() or file_sha256(target) != digest:
            return ManifestCheck(False, f"{name} differs from the simulated file ({MANIFEST})")
    return ManifestCheck(True, "", when)

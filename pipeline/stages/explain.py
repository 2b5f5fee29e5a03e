"""Stage ``explain``: clinician reports from the trained models (issue 5).

Reads the cohort table and dictionary (``features``), the saved endpoint models and their
``selection.json`` (``train``), ``metrics.json`` and plots (``evaluate``); writes

* ``reports/patients/<pseudonym>.html``: one self-contained report per sampled patient;
* ``reports/cohort.html``: global SHAP importance, beeswarm, dependence, calibration, subgroups and
  links to the patient reports;
* ``reports/shap/<endpoint>_global.csv``: mean |SHAP| per clinical variable, and the SHAP figures.

SHAP: exact TreeSHAP for xgboost models, exact linear SHAP for the linear baselines, grouped back
to clinical variables; every explanation is checked to add up to the model margin (1e-6).
Intervals: see :mod:`pipeline.stages.explain_predict` (validated calibration-slope range).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.counterfactual import PositivityModel
from pipeline.catalog import dictionary_path_for
from pipeline.errors import InputError
from pipeline.io import read_json, write_json, write_text_atomic
from pipeline.params import ExplainParams
from pipeline.report import render_cohort_report, render_patient_report, write_html
from pipeline.stages.explain_cohort import build_cohort_report, importance_table
from pipeline.stages.explain_patient import build_patient_report
from pipeline.stages.explain_predict import Reference, fit_reference
from pipeline.stages.explain_shap import (
    ENDPOINT_KINDS,
    EndpointModel,
    explain_rows,
    load_endpoint_model,
)

log = logging.getLogger(__name__)

SHAP_DIR = "shap"  # beside cohort.html: global SHAP tables, figures, positivity cache
POSITIVITY_FILE = "positivity.json"


ExplainDefaults = ExplainParams  # the ``explain`` section of params.yaml (pipeline/params.py)


@dataclass(frozen=True)
class ExplainContext:
    """Everything loaded once for a batch of reports."""

    cohort: pd.DataFrame
    dictionary: dict[str, Any]
    models: dict[str, EndpointModel]
    metrics: dict[str, Any]
    reference: Reference


def load_models(models_dir: Path) -> dict[str, EndpointModel]:
    """Every endpoint model saved under ``models_dir`` (response, pfs, os; those present)."""
    present = [ep for ep in ENDPOINT_KINDS if (Path(models_dir) / ep / "model").exists()]
    if not present:
        raise InputError(file=str(models_dir), problem="no trained endpoint model found",
                         fix="run `netoutcomes train` first")
    return {ep: load_endpoint_model(models_dir, ep) for ep in present}


def _reference_key(models: Mapping[str, EndpointModel], reference: pd.DataFrame) -> str:
    """Fingerprint of the models and reference rows a cached positivity model belongs to."""
    digest = hashlib.sha256("|".join(em.version for em in models.values()).encode())
    digest.update(pd.util.hash_pandas_object(reference, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def _cached_positivity(cache: Path | None, key: str) -> PositivityModel | None:
    if cache is None or not cache.exists():
        return None
    state = read_json(cache)
    return PositivityModel.from_dict(state["model"]) if state.get("key") == key else None


def load_context(features_file: Path, models_dir: Path, metrics_file: Path, *,
                 positivity_cache: Path | None = None, write_cache: bool = False
                 ) -> ExplainContext:
    """Read cohort, dictionary, models and metrics; fix the interval reference numbers.

    The reference rows are the development rows the models were trained on
    (``<models_dir>/development.parquet``) when present, else the whole cohort. The therapy
    positivity model is read from ``positivity_cache`` when it was fitted for the same models
    and rows (fitting it is the slowest step of a single report); ``write_cache`` stores it.
    """
    features_file, models_dir = Path(features_file), Path(models_dir)
    if not features_file.exists():
        raise InputError(file=str(features_file), problem="feature table not found",
                         fix="run `netoutcomes features` first")
    cohort = pd.read_parquet(features_file)
    dictionary = read_json(dictionary_path_for(features_file))
    metrics = read_json(metrics_file) if Path(metrics_file).exists() else {}
    if not metrics:
        log.warning("no %s: validated performance and intervals are left out", metrics_file)
    models = load_models(models_dir)
    dev_file = models_dir / "development.parquet"
    reference = pd.read_parquet(dev_file) if dev_file.exists() else cohort
    key = _reference_key(models, reference)
    cached = _cached_positivity(positivity_cache, key)
    ref = fit_reference(models, reference, metrics, positivity=cached)
    if write_cache and positivity_cache is not None and cached is None and ref.positivity:
        write_json({"key": key, "model": ref.positivity.to_dict()}, positivity_cache)
    return ExplainContext(cohort, dictionary, models, metrics, ref)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def patient_row(cohort: pd.DataFrame, pseudonym: str) -> pd.DataFrame:
    """The patient's latest index line as a one-row frame.

    Raises:
        InputError: If the pseudonym is not in the cohort (the message does not echo it).
    """
    rows = cohort[cohort["patient_id"].astype(str) == str(pseudonym)]
    if rows.empty:
        raise InputError(file="cohort table", column="patient_id", problem="pseudonym not found",
                         fix="pass the pseudonym assigned by the validation stage")
    return rows.sort_values("line", kind="stable").tail(1)


def write_patient_report(ctx: ExplainContext, pseudonym: str, out_file: Path, *,
                         horizons=(12, 24), top_k: int = 5, made_on: str | None = None) -> Path:
    """Render and write one patient report from a loaded context."""
    report = build_patient_report(pseudonym, patient_row(ctx.cohort, pseudonym), ctx.models,
                                  ctx.reference, ctx.metrics, ctx.dictionary,
                                  made_on or _today(), horizons=horizons, top_k=top_k)
    return write_html(render_patient_report(report), Path(out_file))


def explain_patient(pseudonym: str, features_file: Path, models_dir: Path, metrics_file: Path,
                    out_file: Path, *, horizons=(12, 24)) -> Path:
    """Write the clinician report of one patient (``netoutcomes explain --patient ID``).

    Args:
        pseudonym: The study pseudonym assigned at validation.
        features_file: ``data/features/cohort.parquet`` (dictionary beside it).
        models_dir: ``data/models`` (one folder per endpoint).
        metrics_file: ``reports/metrics.json`` (validated performance; optional).
        out_file: Destination HTML file.
        horizons: Months with PFS/OS estimates.

    Returns:
        ``out_file``.
    """
    cache = Path(metrics_file).parent / SHAP_DIR / POSITIVITY_FILE  # written by the stage
    ctx = load_context(features_file, models_dir, metrics_file, positivity_cache=cache)
    return write_patient_report(ctx, pseudonym, out_file, horizons=tuple(horizons))


def sample_patients(cohort: pd.DataFrame, n: int, seed: int) -> list[str]:
    """A reproducible random sample of pseudonyms (sorted)."""
    ids = np.sort(cohort["patient_id"].astype(str).unique())
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(ids, size=min(n, ids.size), replace=False).tolist())


def write_global_importance(shap: Mapping[str, Any], dictionary: Mapping[str, Any],
                            shap_dir: Path) -> dict[str, Path]:
    """``<shap_dir>/<endpoint>_global.csv`` for every endpoint."""
    out = {}
    for endpoint, result in shap.items():  # loop over endpoints
        table = importance_table(result, dictionary)
        out[endpoint] = write_text_atomic(table.to_csv(index=False),
                                          shap_dir / f"{endpoint}_global.csv")
    return out


def explain_cohort(features_file: Path, models_dir: Path, metrics_file: Path, plots_dir: Path,
                   out_file: Path, patients_dir: Path, *, n_patient_reports: int = 20,
                   seed: int = 0, defaults: ExplainDefaults | None = None,
                   made_on: str | None = None) -> Path:
    """The DVC stage: cohort report, a sample of patient reports and global SHAP tables.

    Args:
        features_file: ``data/features/cohort.parquet`` (dictionary beside it).
        models_dir: ``data/models``.
        metrics_file: ``reports/metrics.json``.
        plots_dir: ``reports/plots`` (calibration and subgroup figures of ``evaluate``).
        out_file: ``reports/cohort.html``.
        patients_dir: ``reports/patients``.
        n_patient_reports: Patient reports to write (random sample of pseudonyms).
        seed: Seed of that sample.
        defaults: All knobs at once (``params.yaml`` ``explain``); when given, it overrides
            ``n_patient_reports`` and ``seed``.
        made_on: Report date (ISO); default today (UTC).

    Returns:
        ``out_file`` (the cohort report); patient reports go to ``patients_dir`` and the SHAP
        tables and figures to ``<out_file's folder>/shap``.
    """
    cfg = defaults or ExplainDefaults(n_patient_reports=n_patient_reports, seed=seed)
    out_file, patients_dir = Path(out_file), Path(patients_dir)
    made_on = made_on or _today()
    shap_dir = out_file.parent / SHAP_DIR
    ctx = load_context(features_file, models_dir, metrics_file,
                       positivity_cache=shap_dir / POSITIVITY_FILE, write_cache=True)
    shap = {ep: explain_rows(em, ctx.cohort) for ep, em in ctx.models.items()}
    write_global_importance(shap, ctx.dictionary, shap_dir)
    links = []
    for pseudonym in sample_patients(ctx.cohort, cfg.n_patient_reports, cfg.seed):  # one file each
        path = write_patient_report(ctx, pseudonym, patients_dir / f"{pseudonym}.html",
                                    horizons=cfg.horizons, top_k=cfg.top_k, made_on=made_on)
        links.append((pseudonym, Path(os.path.relpath(path, out_file.parent)).as_posix()))
    report = build_cohort_report(
        ctx.cohort, shap, ctx.models, ctx.metrics, ctx.dictionary,
        shap_dir / cfg.cohort_endpoint, Path(plots_dir), links, made_on,
        endpoint=cfg.cohort_endpoint, top_k=cfg.importance_top_k,
        max_points=cfg.max_beeswarm_points)
    write_html(render_cohort_report(report), out_file)
    log.info("explain: cohort report with %d patient reports -> %s", len(links), out_file)
    return out_file


def run(features_file: Path, models_dir: Path, metrics_file: Path, plots_dir: Path,
        reports_dir: Path, params: Mapping[str, Any] | None = None) -> Path:
    """What ``dvc repro`` calls: :func:`explain_cohort` with the ``explain`` params section."""
    cfg = ExplainDefaults.from_params(params)
    reports_dir = Path(reports_dir)
    return explain_cohort(features_file, models_dir, metrics_file, plots_dir,
                          reports_dir / "cohort.html", reports_dir / "patients", defaults=cfg)

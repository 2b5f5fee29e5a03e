"""Stage ``register``: each endpoint's selected model enters the MLflow registry as @challenger.

Only where asked: ``register.enabled`` (``auto`` by default) registers in ``dvc repro`` and a
direct ``netoutcomes register``, never inside a ``dvc exp run``, so exploring never moves the
alias MLOps promotes from.

Runs after ``evaluate`` so every version carries its validation metrics with intervals, its
lineage (git commit, DVC data hash, params hash, package versions) and a model card. Nothing
becomes ``@champion`` here: that is ``netoutcomes promote``, behind the clinical-validity gates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from models.persist import load_model
from pipeline import tracking
from pipeline.errors import InputError
from pipeline.io import read_json, write_json
from pipeline.model_card import collect_card_metadata
from pipeline.params import Params
from pipeline.registry import register_model

log = logging.getLogger(__name__)

# set by DVC in the environment of every stage command of a `dvc exp run`
EXPERIMENT_ENV = ("DVC_EXP_NAME", "DVC_EXP_BASELINE_REV")

MISSING_HANDLING = (
    "No imputation before modelling. Gradient-boosted trees send missing values down the branch "
    "learnt in training; linear models impute the training median and add a was-missing indicator."
)
ELIGIBILITY = (
    "Adults with an advanced, well-differentiated neuroendocrine tumour starting a systemic "
    "therapy line (PRRT, everolimus, sunitinib, somatostatin analogue or chemotherapy) with at "
    "least one response assessment of that line; one prediction per patient and index line."
)


def _card(endpoint: str, block: dict, selection: dict, cohort: pd.DataFrame, dictionary: dict,
          model_dir: Path, plots_dir: Path, data_source: str) -> dict[str, Any]:
    model = load_model(model_dir)
    dc_file = plots_dir / endpoint / "decision_curve.csv"
    return collect_card_metadata(
        endpoint, cohort, dictionary, list(model.design_.variables_),
        metrics=block["metrics"],
        model={"type": selection["selected"], "estimator": selection["model_class"],
               "tuning": "Optuna TPE, bounded trials, inside each training fold",
               "hyperparameters": selection["final_params"]},
        validation=block["validation"], data_source=data_source, eligibility=ELIGIBILITY,
        missing_handling=MISSING_HANDLING,
        decision_curve=pd.read_csv(dc_file) if dc_file.exists() else None,
        subgroups=pd.DataFrame(block["subgroups"]) if block.get("subgroups") else None,
        date_column=None,
    )


def skip_reason(enabled: bool | str, environ: Mapping[str, str] | None = None) -> str | None:
    """Why this run registers nothing (``register.enabled``), or None when it registers."""
    environ = os.environ if environ is None else environ
    if enabled is False:
        return "register.enabled is false in params.yaml"
    if enabled == "auto" and any(environ.get(v) for v in EXPERIMENT_ENV):
        return ("register.enabled is auto and this is a `dvc exp run`: an experiment never "
                "moves @challenger (run it with -S register.enabled=true to register)")
    return None


def run(models_dir: Path, features_file: Path, metrics_file: Path, plots_dir: Path,
        out_file: Path, params: Params, data_source: str) -> dict[str, Any]:
    """Register every trained endpoint; write the registered versions to ``out_file``.

    Registers nothing (and says why in ``out_file``) when :func:`skip_reason` gives a reason.
    """
    reason = skip_reason(params.register.enabled)
    if reason is not None:
        log.info("register skipped: %s", reason)
        write_json({"registered": {}, "skipped": reason}, out_file)
        return {}
    metrics = read_json(metrics_file)
    dictionary = read_json(features_file.parent / "dictionary.json")
    cohort = pd.read_parquet(models_dir / "development.parquet")
    tracking.configure()
    runs = _train_runs(models_dir)
    lineage = tracking.lineage_tags(features_file, params.model_dump(mode="json"))
    registered = {}
    for endpoint in params.train.endpoints:
        selection = read_json(models_dir / endpoint / "selection.json")
        model_dir = models_dir / endpoint / "model"
        estimator = _dotted(load_model(model_dir))
        card = _card(endpoint, metrics[endpoint], selection, cohort, dictionary, model_dir,
                     plots_dir, data_source)
        with mlflow.start_run(run_id=runs[endpoint]):
            version = register_model(
                endpoint, model_dir, estimator, None, dictionary,
                horizons_months=params.train.horizons_months, metrics=metrics[endpoint]["metrics"],
                lineage=lineage, card_metadata=card,
            )
        # no run id here: this file is a DVC output and run ids are random (dvc.lock would
        # change on every fresh run); the version's own run_id points to the train run
        registered[endpoint] = {"name": version.name, "version": str(version.version),
                                "alias": "challenger"}
        log.info("registered %s version %s as @challenger", version.name, version.version)
    write_json({"registered": registered, "tracking_uri": tracking.tracking_uri()}, out_file)
    return registered


def _train_runs(models_dir: Path) -> dict[str, str]:
    """Endpoint -> run id of the train runs that wrote ``models_dir`` (found by their tag)."""
    found = tracking.pipeline_runs(models_dir)
    if found is None:
        raise InputError(models_dir, problem=(
            f"no MLflow run of train wrote these models (tracking store "
            f"{tracking.tracking_uri()})"),
            fix="run `netoutcomes train` (or `dvc repro train`) with the same "
                "MLFLOW_TRACKING_URI, then register")
    return found["runs"]


def _dotted(model: Any) -> str:
    return f"{type(model).__module__}.{type(model).__name__}"

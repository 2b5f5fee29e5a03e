"""Stage ``train``: nested cross-validated model choice per endpoint, then the final model.

For each endpoint (objective response, PFS, OS) every candidate family is compared on the same
repeated stratified folds (grouped by patient); the best mean fold score wins (model choice by
validation, never assumed). The winner is tuned on all rows and saved in its native format
(xgboost UBJ / JSON) under ``data/models/<endpoint>/model``; the out-of-fold predictions of every
candidate are kept for the ``evaluate`` stage. Everything is logged to MLflow: one parent run per
pipeline run, one child run per endpoint.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from clinical import ENDPOINTS, Endpoint
from clinical.therapies import INDEX_THERAPIES
from models import (
    LogisticResponseClassifier,
    PenalisedCoxSurvival,
    XGBAFTSurvival,
    XGBCoxSurvival,
    XGBResponseClassifier,
    make_surv,
)
from models.crossval import Candidate, TuningConfig, cross_validate, fit_candidate, select
from models.design import DesignMatrix
from models.evaluation import repeated_stratified_kfold
from pipeline import tracking
from pipeline.io import read_json, write_json, write_parquet
from pipeline.params import TrainParams

log = logging.getLogger(__name__)

FACTORIES = {
    "logistic": LogisticResponseClassifier,
    "sparse_logistic": LogisticResponseClassifier,  # penalty: l1 in params.yaml
    "xgb": XGBResponseClassifier,
    "penalised_cox": PenalisedCoxSurvival,
    "xgb_cox": XGBCoxSurvival,
    "xgb_aft": XGBAFTSurvival,
}


def endpoint_rows(cohort: pd.DataFrame, endpoint: Endpoint) -> pd.DataFrame:
    """Rows with a known outcome (response missing = not assessable, excluded)."""
    keep = cohort[endpoint.target].notna()
    if endpoint.event:
        keep &= cohort[endpoint.event].notna() & (cohort[endpoint.target] > 0)
    return cohort.loc[keep].reset_index(drop=True)


def outcome(frame: pd.DataFrame, endpoint: Endpoint) -> Any:
    """0/1 response array or a structured survival array."""
    if endpoint.kind == "binary":
        return frame[endpoint.target].to_numpy(dtype=float)
    return make_surv(frame[endpoint.target].to_numpy(float), frame[endpoint.event].to_numpy(bool))


def survival_grid(horizons: list[float], step: float = 3.0) -> list[float]:
    """Times at which out-of-fold survival is predicted: every ``step`` months plus the horizons."""
    top = max(horizons)
    return sorted(set(map(float, horizons)) | set(np.arange(step, top + step / 2, step).tolist()))


def candidates_for(endpoint: Endpoint, params: TrainParams) -> list[Candidate]:
    """Candidate families of an endpoint, configured from ``params.yaml``."""
    names = params.candidates["binary" if endpoint.kind == "binary" else "survival"]
    out = []
    for name in names:
        spec = params.models[name]
        out.append(
            Candidate(
                name=name,
                factory=FACTORIES[name],
                params=dict(spec.params),
                space=dict(spec.space),
                tuning_overrides=dict(spec.tuning_overrides),
                inner_folds=spec.inner_folds,
                n_trials=spec.n_trials,
            )
        )
    return out


def _tuning(params: TrainParams) -> TuningConfig:
    t = params.tuning
    return TuningConfig(t.n_trials, t.timeout_s, t.validation_fraction, t.inner_folds)


def train_endpoint(
    cohort: pd.DataFrame,
    dictionary: dict,
    endpoint: Endpoint,
    params: TrainParams,
    seed: int,
    out_dir: Path,
    progress: Progress,
) -> dict[str, Any]:
    """Cross-validate the candidates, select, fit the final model and write the artefacts."""
    frame = endpoint_rows(cohort, endpoint)
    y = outcome(frame, endpoint)
    splits = repeated_stratified_kfold(
        y, params.cv.n_splits, params.cv.n_repeats, seed=seed, groups=frame["patient_id"].to_numpy()
    )
    cands = candidates_for(endpoint, params)
    task = progress.add_task(f"{endpoint.name}: nested CV", total=len(cands) * len(splits))
    cv = cross_validate(
        cands, frame, dictionary, y, splits, kind=endpoint.kind, n_splits=params.cv.n_splits,
        horizons=survival_grid(params.horizons_months), tuning=_tuning(params), seed=seed,
        n_jobs=params.n_jobs,
        progress=lambda k: progress.advance(task, k), therapies=INDEX_THERAPIES,
    )
    selected = select(cv.fold_scores, [c.name for c in cands], one_se=params.one_se)
    chosen = next(c for c in cands if c.name == selected)
    design = DesignMatrix().fit(frame, dictionary)
    model, final_params = fit_candidate(
        chosen, endpoint.kind, design.transform(frame), y, tuning=_tuning(params), seed=seed
    )
    model.save(out_dir / "model", design=design)
    keys = frame[["patient_id", "line"]].reset_index(names="row")
    preds = cv.predictions.merge(keys, on="row", how="left", validate="many_to_one")
    write_parquet(preds, out_dir / "cv_predictions.parquet")
    if cv.what_if is not None:  # the selected model's out-of-fold what-if, for the benefit metrics
        what_if = cv.what_if[cv.what_if["candidate"] == selected].drop(columns="candidate")
        what_if = what_if.merge(keys, on="row", how="left", validate="many_to_one")
        write_parquet(what_if.reset_index(drop=True), out_dir / "cv_what_if.parquet")
    summary = {
        "endpoint": endpoint.name,
        "kind": endpoint.kind,
        "n_rows": int(len(frame)),
        "n_events": int(y[y.dtype.names[0]].sum()) if endpoint.kind == "survival" else int(y.sum()),
        "selected": selected,
        "final_params": final_params,
        "cv": {
            name: {
                "mean": float(g["score"].mean()),
                "sd": float(g["score"].std(ddof=1)),
                "folds": [float(s) for s in g["score"]],
            }
            for name, g in cv.fold_scores.groupby("candidate", sort=False)
        },
        "metric": "roc_auc" if endpoint.kind == "binary" else "harrell_c",
        "n_splits": params.cv.n_splits,
        "n_repeats": params.cv.n_repeats,
        "horizons_months": list(params.horizons_months),
        "model_class": type(model).__name__,
    }
    write_json(summary, out_dir / "selection.json")
    return summary


def _log_endpoint(summary: dict, out_dir: Path, flat_params: dict) -> str:
    with tracking.run(summary["endpoint"]) as child:
        mlflow.log_params({k: str(v)[:500] for k, v in flat_params.items()})
        mlflow.log_params({f"final.{k}": v for k, v in summary["final_params"].items()})
        mlflow.set_tags({"endpoint": summary["endpoint"], "selected_model": summary["selected"]})
        for name, cv in summary["cv"].items():
            mlflow.log_metric(f"cv_{summary['metric']}.{name}", cv["mean"])
        mlflow.log_artifacts(str(out_dir / "model"), artifact_path="model_native")
        mlflow.log_artifact(str(out_dir / "selection.json"))
        return child.info.run_id


def _flatten(prefix: str, obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    return {prefix: obj}


def split_holdout(cohort: pd.DataFrame, fraction: float, seed: int
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Set aside a patient-level hold-out (never trained on) for the promotion gates.

    Patients are drawn at random within PFS-event strata, so both parts keep the event rate.
    """
    if fraction <= 0:
        return cohort.reset_index(drop=True), cohort.iloc[0:0].copy()
    patients = cohort.groupby("patient_id", sort=True)["pfs_event"].max().fillna(0)
    rng = np.random.default_rng(seed)
    held = []
    for _, ids in patients.groupby(patients):
        k = int(round(fraction * len(ids)))
        held.extend(rng.choice(ids.index.to_numpy(), size=k, replace=False).tolist())
    mask = cohort["patient_id"].isin(set(held))
    return cohort.loc[~mask].reset_index(drop=True), cohort.loc[mask].reset_index(drop=True)


def run(features_file: Path, models_dir: Path, params: TrainParams, seed: int) -> dict[str, Any]:
    """Train every endpoint in ``params.endpoints``; return the selection summaries.

    Writes ``development.parquet`` (the rows trained and cross-validated on) and
    ``holdout.parquet`` (patients set aside for the promotion gates) beside the models.
    """
    cohort, holdout = split_holdout(pd.read_parquet(features_file), params.holdout_fraction, seed)
    write_parquet(cohort, models_dir / "development.parquet")
    write_parquet(holdout, models_dir / "holdout.parquet")
    dictionary = read_json(features_file.parent / "dictionary.json")
    tracking.configure()
    flat = _flatten("train", params.model_dump())
    started = time.perf_counter()
    summaries, run_ids = {}, {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    tags = tracking.lineage_tags(features_file, params.model_dump())
    with tracking.pipeline_run(cohort, seed, params.model_dump(), tags, features_file) as parent:
        with Progress(*columns, transient=False) as progress:
            for name in params.endpoints:
                out_dir = models_dir / name
                summaries[name] = train_endpoint(
                    cohort, dictionary, ENDPOINTS[name], params, seed, out_dir, progress
                )
                run_ids[name] = _log_endpoint(summaries[name], out_dir, flat)
        mlflow.log_dict(dictionary, "feature_dictionary.json")
        parent_id = parent.info.run_id
    tracking.record_runs(models_dir, parent_id, run_ids)  # run ids stay out of the DVC output
    for name, s in summaries.items():
        best = s["cv"][s["selected"]]
        log.info("%s: selected %s (CV %s %.3f ± %.3f, n=%d, events=%d)", name, s["selected"],
                 s["metric"], best["mean"], best["sd"], s["n_rows"], s["n_events"])
    log.info("train finished in %.1f s", time.perf_counter() - started)
    return summaries


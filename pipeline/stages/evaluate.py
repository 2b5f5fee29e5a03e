"""Stage ``evaluate``: validated performance of the selected models, plots, MLflow metrics.

Reads the out-of-fold predictions written by ``train``. Cohorts above
``evaluate.bootstrap_below_n`` rows report cross-validation means with percentile intervals
across the outer folds; smaller (clinical-size) cohorts report Harrell's bootstrap
optimism-corrected estimates with 95% intervals. On simulated data the oracle ratio compares the
model with the simulator's true risk on the same test patients.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from clinical import ENDPOINTS, Endpoint
from clinical.endpoints import endpoint as clinical_endpoint
from models.crossval import Candidate, TuningConfig, fit_candidate
from models.design import DesignMatrix
from models.evaluation import harrell_c, optimism_corrected, roc_auc
from models.evaluation.summary import cv_metrics
from pipeline import tracking
from pipeline.io import read_json, write_json
from pipeline.params import EvaluateParams, TrainParams
from pipeline.secrets import load_pseudonym_key
from pipeline.stages.evaluate_benefit import (
    WHAT_IF_FILE,
    cohort_propensity,
    endpoint_benefit,
    headline,
    plot_benefit,
    plot_cohort_overlap,
)
from pipeline.stages.evaluate_headline import record_headline
from pipeline.stages.evaluate_plots import endpoint_plots
from pipeline.stages.train import candidates_for, endpoint_rows, outcome
from pipeline.truth import pseudonymise_truth, truth_scores

log = logging.getLogger(__name__)


def _bootstrap(
    frame: pd.DataFrame,
    dictionary: dict,
    y: Any,
    endpoint: Endpoint,
    candidate: Candidate,
    final_params: dict,
    params: EvaluateParams,
    tuning: TuningConfig | None,
    seed: int,
) -> dict[str, Any]:
    """Harrell's optimism-corrected bootstrap of the selected model family.

    With ``params.bootstrap_retune`` every modelling step is repeated inside each resample:
    the design is refitted and the family re-tuned (``tuning``) on the resample, as on the
    full data, so the optimism includes that of the tuning. Otherwise each resample refits the
    final tuned parameters (cheaper; the optimism is underestimated).
    """
    if params.bootstrap_retune:
        fitted, budget = candidate, tuning
    else:
        fitted, budget = Candidate(candidate.name, candidate.factory, final_params), None

    def fit_predict(train: pd.DataFrame, y_train: Any, evaluate: pd.DataFrame) -> np.ndarray:
        design = DesignMatrix().fit(train, dictionary)
        model, _ = fit_candidate(fitted, endpoint.kind, design.transform(train), y_train,
                                 tuning=budget, seed=seed)
        X = design.transform(evaluate)
        return model.predict_proba(X) if endpoint.kind == "binary" else model.predict_risk(X)

    fns = {"auc": roc_auc} if endpoint.kind == "binary" else {"harrell_c": harrell_c}
    table = optimism_corrected(fit_predict, fns, frame, y, n_boot=params.n_boot, seed=seed)
    return {
        name: {"mean": float(r["corrected"]), "lo": float(r["lo"]), "hi": float(r["hi"]),
               "apparent": float(r["apparent"]), "optimism": float(r["optimism"]),
               "n_boot": int(r["n_boot"]), "retuned": bool(params.bootstrap_retune)}
        for name, r in table.iterrows()
    }


def evaluate_endpoint(
    cohort: pd.DataFrame,
    dictionary: dict,
    endpoint: Endpoint,
    models_dir: Path,
    plots_dir: Path,
    train: TrainParams,
    params: EvaluateParams,
    truth: pd.DataFrame | None,
    seed: int,
    counterfactual: pd.DataFrame | None = None,
    propensity: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Metrics (with intervals), oracle ratio, subgroups, benefit and plots of one endpoint."""
    selection = read_json(models_dir / endpoint.name / "selection.json")
    preds = pd.read_parquet(models_dir / endpoint.name / "cv_predictions.parquet")
    frame = endpoint_rows(cohort, endpoint)
    y = outcome(frame, endpoint)
    true_score = truth_scores(frame, truth, endpoint.name) if truth is not None else None
    selected = selection["selected"]
    result = cv_metrics(preds[preds["candidate"] == selected], y, kind=endpoint.kind,
                        horizons=train.horizons_months, truth_score=true_score,
                        on_error=lambda m: log.warning("%s: %s", endpoint.name, m))
    out: dict[str, Any] = {
        "selected_model": selected,
        "n": selection["n_rows"],
        "events": selection["n_events"],
        "validation": f"nested cross-validation {train.cv.n_splits}x{train.cv.n_repeats}",
        "metrics": result["metrics"],
        "candidates": {
            name: {selection["metric"]: {k: v for k, v in cv.items() if k != "folds"}}
            for name, cv in selection["cv"].items()
        },
    }
    if result["oracle"] is not None:
        out["oracle"] = result["oracle"]
    if len(frame) < params.bootstrap_below_n:
        cand = next(c for c in candidates_for(endpoint, train) if c.name == selected)
        out["bootstrap"] = _bootstrap(frame, dictionary, y, endpoint, cand,
                                      selection["final_params"], params, train.tuning.config(),
                                      seed)
        retuned = ", tuning repeated in each" if params.bootstrap_retune else ""
        out["validation"] = (f"bootstrap optimism correction ({params.n_boot} resamples"
                             f"{retuned})")
    pooled = preds[(preds["candidate"] == selected) & (preds["repeat"] == 0)].sort_values("row")
    out["subgroups"] = endpoint_plots(frame, y, pooled, endpoint, plots_dir, params, seed)
    what_if_file = models_dir / endpoint.name / WHAT_IF_FILE
    if propensity is not None and what_if_file.exists():
        words = clinical_endpoint(endpoint.name)
        out["benefit"] = endpoint_benefit(frame, y, words, pd.read_parquet(what_if_file),
                                          propensity, params.benefit, seed,
                                          counterfactual=counterfactual, truth=truth)
        if params.benefit.plots:
            plot_benefit(out["benefit"], plots_dir / endpoint.name, words,
                         params.benefit.reference)
    return out


def _log_to_mlflow(metrics: dict, plots_dir: Path, models_dir: Path) -> None:
    tracking.configure()
    runs = tracking.pipeline_runs(models_dir)
    if runs is None:
        log.warning("no MLflow run of train for %s in %s: metrics not logged to MLflow "
                    "(run train first)", models_dir, tracking.tracking_uri())
        return
    for name, block in metrics.items():
        run_id = runs["runs"].get(name)
        if run_id is None:
            continue
        with mlflow.start_run(run_id=run_id):
            flat = {}
            for metric, s in block["metrics"].items():
                flat.update({metric: s["mean"], f"{metric}_lo": s["lo"], f"{metric}_hi": s["hi"]})
            for metric, s in block.get("bootstrap", {}).items():
                flat.update({f"boot_{metric}": s["mean"], f"boot_{metric}_lo": s["lo"],
                             f"boot_{metric}_hi": s["hi"]})
            if "oracle" in block:
                flat["oracle_ratio"] = block["oracle"]["ratio"]["mean"]
            flat.update(headline(block.get("benefit", {})))
            mlflow.log_metrics({k: float(v) for k, v in flat.items() if v is not None
                                and np.isfinite(v)})
            mlflow.log_artifacts(str(plots_dir / name), artifact_path="plots")
            if (plots_dir / "benefit_overlap.png").exists():
                mlflow.log_artifact(str(plots_dir / "benefit_overlap.png"), artifact_path="plots")
            mlflow.log_dict(block, "metrics.json")


def run(
    features_file: Path,
    models_dir: Path,
    truth_dir: Path | None,
    metrics_file: Path,
    plots_dir: Path,
    train: TrainParams,
    params: EvaluateParams,
    seed: int,
) -> dict[str, Any]:
    """Evaluate every trained endpoint; write ``metrics.json`` and the plots."""
    cohort = pd.read_parquet(models_dir / "development.parquet")  # the rows train used
    dictionary = read_json(features_file.parent / "dictionary.json")
    truth = counterfactual = None
    if truth_dir is not None and (truth_dir / "truth.csv").exists():
        key, _ = load_pseudonym_key(demo=True)  # a truth folder exists for simulated data only
        truth = pseudonymise_truth(pd.read_csv(truth_dir / "truth.csv"), key)
        if (truth_dir / "counterfactual.csv").exists():
            counterfactual = pseudonymise_truth(pd.read_csv(truth_dir / "counterfactual.csv"), key)
    propensity = None
    if params.benefit.enabled and "therapy" in cohort.columns:
        propensity = cohort_propensity(cohort, dictionary, params.benefit, seed)
        if params.benefit.plots:
            plot_cohort_overlap(propensity, cohort, plots_dir / "benefit_overlap.png",
                                params.benefit)
    metrics = {
        name: evaluate_endpoint(cohort, dictionary, ENDPOINTS[name], models_dir, plots_dir,
                                train, params, truth, seed, counterfactual, propensity)
        for name in train.endpoints
    }
    write_json(metrics, metrics_file)
    record_headline(metrics, models_dir)
    _log_to_mlflow(metrics, plots_dir, models_dir)
    for name, block in metrics.items():
        key = "auc" if ENDPOINTS[name].kind == "binary" else "harrell_c"
        m = block["metrics"].get(key, {})
        extra = ""
        if "oracle" in block:
            extra = f", oracle ratio {block['oracle']['ratio']['mean']:.3f}"
        log.info("%s: %s %.3f (%.3f-%.3f)%s", name, key, m.get("mean", np.nan),
                 m.get("lo", np.nan), m.get("hi", np.nan), extra)
    return metrics

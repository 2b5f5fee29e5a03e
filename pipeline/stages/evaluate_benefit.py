"""The ``benefit`` block of ``metrics.json``: does the model choose the therapy well?

Reads the selected model's out-of-fold what-if predictions (``cv_what_if.parquet``, written by
``train``), fits cross-fitted propensities on the same outer folds, and computes the benefit
figures of :mod:`models.evaluation.benefit_summary` per endpoint (survival endpoints at each
benefit horizon). On simulated data the counterfactual truth is joined by pseudonym for the
agreement, average-effect and regret figures, and a Cox model adjusted for the true prognostic
log-hazard gives the practical ceiling. Writes the calibration-for-benefit and overlap plots.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clinical.endpoints import Endpoint
from models.counterfactual import cross_fitted_propensity
from models.evaluation import repeated_stratified_kfold, write_dvc_plot_csv
from models.evaluation.benefit import therapy_cox
from models.evaluation.benefit_summary import BenefitConfig, benefit_summary
from models.evaluation.plots import plot_benefit_calibration, plot_overlap
from pipeline.params import BenefitParams

log = logging.getLogger(__name__)

WHAT_IF_FILE = "cv_what_if.parquet"


def benefit_config(params: BenefitParams, *, randomised: bool | None = None) -> BenefitConfig:
    """The pure workflow's config from the ``evaluate.benefit`` section."""
    return BenefitConfig(
        reference=params.reference, min_patients_per_arm=params.min_patients_per_arm,
        n_boot=params.n_boot, n_groups=params.n_groups, matching=params.matching,
        positivity_threshold=params.positivity_threshold, propensity_clip=params.propensity_clip,
        randomised=params.randomised if randomised is None else randomised)


def truth_matrix(frame: pd.DataFrame, counterfactual: pd.DataFrame | None, column: str,
                 therapies: list[str]) -> pd.DataFrame | None:
    """True score of every row under every therapy (row x therapy), from the pseudonymised truth."""
    if counterfactual is None or column not in counterfactual.columns:
        return None
    wide = counterfactual.pivot_table(index="patient_id", columns="therapy", values=column,
                                      aggfunc="first")
    out = wide.reindex(index=frame["patient_id"].to_numpy(), columns=therapies)
    if out.notna().all(axis=1).mean() < 0.5:
        log.warning("counterfactual truth matches under half of the rows: truth figures skipped")
        return None
    return out.reset_index(drop=True)


def _adjusted_cox(frame: pd.DataFrame, y: Any, endpoint: Endpoint, truth: pd.DataFrame | None,
                  reference: str) -> dict[str, float] | None:
    column = endpoint.prognostic_truth
    if truth is None or column is None or column not in truth.columns:
        return None
    keyed = truth.drop_duplicates("patient_id").set_index("patient_id")[column]
    prognostic = frame["patient_id"].map(keyed).to_numpy(dtype=float)
    ok = np.isfinite(prognostic)
    if ok.mean() < 0.5:
        return None
    fit = therapy_cox(y[ok], frame["therapy"].to_numpy()[ok], reference, adjust=prognostic[ok])
    return {t: v["hr"] for t, v in fit.items()}


KEYS = ["patient_id", "line"]


def cohort_propensity(cohort: pd.DataFrame, dictionary: dict, params: BenefitParams,
                      seed: int, n_splits: int = 5) -> pd.DataFrame:
    """Cross-fitted propensity of every therapy for every cohort row, with its keys.

    Folds are stratified by the received therapy and grouped by patient, so no patient's own
    row informs their weight; computed once and shared by the endpoints.
    """
    folds = np.empty(len(cohort), dtype=int)
    splits = repeated_stratified_kfold(cohort["therapy"].astype(str).to_numpy(), n_splits, 1,
                                       seed=seed, groups=cohort["patient_id"].to_numpy())
    for k, (_, test) in enumerate(splits):  # loop over folds
        folds[test] = k
    prop = cross_fitted_propensity(cohort, dictionary, folds,
                                   threshold=params.positivity_threshold)
    return pd.concat([cohort[KEYS].reset_index(drop=True), prop.reset_index(drop=True)], axis=1)


def _rows_propensity(frame: pd.DataFrame, propensity: pd.DataFrame) -> pd.DataFrame:
    joined = frame[KEYS].merge(propensity, on=KEYS, how="left", validate="one_to_one")
    out = joined.drop(columns=KEYS)
    if out.isna().any(axis=None):
        raise ValueError(f"{int(out.isna().any(axis=1).sum())} rows have no propensity")
    return out


def plot_benefit(benefit: dict[str, dict], out_dir: Path, endpoint: Endpoint,
                 reference: str) -> None:
    """Calibration-for-benefit figure (first horizon) and its DVC table (every horizon)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, (label, block) in enumerate(benefit.items()):  # loop over horizons
        tables = {t: pd.DataFrame(p["calibration_for_benefit"]) for t, p in block["pairs"].items()}
        if not tables:
            continue
        suffix = "" if endpoint.kind == "binary" else f"_{label}"
        rows = pd.concat([t.assign(therapy=c) for c, t in tables.items()], ignore_index=True)
        write_dvc_plot_csv(rows, out_dir / f"benefit_calibration{suffix}.csv")
        if i == 0:
            outcome = ("response probability" if endpoint.kind == "binary"
                       else f"{endpoint.short}-free at {label}")
            plot_benefit_calibration(tables, out_dir / "benefit_calibration.png",
                                     reference=reference, outcome=outcome,
                                     title=f"{endpoint.label}: calibration for benefit")


def plot_cohort_overlap(propensity: pd.DataFrame, cohort: pd.DataFrame, path: Path,
                        params: BenefitParams) -> None:
    """Propensity overlap of the whole cohort (one figure per run)."""
    plot_overlap(propensity.drop(columns=KEYS), cohort["therapy"].astype(str).to_numpy(), path,
                 threshold=params.positivity_threshold)


def endpoint_benefit(frame: pd.DataFrame, y: Any, endpoint: Endpoint, what_if: pd.DataFrame,
                     propensity: pd.DataFrame, params: BenefitParams, seed: int, *,
                     counterfactual: pd.DataFrame | None = None,
                     truth: pd.DataFrame | None = None,
                     randomised: bool | None = None) -> dict[str, Any]:
    """Benefit figures of one endpoint; keyed ``response`` or ``<h>m`` per survival horizon.

    Args:
        frame: The endpoint's rows (as trained); ``y`` their outcome.
        what_if: The selected model's out-of-fold what-if (first repeat).
        propensity: :func:`cohort_propensity` of the cohort the rows come from.
        counterfactual, truth: Pseudonymised simulator truth (synthetic data only).
    """
    cfg = benefit_config(params, randomised=randomised)
    received = frame["therapy"].astype(str).to_numpy()
    propensity = _rows_propensity(frame, propensity)
    therapies = [t for t in dict.fromkeys(what_if["therapy"]) if t in propensity.columns]
    true = truth_matrix(frame, counterfactual, endpoint.truth, therapies)
    adjusted = _adjusted_cox(frame, y, endpoint, truth, cfg.reference) if endpoint.kind == \
        "survival" else None
    labels = ({"response": None} if endpoint.kind == "binary"
              else {f"{h:g}m": float(h) for h in params.horizons_months})
    observed: dict[str, dict[str, Any]] = {}  # IPTW effects: once per endpoint, every horizon
    return {
        label: benefit_summary(what_if, y, received, propensity, kind=endpoint.kind, horizon=h,
                               config=cfg, truth=true, adjusted_cox=adjusted, seed=seed,
                               observed_cache=observed)
        for label, h in labels.items()
    }


def headline(benefit: dict[str, Any]) -> dict[str, float]:
    """A few flat numbers of a benefit block (MLflow metrics, logs)."""
    out: dict[str, float] = {}
    for label, block in benefit.items():  # loop over horizons
        for therapy, pair in block["pairs"].items():
            out[f"benefit.{label}.{therapy}.c_for_benefit"] = pair["c_for_benefit"]["c"]
            if "eavg" in pair["c_for_benefit"]:
                out[f"benefit.{label}.{therapy}.eavg_for_benefit"] = pair["c_for_benefit"]["eavg"]
        for name, value in block["policy"].items():
            v = value.get("dr", value).get("value", value.get("observed"))
            if v is not None:
                out[f"benefit.{label}.policy.{name}"] = v
        for name, r in block.get("truth", {}).get("policy_regret", {}).items():
            out[f"benefit.{label}.regret.{name}"] = r["regret"]
        if "truth" in block:
            picks = block["truth"]["model_picks_truly_best"]
            out[f"benefit.{label}.model_picks_truly_best"] = picks
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}

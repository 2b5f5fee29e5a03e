"""``netoutcomes what-if``: batch what-if for a cohort, one row per patient and candidate therapy.

Every patient row of a feature table is scored under every therapy the models know (only the
therapy changed, :func:`models.counterfactual.predict_what_if`): eligibility and its reason, the
positivity flag (propensity of that therapy for similar patients), response probability, risk
score and survival at the horizons, and the difference against the reference therapy.

Interval of each difference (documented choice, the same as the patient reports): the range of
the difference when both predictions are recalibrated with the validated calibration slope set to
the ends of its 95 % interval (``metrics.json``). It shows how much the difference depends on the
model's validated calibration; it is not a confidence interval (sampling error of the fitted model
is not included), and the columns say so (``*_recal_lo`` / ``*_recal_hi``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from models.counterfactual import predict_what_if
from pipeline.errors import InputError
from pipeline.io import write_parquet
from pipeline.stages.explain import load_context, load_models
from pipeline.stages.explain_predict import Reference, recalibrate
from pipeline.stages.explain_shap import EndpointModel

log = logging.getLogger(__name__)

KEYS = ["patient_id", "line"]
INTERVAL_NOTE = ("recalibration range (validated calibration-slope interval), not a confidence "
                 "interval")


def _check_inputs(cohort: pd.DataFrame, models: dict[str, EndpointModel], features_file: Path,
                  reference: str, therapies: Sequence[str]) -> None:
    for em in models.values():  # loop over endpoints
        missing = [v for v in em.design.variables_ if v not in cohort.columns]
        if missing:
            raise InputError(file=str(features_file), column=", ".join(missing[:5]),
                             problem=f"missing, needed by the {em.endpoint} model",
                             fix="build the table with `netoutcomes features` (same dictionary)")
    for key in KEYS:
        if key not in cohort.columns:
            raise InputError(file=str(features_file), column=key, problem="missing",
                             fix="the feature table needs its keys")
    if reference not in therapies:
        raise InputError(file="--reference", problem=f"unknown therapy {reference!r}",
                         fix=f"use one of {', '.join(therapies)}")


def _endpoint_table(em: EndpointModel, ref: Reference, cohort: pd.DataFrame,
                    therapies: list[str], horizons: Sequence[float], reference: str
                    ) -> pd.DataFrame:
    table = predict_what_if(em.model, em.design, cohort, therapies, positivity=ref.positivity,
                            horizons=list(horizons))
    name = em.endpoint
    if em.kind == "binary":
        value_cols = {"response_prob": "response_prob"}
    else:
        value_cols = {"risk": f"{name}_risk"} | {
            f"survival_{h:g}": f"{name}_survival_{h:g}" for h in horizons}
    out = table[["row", "therapy"]].copy()
    for src, dst in value_cols.items():  # loop over columns
        out[dst] = table[src].to_numpy()
    slopes = ref.slopes.get(name)
    value_of = {"response_prob": "binary"} if em.kind == "binary" else {
        f"survival_{h:g}": h for h in horizons}
    for src, key in value_of.items():  # loop over predicted probabilities
        wide = table.pivot(index="row", columns="therapy", values=src)[therapies]
        diff = wide.sub(wide[reference], axis=0)
        pivot = ref.pivots[name] if em.kind == "binary" else ref.pivots[name][
            list(ref.grid).index(float(key))]
        lo = hi = None
        band_t = recalibrate(wide.to_numpy(), pivot, slopes, "binary" if em.kind == "binary"
                             else "survival")
        if band_t is not None:  # ends of the slope interval applied to both therapies
            low, high = band_t
            ref_col = therapies.index(reference)
            cand = np.stack([low - low[:, [ref_col]], high - high[:, [ref_col]]])
            lo, hi = cand.min(axis=0), cand.max(axis=0)
        dst = value_cols[src]
        long = diff.stack(future_stack=True).rename(f"{dst}_diff").reset_index()
        if lo is not None:
            long[f"{dst}_diff_recal_lo"] = np.minimum(lo, diff.to_numpy()).ravel()
            long[f"{dst}_diff_recal_hi"] = np.maximum(hi, diff.to_numpy()).ravel()
        out = out.merge(long, on=["row", "therapy"], how="left", validate="one_to_one")
    meta = table[["row", "therapy", "eligible", "reason", "propensity", "positivity_note"]]
    return meta.merge(out, on=["row", "therapy"], validate="one_to_one")


def what_if_table(features_file: Path, models_dir: Path, metrics_file: Path, *,
                  reference: str = "ssa", horizons: Sequence[float] = (12.0, 24.0)
                  ) -> pd.DataFrame:
    """The batch what-if of every row of ``features_file`` (see the module docstring)."""
    if not Path(features_file).exists():
        raise InputError(file=str(features_file), problem="feature table not found",
                         fix="run `netoutcomes features` first")
    models = load_models(models_dir)
    first = next(iter(models.values()))
    therapies = list(first.design.levels_[first.design.treatment_])
    columns = pq.read_schema(features_file).names
    _check_inputs(pd.DataFrame(columns=columns), models, features_file, reference, therapies)
    ctx = load_context(features_file, models_dir, metrics_file)
    bad = [h for h in horizons if float(h) not in ctx.reference.grid]
    if bad:
        raise InputError(file="--horizon", problem=f"horizons {bad} are not whole months <= 60",
                         fix="use whole months, e.g. 12 24")
    cohort = ctx.cohort.reset_index(drop=True)
    merged = None
    for em in ctx.models.values():  # loop over endpoints
        part = _endpoint_table(em, ctx.reference, cohort, therapies, horizons, reference)
        merged = part if merged is None else merged.merge(
            part.drop(columns=["eligible", "reason", "propensity", "positivity_note"]),
            on=["row", "therapy"], validate="one_to_one")
    keys = cohort[KEYS].assign(received=cohort["therapy"].astype(str)
                               if "therapy" in cohort.columns else "")
    out = keys.reset_index(names="row").merge(merged, on="row").drop(columns="row")
    out.insert(3, "reference", reference)
    out["positivity_flag"] = out["positivity_note"].astype(str).ne("")
    out["interval"] = INTERVAL_NOTE
    return out


def run(features_file: Path, models_dir: Path, metrics_file: Path, out_file: Path, *,
        reference: str, horizons: Sequence[float]) -> pd.DataFrame:
    """Write the batch what-if table to ``out_file`` (parquet) and return it."""
    if out_file.suffix != ".parquet":
        raise InputError(file=str(out_file), problem="the output must be a .parquet file",
                         fix="name it e.g. what_if.parquet")
    table = what_if_table(features_file, models_dir, metrics_file, reference=reference,
                          horizons=horizons)
    write_parquet(table, out_file)
    n_pat = table["patient_id"].nunique()
    log.info("what-if: %d patients x %d therapies -> %s", n_pat, table["therapy"].nunique(),
             out_file)
    return table

"""``evaluate-flat``: the pipeline's model choice and validation on a user's single-table cohort.

One CSV, one row per patient, a follow-up time and an event column (and optionally a 0/1
response and a treatment column). Columns are typed into a feature dictionary
(:func:`models.flat.infer_dictionary`: categoricals one-hot, missing values kept for the models
to handle), then the same candidate families as ``train`` (from ``params.yaml`` ``train:``) are
compared by nested cross-validation (:func:`models.crossval.cross_validate`: design fitted and
hyper-parameters tuned inside each outer training fold) on repeated stratified folds. The best
mean fold Harrell's C (AUC for the response) selects the model. Every candidate's out-of-fold
predictions are summarised by :func:`models.evaluation.summary.cv_metrics` (mean and 2.5-97.5
percentile interval over the outer folds) and written to ``<out>/metrics.json``: the same seed
and params give identical bytes.
"""

from __future__ import annotations

import hashlib
import logging
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from clinical import Endpoint, table_endpoint
from models.counterfactual import cross_fitted_propensity
from models.crossval import Candidate, CVResult, TuningConfig, cross_validate, select
from models.evaluation import repeated_stratified_kfold
from models.evaluation.benefit_summary import benefit_summary, survival_times
from models.evaluation.summary import cv_metrics
from models.flat import (
    LEAK_AUC,
    LEAK_SPEARMAN,
    evaluation_times,
    infer_dictionary,
    screen_columns,
    truncation_time,
)
from models.survival import make_surv
from pipeline.io import write_json
from pipeline.params import BenefitParams, TrainParams
from pipeline.stages import evaluate_flat_outputs as outputs
from pipeline.stages.evaluate_benefit import benefit_config
from pipeline.stages.evaluate_flat_outputs import CSV_ROW
from pipeline.stages.train import candidates_for

log = logging.getLogger(__name__)

SURVIVAL = table_endpoint("survival", "time", "event")
RESPONSE = table_endpoint("binary", "response")
HEADLINE = {"survival": ("harrell_c", "uno_c", "ibs"), "binary": ("auc", "brier", "ici")}

_XGB = {"n_estimators": 300, "learning_rate": 0.05, "max_depth": 2, "min_child_weight": 5.0,
        "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0,
        "early_stopping_rounds": 30, "validation_fraction": 0.2, "n_jobs": 1, "random_state": 0,
        "max_bin": 64}
_XGB_SPACE = {"max_depth": {"type": "int", "low": 1, "high": 4},
              "learning_rate": {"type": "float", "low": 0.03, "high": 0.2, "log": True},
              "min_child_weight": {"type": "float", "low": 1.0, "high": 30.0, "log": True}}

#: Built-in ``train:`` settings of ``evaluate-flat`` when the working folder has no params.yaml
#: (a user's own table, anywhere): the same candidate families as the pipeline, generic settings
#: (no column names of the NET cohort), a small tuning budget. Treatment columns stay unpenalised
#: so the what-if predictions of the benefit figures keep the treatment effect.
FLAT_DEFAULTS: dict[str, Any] = {
    "n_jobs": 2,
    "tuning": {"n_trials": 4, "timeout_s": 120, "validation_fraction": 0.25},
    "candidates": {"binary": ["logistic", "xgb"],
                   "survival": ["penalised_cox", "xgb_cox", "xgb_aft"]},
    "models": {
        "logistic": {"params": {"C": 0.1, "max_iter": 2000, "treatment_weight": 5.0},
                     "inner_folds": 3,
                     "space": {"C": {"type": "float", "low": 0.003, "high": 1.0, "log": True}}},
        "xgb": {"params": {**_XGB, "max_depth": 3, "min_child_weight": 1.0,
                           "calibration": "platt", "calibration_folds": 3},
                "tuning_overrides": {"calibration": "none", "refit": False},
                "n_trials": 3, "space": _XGB_SPACE},
        "penalised_cox": {"params": {"method": "coxnet", "alpha": 0.05, "l1_ratio": 0.5,
                                     "treatment_penalty": 0.0},
                          "inner_folds": 3,
                          "space": {"alpha": {"type": "float", "low": 0.005, "high": 0.3,
                                              "log": True},
                                    "l1_ratio": {"type": "float", "low": 0.05, "high": 1.0}}},
        "xgb_cox": {"params": dict(_XGB), "tuning_overrides": {"refit": False}, "n_trials": 3,
                    "space": _XGB_SPACE},
        "xgb_aft": {"params": {**_XGB, "distribution": "normal", "sigma": 1.0},
                    "tuning_overrides": {"refit": False}, "n_trials": 3,
                    "space": {**_XGB_SPACE,
                              "sigma": {"type": "float", "low": 0.5, "high": 2.0}}},
    },
}


def default_train_params() -> TrainParams:
    """The built-in ``train:`` settings (:data:`FLAT_DEFAULTS`), validated."""
    return TrainParams.model_validate(FLAT_DEFAULTS)


def with_default_models(train: TrainParams, file: Path | str = "params.yaml") -> TrainParams:
    """``train`` with a built-in model spec for every candidate its ``models:`` does not set.

    Raises:
        InputError: A candidate family that is neither configured nor built in.
    """
    builtin = default_train_params().models
    models = dict(train.models)
    for kind, names in train.candidates.items():
        for name in names:
            if name in models:
                continue
            if name not in builtin:
                raise _input_error(file, "", f"candidate '{name}' of train.candidates.{kind} "
                                   "has no entry in train.models and no built-in settings",
                                   f"configure it under train.models or use one of "
                                   f"{', '.join(builtin)}")
            models[name] = builtin[name]
    return train.model_copy(update={"models": models})


def _input_error(file: Path | str, column: str, problem: str, fix: str) -> Exception:
    from pipeline.errors import InputError  # lazy: the CLI's error type

    return InputError(file=Path(file).name, column=column, fix=fix, problem=problem)


def read_cohort(csv: Path) -> pd.DataFrame:
    """Read the CSV (one row per patient).

    Raises:
        InputError: If the file is missing, unreadable or has no rows.
    """
    if not Path(csv).is_file():
        raise _input_error(csv, "", "file not found", "pass the path of an existing CSV to --csv")
    try:
        frame = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        fix = "save the table as comma-separated UTF-8 text with a header row"
        raise _input_error(csv, "", f"not a readable CSV ({type(err).__name__})", fix) from None
    if frame.empty:
        raise _input_error(csv, "", "no data rows", "export the cohort with one row per patient")
    return frame


def check_columns(frame: pd.DataFrame, csv: Path, roles: dict[str, str | None],
                  exclude: Sequence[str] = ()) -> None:
    """Every column named on the command line exists and none is named twice.

    Args:
        roles: Option name (``time``, ``event`` ...) -> column name (``None`` when not given).
    """
    named = {opt: col for opt, col in roles.items() if col is not None}
    for opt, col in [*named.items(), *(("exclude", c) for c in exclude)]:
        if col not in frame.columns:
            raise _input_error(csv, col, "column not found in the header",
                               f"check the spelling of --{opt} (the header has "
                               f"{len(frame.columns)} columns)")
    cols = list(named.values())
    for col in cols:
        if cols.count(col) > 1:
            raise _input_error(csv, col, "column given for more than one option",
                               "name a different column for each of --time/--event/"
                               "--response/--treatment")


def _numeric(values: pd.Series, csv: Path, column: str, fix: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("Float64")
    parsed = pd.to_numeric(values, errors="coerce")
    bad = int((parsed.isna() & values.notna()).sum())
    if bad:
        raise _input_error(csv, column, f"{bad} non-numeric value(s)", fix)
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


def _zero_one(values: pd.Series, csv: Path, column: str) -> np.ndarray:
    fix = "code it as 1 = yes (event / response) and 0 = no; leave unknown cells empty"
    if not pd.api.types.is_bool_dtype(values):
        lowered = values.astype("string").str.strip().str.lower()
        mapped = lowered.map({"true": 1.0, "false": 0.0})
        values = values.where(mapped.isna(), mapped)
    num = _numeric(values, csv, column, fix)
    if not np.isin(num[~np.isnan(num)], (0.0, 1.0)).all():
        raise _input_error(csv, column, "values other than 0 and 1", fix)
    return num


def survival_rows(frame: pd.DataFrame, csv: Path, time: str, event: str,
                  n_splits: int) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Rows with a known follow-up time and event, and their ``make_surv`` outcome.

    Returns:
        ``(rows, y, n_dropped)``; rows keep the CSV order (index reset).

    Raises:
        InputError: Non-numeric or negative time, events not 0/1, fewer events than folds.
    """
    t = _numeric(frame[time], csv, time, "follow-up time must be a number (days, months ...)")
    if (t[~np.isnan(t)] < 0).any():
        raise _input_error(csv, time, "negative follow-up time",
                           "time must be >= 0 from the index date")
    e = _zero_one(frame[event], csv, event)
    keep = ~np.isnan(t) & ~np.isnan(e)
    dropped = int((~keep).sum())
    if dropped:
        log.warning("%d row(s) without time or event left out of the survival analysis", dropped)
    if e[keep].sum() < n_splits or (1 - e[keep]).sum() < n_splits:
        raise _input_error(csv, event, f"fewer events or censored rows than folds ({n_splits})",
                           "use fewer --folds or a larger cohort")
    rows = frame.loc[keep].reset_index(drop=True)
    return rows, make_surv(t[keep], e[keep].astype(bool)), dropped


def response_rows(frame: pd.DataFrame, csv: Path, response: str,
                  n_splits: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with a known 0/1 response (missing = not assessable, left out) and the response."""
    r = _zero_one(frame[response], csv, response)
    keep = ~np.isnan(r)
    if min(r[keep].sum(), (1 - r[keep]).sum()) < n_splits:
        raise _input_error(csv, response, f"fewer responders or non-responders than folds "
                           f"({n_splits})", "use fewer --folds or a larger cohort")
    return frame.loc[keep].reset_index(drop=True), r[keep]


def guard_columns(frame: pd.DataFrame, csv: Path, dictionary: dict, roles: dict[str, str | None],
                  allow: Sequence[str] = ()) -> dict[str, Any]:
    """Refuse model inputs that look like identifiers or nearly determine the outcome.

    Every model input is screened (:func:`models.flat.screen_columns`); a finding on a column not
    in ``allow`` stops the run with one message naming each column, the check, the statistic and
    its threshold. Findings on allowed columns are returned (written to ``metrics.json``).

    Args:
        roles: ``time``, ``event`` and (optional) ``response`` column names.

    Raises:
        InputError: Naming the refused columns and the flags that keep or drop them.
    """
    t = pd.to_numeric(frame[roles["time"]], errors="coerce").to_numpy(dtype=np.float64)
    outcomes = {"event": _zero_one(frame[roles["event"]], csv, roles["event"])}
    if roles.get("response"):
        outcomes["response"] = _zero_one(frame[roles["response"]], csv, roles["response"])
    inputs = [f["name"] for f in dictionary["features"]]
    findings = screen_columns(frame, inputs, time=t, outcomes=outcomes)
    refused = [f for f in findings if f["column"] not in set(allow)]
    if refused:
        names = list(dict.fromkeys(f["column"] for f in refused))
        detail = "; ".join(
            f"{f['column']}: {f['problem']}" + (
                "" if f["statistic"] in ("column name", "distinct values / recorded rows")
                else f" ({f['statistic']} {f['value']:.2f} >= {f['threshold']:.2f})")
            for f in refused)
        raise _input_error(csv, ", ".join(names), "looks like an identifier or an outcome "
                           f"leak, refused as a model input: {detail}",
                           f"drop it with --exclude {names[0]} (repeat for each column), or, if "
                           f"it is known before follow-up starts and is no identifier, keep it "
                           f"with --allow-column {names[0]}")
    return {"thresholds": {"auc": LEAK_AUC, "spearman_time": LEAK_SPEARMAN},
            "screened": len(inputs), "allowed": [f for f in findings if f["column"] in allow]}


def folds_digest(splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
    """Short SHA-256 of the outer test folds (to check that two runs used the same folds)."""
    h = hashlib.sha256()
    for _, test in splits:
        h.update(np.sort(np.asarray(test, dtype=np.int64)).tobytes() + b"|")
    return h.hexdigest()[:16]


def _tuning(params: TrainParams) -> TuningConfig:
    t = params.tuning
    return TuningConfig(t.n_trials, t.timeout_s, t.validation_fraction, t.inner_folds)


def evaluate_endpoint(
    frame: pd.DataFrame,
    dictionary: dict,
    y: Any,
    endpoint: Endpoint,
    params: TrainParams,
    *,
    n_splits: int,
    n_repeats: int,
    seed: int,
    horizons: Sequence[float] = (),
    grid: Sequence[float] = (),
    candidates: Sequence[Candidate] | None = None,
    progress: Callable[[int], None] | None = None,
    treatment: Treatment | None = None,
    truncation: dict[str, float] | None = None,
    out_dir: Path | None = None,
) -> dict[str, Any]:
    """Nested CV of the candidates on one endpoint; metrics of every candidate and the selected.

    With ``out_dir`` the selected model refit on every row, the out-of-fold predictions and the
    plots are written (:mod:`pipeline.stages.evaluate_flat_outputs`; ``frame`` then needs the
    :data:`CSV_ROW` column) and listed under ``outputs``.

    With ``treatment`` every outer test row is also scored under every arm (out-of-fold what-if)
    and the benefit figures of the selected model are added under ``benefit``.

    Args:
        frame: Rows with a known outcome.
        dictionary: Feature dictionary (from :func:`models.flat.infer_dictionary`).
        y: ``make_surv`` array (survival) or 0/1 array (response).
        endpoint: :data:`SURVIVAL` or :data:`RESPONSE`.
        params: ``train`` params (candidates, spaces, tuning budget, n_jobs, one_se).
        horizons: Time-dependent AUC horizons (survival).
        grid: Times at which survival is predicted (IBS grid, survival).
        candidates: Override of the params' candidates (default: ``candidates_for``).
        truncation: :func:`models.flat.truncation_time` of the survival outcome: the IPCW
            metrics (Uno's C, time-dependent AUC, IBS) stop at its ``tau``.
    """
    splits = repeated_stratified_kfold(y, n_splits, n_repeats, seed=seed)
    cands = list(candidates) if candidates is not None else candidates_for(endpoint, params)
    started = clock.perf_counter()
    arms = treatment.arms if treatment is not None else ()
    cv = cross_validate(cands, frame, dictionary, y, splits, kind=endpoint.kind,
                        n_splits=n_splits, horizons=list(grid), tuning=_tuning(params),
                        seed=seed, n_jobs=params.n_jobs, progress=progress, therapies=arms)
    log.info("%s: nested CV of %d candidates in %.1f s", endpoint.name, len(cands),
             clock.perf_counter() - started)
    order = [c.name for c in cands]
    selected = select(cv.fold_scores, order, one_se=params.one_se)
    models = {}
    for name in order:
        result = cv_metrics(cv.predictions[cv.predictions["candidate"] == name], y,
                            kind=endpoint.kind, horizons=list(horizons),
                            tau=truncation["tau"] if truncation else None,
                            on_error=lambda m, n=name: log.warning("%s %s: %s", endpoint.name,
                                                                   n, m))
        models[name] = {**result["metrics"], "folds_scored": result["n_folds"]}
    survival = endpoint.kind == "survival"
    events = int(y[y.dtype.names[0]].sum()) if survival else int(np.sum(y))
    block = {
        "n": int(len(frame)),
        "events": events,
        "folds": len(splits),
        "n_splits": n_splits,
        "n_repeats": n_repeats,
        "seed": seed,
        "folds_digest": folds_digest(splits),
        "validation": f"nested cross-validation {n_splits}x{n_repeats} (tuning inside each "
                      "outer training fold)",
        "selection_metric": "harrell_c" if survival else "auc",
        "selected": selected,
        "selected_model": {"name": selected, **models[selected]},
        "models": models,
    }
    if survival:
        block.update(horizons=list(horizons), time_grid=list(grid))
        if truncation:
            block["ipcw_truncation"] = {
                **truncation,
                "rule": "Uno's C, time-dependent AUC and IBS use follow-up up to tau (or a "
                        "fold's last training time, if earlier; events at or after it censored "
                        "there): tau is the first time at which the censoring survival falls "
                        "below min_censoring_survival; Harrell's C uses every row"}
    if out_dir is not None:
        chosen = next(c for c in cands if c.name == selected)
        block["outputs"] = write_endpoint_outputs(frame, dictionary, y, endpoint, cv, chosen,
                                                  _tuning(params), seed, horizons, out_dir)
    if treatment is not None:
        block["benefit"] = flat_benefit(frame, dictionary, y, endpoint, cv, selected,
                                        splits[:n_splits], treatment, horizons, seed)
    return block


def write_endpoint_outputs(frame: pd.DataFrame, dictionary: dict, y: Any, endpoint: Endpoint,
                           cv: CVResult, chosen: Candidate, tuning: TuningConfig, seed: int,
                           horizons: Sequence[float], out_dir: Path) -> dict[str, Any]:
    """Selected model (native), out-of-fold predictions and plots of one endpoint."""
    folder = Path(out_dir) / endpoint.name
    model = outputs.save_selected(frame.drop(columns=CSV_ROW), dictionary, y, endpoint.kind,
                                  chosen, tuning, seed, folder)
    predictions = outputs.write_predictions(cv, frame[CSV_ROW].to_numpy(), folder)
    plots_dir = Path(out_dir) / "plots"
    if endpoint.kind == "survival":
        plots = outputs.survival_plots(cv, chosen.name, y, list(horizons), plots_dir)
    else:
        plots = outputs.response_plots(cv, chosen.name, y, plots_dir)
    return {"model": model, "predictions": predictions, "plots": plots}


class Treatment:
    """The treatment column of a flat cohort and how its benefit is evaluated."""

    def __init__(self, column: str, arms: Sequence[str], params: BenefitParams,
                 randomised: bool) -> None:
        self.column, self.arms = column, list(arms)
        self.params, self.randomised = params, randomised


def flat_benefit(frame: pd.DataFrame, dictionary: dict, y: Any, endpoint: Endpoint,
                 cv: CVResult, selected: str, splits: Sequence[tuple[np.ndarray, np.ndarray]],
                 treatment: Treatment, horizons: Sequence[float], seed: int) -> dict[str, Any]:
    """Benefit figures of the selected model (survival at the median-event-time horizon).

    ``splits`` are the first repeat's folds (those of the out-of-fold what-if); the propensity
    is cross-fitted on them.
    """
    folds = np.empty(len(frame), dtype=int)
    for k, (_, test) in enumerate(splits):
        folds[test] = k
    what_if = cv.what_if[cv.what_if["candidate"] == selected]
    propensity = cross_fitted_propensity(frame, dictionary, folds,
                                         threshold=treatment.params.positivity_threshold)
    cfg = replace(benefit_config(treatment.params, randomised=treatment.randomised),
                  time_unit="time units of the table")
    received = frame[treatment.column].astype(str).to_numpy()
    if endpoint.kind == "binary":
        return {"response": benefit_summary(what_if, y, received, propensity, kind="binary",
                                            config=cfg, seed=seed)}
    grid_times = list(survival_times(what_if))
    h = min(grid_times, key=lambda t: abs(t - horizons[len(horizons) // 2]))
    return {f"{h:g}": benefit_summary(what_if, y, received, propensity, kind="survival",
                                      horizon=h, config=cfg, seed=seed)}


def run(
    csv: Path,
    out_dir: Path,
    params: TrainParams,
    *,
    time: str,
    event: str,
    response: str | None = None,
    treatment: str | None = None,
    exclude: Sequence[str] = (),
    n_splits: int = 5,
    n_repeats: int = 3,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    benefit: BenefitParams | None = None,
    randomised: bool = False,
    reference: str | None = None,
    allow: Sequence[str] = (),
    artifacts: bool = True,
) -> dict[str, Any]:
    """Evaluate the candidate models on a single-table cohort; write ``<out_dir>/metrics.json``.

    With ``artifacts`` (default) also the selected models (native format), the out-of-fold
    predictions, the plots and ``report.html`` (:mod:`pipeline.stages.evaluate_flat_outputs`).

    Model inputs that look like identifiers or nearly determine the outcome are refused
    (:func:`guard_columns`) unless named in ``allow``.

    With ``treatment`` (two or more arms) the benefit figures that need no truth are added to
    each endpoint under ``benefit`` (reference arm: ``reference``, else the first in sort order;
    ``randomised`` adds the unadjusted randomised estimate beside the model's).

    The survival endpoint is always evaluated (top-level keys of the result); the response
    endpoint too when ``response`` is given (under ``"response"``).

    Raises:
        InputError: Missing file or column, non-numeric or negative time, events not 0/1.
    """
    frame = read_cohort(csv)
    roles = {"time": time, "event": event, "response": response, "treatment": treatment}
    check_columns(frame, csv, roles, [*exclude, *allow])
    not_inputs = [time, event, *exclude, *([response] if response else [])]
    dictionary = infer_dictionary(frame, not_inputs, treatment=treatment)
    if not dictionary["features"]:
        raise _input_error(csv, "", "no usable model input column",
                           "add covariate columns (numbers or categories with few levels)")
    if CSV_ROW in frame.columns:
        raise _input_error(csv, CSV_ROW, "column name reserved for the output row numbers",
                           "rename the column")
    numbered = frame.assign(**{CSV_ROW: np.arange(1, len(frame) + 1)})
    rows, y, dropped = survival_rows(numbered, csv, time, event, n_splits)
    r_rows, r = response_rows(numbered, csv, response, n_splits) if response else (None, None)
    screen = guard_columns(frame, csv, dictionary, roles, allow)
    truncation = truncation_time(y["time"], y["event"])
    try:
        horizons, grid = evaluation_times(y["time"], y["event"], tau=truncation["tau"])
    except ValueError as err:
        raise _input_error(csv, time, str(err), "check the time column's unit and values") from None
    arms = _treatment(frame, csv, treatment, benefit, randomised, reference)
    common = {"n_splits": n_splits, "n_repeats": n_repeats, "seed": seed, "progress": progress,
              "treatment": arms, "out_dir": Path(out_dir) if artifacts else None}
    metrics = evaluate_endpoint(rows, dictionary, y, SURVIVAL, params, horizons=horizons,
                                grid=grid, truncation=truncation, **common)
    metrics["dropped_rows"] = dropped
    if response:
        metrics["response"] = evaluate_endpoint(r_rows, dictionary, r, RESPONSE, params, **common)
    metrics["input"] = {"file": Path(csv).name, "rows": int(len(frame)), "time": time,
                        "event": event, "response": response, "treatment": treatment,
                        "randomised": bool(randomised) if treatment else None}
    metrics["features"] = [{k: f[k] for k in ("name", "role", "dtype")}
                           for f in dictionary["features"]]
    metrics["excluded"] = dictionary["excluded"]
    metrics["screen"] = screen
    write_json(metrics, Path(out_dir) / "metrics.json")
    if artifacts:
        outputs.write_report(metrics, Path(out_dir))
    return metrics


def _treatment(frame: pd.DataFrame, csv: Path, column: str | None,
               params: BenefitParams | None, randomised: bool, reference: str | None
               ) -> Treatment | None:
    if column is None:
        return None
    levels = sorted(frame[column].dropna().astype(str).unique().tolist())
    if len(levels) < 2:
        raise _input_error(csv, column, "fewer than two treatment arms",
                           "the treatment column needs two or more values")
    ref = levels[0] if reference is None else str(reference)
    if ref not in levels:
        raise _input_error(csv, column, f"reference arm {ref!r} not found",
                           f"use one of {', '.join(levels[:10])} for --reference")
    base = params or BenefitParams()
    return Treatment(column, levels, base.model_copy(update={"reference": ref}), randomised)


def _fmt(est: dict[str, float] | None, key: str, lo: str = "lo", hi: str = "hi") -> str:
    if not est:
        return "-"
    if key == "risk_difference":
        return f"RD {est[key]:+.3f}"
    return f"HR {est[key]:.2f} ({est[lo]:.2f}-{est[hi]:.2f})"


def _effect_cells(ae: dict[str, Any]) -> tuple[str, str, str]:
    """Model, IPTW and randomised estimates of one pair, as text."""
    if "hr" in ae["model"]:
        return (_fmt(ae["model"], "hr", "hr_lo", "hr_hi"), _fmt(ae["iptw_cox"], "hr"),
                _fmt(ae.get("randomised_cox"), "hr"))
    return (_fmt(ae["model"], "risk_difference"), _fmt(ae["iptw"], "risk_difference"),
            _fmt(ae.get("randomised"), "risk_difference"))


def benefit_table(block: dict[str, Any], title: str) -> Table:
    """Rich table of the benefit figures of one endpoint (each arm vs the reference)."""
    table = Table(title=title)
    table.add_column("arm vs reference")
    for col in ("n", "c-for-benefit (95% CI)", "model effect", "IPTW estimate",
                "randomised estimate"):
        table.add_column(col, justify="right")
    for b in block.values():  # loop over horizons
        for arm, pair in b["pairs"].items():
            c = pair["c_for_benefit"]
            table.add_row(f"{arm} vs {b['reference']} ({b['outcome']})",
                          f"{pair['n_candidate']}/{pair['n_reference']}",
                          f"{c['c']:.3f} ({c['lo']:.3f}-{c['hi']:.3f})",
                          *_effect_cells(pair["average_effect"]))
    return table


def policy_table(block: dict[str, Any], title: str) -> Table:
    """Rich table of the policy values (doubly robust, 95% CI) of one endpoint."""
    table = Table(title=title)
    for col in ("rule", "outcome", "value: doubly robust (95% CI)", "value: IPW"):
        table.add_column(col, justify="left" if col in ("rule", "outcome") else "right")
    for b in block.values():  # loop over horizons
        for name, v in b["policy"].items():
            if "dr" in v:
                dr, ipw = v["dr"], v["ipw"]
                table.add_row(name, b["outcome"],
                              f"{dr['value']:.3f} ({dr['lo']:.3f}-{dr['hi']:.3f})",
                              f"{ipw['value']:.3f}")
            elif "observed" in v:
                table.add_row(name, b["outcome"], f"{v['observed']:.3f} (observed)", "-")
    return table


def _cell(summary: dict | None) -> str:
    if not summary:
        return "-"
    return f"{summary['mean']:.3f} ({summary['lo']:.3f}-{summary['hi']:.3f})"


def metrics_table(block: dict[str, Any], kind: str = "survival", title: str = "") -> Table:
    """Rich table of every candidate's headline metrics (mean and 95% interval over folds)."""
    names = HEADLINE[kind]
    table = Table(title=title or f"{kind}: n={block['n']}, events={block['events']}, "
                  f"{block['validation']}")
    table.add_column("model")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("selected", justify="center")
    for model, metrics in block["models"].items():
        mark = "*" if model == block["selected"] else ""
        table.add_row(model, *(_cell(metrics.get(n)) for n in names), mark)
    return table

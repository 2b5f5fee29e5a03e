"""``evaluate-flat`` beside scikit-survival and lifelines peers on GBSG2 and WHAS500 (issue 4).

Usage: ``python benchmarks/bench_flat_peers.py [--params params.yaml]
[--override benchmarks/bench_flat_params.yaml] [--folds 5] [--repeats 3] [--seed 0]
[--datasets gbsg2 whas500] [--json PATH]``. ``--override`` merges a YAML ``train:`` fragment into
the params' ``train:`` section (e.g. a larger tuning budget); without it the pipeline's own
configuration is benchmarked.

For each dataset shipped with scikit-survival the table is written to a CSV and run through
``evaluate-flat`` exactly as a user would (:func:`pipeline.stages.evaluate_flat.run`: typed
columns, nested CV with tuning inside each outer training fold, selection by mean Harrell's C).
The peers are then fitted on the SAME outer folds (same ``repeated_stratified_kfold`` call; the
fold digest is checked) with categoricals one-hot encoded (``sksurv.column.encode_categorical``,
first level dropped) and scored by the SAME code (:func:`models.evaluation.summary.cv_metrics`,
same horizons and IBS grid):

- ``CoxPHSurvivalAnalysis()`` (unpenalised);
- ``CoxnetSurvivalAnalysis(fit_baseline_model=True)`` on standardised inputs, default
  ``l1_ratio=0.5`` and default alpha path; alpha chosen by inner 5-fold CV (Harrell's C along
  the path) within the outer training fold, never on the test fold;
- ``RandomSurvivalForest(n_estimators=200, min_samples_leaf=15, n_jobs=2, random_state=0)``;
- ``GradientBoostingSurvivalAnalysis(n_estimators=200, learning_rate=0.05, max_depth=2,
  random_state=0)``;
- lifelines ``CoxPHFitter(penalizer=0.01)``.

Prints Harrell's C (mean and 2.5-97.5 percentile interval over the 15 outer folds), Uno's C
and the integrated Brier score per model, and whether the selected model is within 0.005 of the
best peer's mean Harrell's C.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lifelines import CoxPHFitter  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sksurv.column import encode_categorical  # noqa: E402
from sksurv.datasets import load_gbsg2, load_whas500  # noqa: E402
from sksurv.ensemble import GradientBoostingSurvivalAnalysis, RandomSurvivalForest  # noqa: E402
from sksurv.linear_model import CoxnetSurvivalAnalysis, CoxPHSurvivalAnalysis  # noqa: E402
from sksurv.metrics import concordance_index_censored  # noqa: E402

from models.evaluation import repeated_stratified_kfold  # noqa: E402
from models.evaluation.summary import cv_metrics  # noqa: E402
from models.survival import make_surv  # noqa: E402
from pipeline.params import TrainParams, load_params, load_yaml  # noqa: E402
from pipeline.stages import evaluate_flat  # noqa: E402

TARGET_GAP = 0.005
DATASETS = {"gbsg2": (load_gbsg2, "cens", "time"), "whas500": (load_whas500, "fstat", "lenfol")}
Fit = Callable[[pd.DataFrame, np.ndarray, pd.DataFrame, list[float]], tuple[np.ndarray, np.ndarray]]


def _curves(fns, grid: list[float]) -> np.ndarray:
    """Evaluate sksurv step functions on the grid (clipped to each function's domain)."""
    out = np.empty((len(fns), len(grid)))
    for i, fn in enumerate(fns):
        out[i] = fn(np.clip(grid, fn.x[0], fn.x[-1]))
    return out


def _sksurv(make: Callable[[], object]) -> Fit:
    def fit(X_tr, y_tr, X_te, grid):
        model = make().fit(X_tr, y_tr)
        return model.predict(X_te), _curves(model.predict_survival_function(X_te), grid)
    return fit


def _coxnet_alpha(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Default alpha path on the training fold; alpha with the best inner 5-fold Harrell's C."""
    alphas = CoxnetSurvivalAnalysis().fit(X, y).alphas_
    scores = np.zeros(alphas.size)
    inner = StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y["event"])
    for fit_rows, val_rows in inner:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = CoxnetSurvivalAnalysis(alphas=alphas).fit(X[fit_rows], y[fit_rows])
        risk = X[val_rows] @ path.coef_  # (n_val, n_alphas)
        yv = y[val_rows]
        scores[: risk.shape[1]] += [concordance_index_censored(yv["event"], yv["time"], r)[0]
                                    for r in risk.T]
    return alphas, float(alphas[int(np.argmax(scores))])


def _coxnet(X_tr, y_tr, X_te, grid):
    scaler = StandardScaler().fit(X_tr)
    A, B = scaler.transform(X_tr), scaler.transform(X_te)
    alphas, best = _coxnet_alpha(A, y_tr, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CoxnetSurvivalAnalysis(alphas=alphas, fit_baseline_model=True).fit(A, y_tr)
    return (model.predict(B, alpha=best),
            _curves(model.predict_survival_function(B, alpha=best), grid))


def _lifelines(X_tr, y_tr, X_te, grid):
    train = X_tr.assign(_t=y_tr["time"], _e=y_tr["event"].astype(int))
    cph = CoxPHFitter(penalizer=0.01).fit(train, duration_col="_t", event_col="_e")
    surv = cph.predict_survival_function(X_te, times=grid).to_numpy().T
    return cph.predict_log_partial_hazard(X_te).to_numpy(), surv


PEERS: dict[str, Fit] = {
    "sksurv CoxPH": _sksurv(CoxPHSurvivalAnalysis),
    "sksurv Coxnet (inner-CV alpha)": _coxnet,
    "sksurv RSF": _sksurv(lambda: RandomSurvivalForest(
        n_estimators=200, min_samples_leaf=15, n_jobs=2, random_state=0)),
    "sksurv GBSA": _sksurv(lambda: GradientBoostingSurvivalAnalysis(
        n_estimators=200, learning_rate=0.05, max_depth=2, random_state=0)),
    "lifelines CoxPH (pen 0.01)": _lifelines,
}


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """One-hot covariates (first level dropped) and the survival outcome of a bundled dataset."""
    loader, event, time_col = DATASETS[name]
    X, y = loader()
    return X, make_surv(y[time_col], y[event])


def peer_metrics(name: str, fit: Fit, X: pd.DataFrame, y: np.ndarray, splits, n_splits: int,
                 horizons: list[float], grid: list[float]) -> tuple[dict, float]:
    """Fit one peer on every outer fold; summarise its out-of-fold predictions."""
    started, frames = time.perf_counter(), []
    for k, (train, test) in enumerate(splits):
        risk, surv = fit(X.iloc[train], y[train], X.iloc[test], grid)
        frame = pd.DataFrame(np.clip(surv, 0.0, 1.0), columns=[f"surv_{t:g}" for t in grid])
        frame.insert(0, "score", risk)
        frame.insert(0, "row", test)
        frames.append(frame.assign(repeat=k // n_splits, fold=k, candidate=name))
    preds = pd.concat(frames, ignore_index=True)
    result = cv_metrics(preds, y, kind="survival", horizons=horizons)
    return result["metrics"], time.perf_counter() - started


def run_dataset(name: str, params, folds: int, repeats: int, seed: int) -> dict:
    """Our evaluate-flat run and every peer on the same folds of one dataset."""
    X_raw, y = load(name)
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / f"{name}.csv"
        X_raw.assign(time=y["time"], event=y["event"].astype(int)).to_csv(csv, index=False)
        started = time.perf_counter()
        ours = evaluate_flat.run(csv, Path(tmp) / "out", params, time="time", event="event",
                                 n_splits=folds, n_repeats=repeats, seed=seed)
        ours_s = time.perf_counter() - started
    splits = repeated_stratified_kfold(y, folds, repeats, seed=seed)
    if evaluate_flat.folds_digest(splits) != ours["folds_digest"]:
        raise RuntimeError(f"{name}: peers would not use the same outer folds")
    X = encode_categorical(X_raw).astype(float)
    rows = {f"ours: {m}": {**v, "seconds": ours_s if m == ours["selected"] else None}
            for m, v in ours["models"].items()}
    for peer, fit in PEERS.items():
        metrics, seconds = peer_metrics(peer, fit, X, y, splits, folds, ours["horizons"],
                                        ours["time_grid"])
        rows[peer] = {**metrics, "seconds": seconds}
    best_peer = max((r["harrell_c"]["mean"], p) for p, r in rows.items() if p in PEERS)
    selected = ours["selected_model"]["harrell_c"]["mean"]
    return {"n": ours["n"], "events": ours["events"], "selected": ours["selected"],
            "ours_seconds": ours_s, "rows": rows, "best_peer": best_peer[1],
            "gap": selected - best_peer[0], "meets_target": selected >= best_peer[0] - TARGET_GAP}


def _cell(s: dict | None) -> str:
    return "-" if not s else f"{s['mean']:.3f} ({s['lo']:.3f}-{s['hi']:.3f})"


def print_table(name: str, res: dict, console: Console) -> None:
    """Rich table of one dataset."""
    table = Table(title=f"{name}: n={res['n']}, events={res['events']}, same 5x3 outer folds")
    for col in ("model", "Harrell C (95% int.)", "Uno C", "IBS", "s"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, r in res["rows"].items():
        mark = " *" if model == f"ours: {res['selected']}" else ""
        secs = f"{r['seconds']:.0f}" if r.get("seconds") is not None else ""
        table.add_row(model + mark, _cell(r.get("harrell_c")), _cell(r.get("uno_c")),
                      _cell(r.get("ibs")), secs)
    console.print(table)
    verdict = "MEETS" if res["meets_target"] else "MISSES"
    console.print(f"{name}: selected {res['selected']} vs best peer {res['best_peer']}: "
                  f"gap {res['gap']:+.4f} -> {verdict} target (within {TARGET_GAP})")


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merge(base[key], value) if both else value
    return out


def train_params(path: Path, override: Path | None) -> TrainParams:
    """The ``train:`` params, with an optional YAML fragment merged in."""
    params = load_params(path).train
    if override is None:
        return params
    extra = load_yaml(override).get("train", {})
    return TrainParams.model_validate(_merge(params.model_dump(), extra))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--override", type=Path, default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    params = train_params(args.params, args.override)
    console, started, results = Console(), time.perf_counter(), {}
    for name in args.datasets:
        results[name] = run_dataset(name, params, args.folds, args.repeats, args.seed)
        print_table(name, results[name], console)
    total = time.perf_counter() - started
    console.print(f"total wall time {total:.0f} s (n_jobs={params.n_jobs}, tuning "
                  f"{params.tuning.n_trials} trials x {params.tuning.inner_folds} inner folds)")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "wall_s": total}, indent=1,
                                        default=str))


if __name__ == "__main__":
    main()

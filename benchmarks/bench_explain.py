"""Benchmark of the SHAP explanation layer (issue 5 targets).

Usage: ``python benchmarks/bench_explain.py [--patients 10000] [--features 60] [--trees 300]
[--depth 4] [--threads 2] [--seed 1] [--json PATH]``.

A survival:cox xgboost model (300 trees, depth 4) is trained on simulated data with 10 % missing
values; then we time:

- one patient: ``tree_shap`` on a prepared explainer, median of 50 calls (target < 50 ms), plus
  the one-off cost of preparing the explainer and the grouped + tidy table for that patient;
- cohort: ``tree_shap`` for all patients (target < 30 s), grouping and global importance;
- for comparison xgboost's own float32 ``pred_contribs`` and ``linear_shap`` on the same matrix.

Additivity (base + sum SHAP = margin) is checked on every result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.explain import (  # noqa: E402
    check_additivity,
    global_importance,
    group_by_variable,
    linear_shap,
    make_tree_explainer,
    tree_shap,
)
from models.explain_text import tidy  # noqa: E402

ONE_PATIENT_TARGET_S = 0.050
COHORT_TARGET_S = 30.0


def _simulate(rng: np.random.Generator, n: int, p: int) -> tuple[pd.DataFrame, np.ndarray]:
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"x{j:02d}" for j in range(p)])
    log_hazard = 0.8 * X["x00"] - 0.5 * X["x01"] + 0.3 * X["x02"] ** 2 + 0.2 * X["x03"] * X["x04"]
    X = X.mask(rng.random((n, p)) < 0.10)
    time_ = rng.exponential(24.0 * np.exp(-log_hazard.to_numpy()))
    censor = rng.uniform(6, 60, n)
    label = np.where(time_ <= censor, np.minimum(time_, censor), -censor)
    return X, label


def _timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def run(args: argparse.Namespace) -> dict[str, float]:
    rng = np.random.default_rng(args.seed)
    X, label = _simulate(rng, args.patients, args.features)
    params = {
        "objective": "survival:cox",
        "max_depth": args.depth,
        "eta": 0.05,
        "nthread": args.threads,
        "seed": args.seed,
    }
    booster, train_s = _timed(xgb.train, params, xgb.DMatrix(X, label=label), args.trees)
    prepared, prepare_s = _timed(make_tree_explainer, booster)
    # group columns in pairs, as one-hot / missing-indicator columns are grouped in the project
    variable_of = {c: f"v{int(c[1:]) // 2:02d}" for c in X.columns}

    one = X.iloc[[7]]
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        single = tree_shap(prepared, one)
        times.append(time.perf_counter() - start)
    check_additivity(single)
    start = time.perf_counter()
    grouped_one = group_by_variable(tree_shap(prepared, one), variable_of)
    table = tidy(grouped_one, None, None, top_k=10, outcome="pfs")
    one_with_table_s = time.perf_counter() - start
    _, cold_s = _timed(tree_shap, booster, one)

    cohort, cohort_s = _timed(tree_shap, prepared, X)
    cohort_gap = check_additivity(cohort)
    grouped, group_s = _timed(group_by_variable, cohort, variable_of)
    check_additivity(grouped)
    _, importance_s = _timed(global_importance, grouped)
    dm = xgb.DMatrix(X)
    contribs, contribs_s = _timed(lambda: booster.predict(dm, pred_contribs=True))
    float32_gap = float(
        np.abs(contribs.sum(axis=1) - booster.predict(dm, output_margin=True)).max()
    )
    filled = X.fillna(0.0)
    linear, linear_s = _timed(
        linear_shap, rng.normal(size=args.features), 0.1, filled, filled.mean().to_numpy()
    )
    check_additivity(linear)
    assert len(table) == 10
    return {
        "patients": args.patients,
        "features": args.features,
        "trees": args.trees,
        "depth": args.depth,
        "threads": args.threads,
        "train_s": train_s,
        "prepare_explainer_s": prepare_s,
        "one_patient_median_s": statistics.median(times),
        "one_patient_p95_s": float(np.quantile(times, 0.95)),
        "one_patient_with_grouping_and_tidy_s": one_with_table_s,
        "one_patient_cold_incl_prepare_s": cold_s,
        "cohort_tree_shap_s": cohort_s,
        "cohort_max_additivity_gap": cohort_gap,
        "group_by_variable_s": group_s,
        "global_importance_s": importance_s,
        "xgboost_pred_contribs_float32_s": contribs_s,
        "xgboost_float32_additivity_gap": float32_gap,
        "cohort_linear_shap_s": linear_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    figures = run(args)
    for key, value in figures.items():
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        print(f"{key:42s} {text}")  # noqa: T201 (benchmark output)
    one_ok = figures["one_patient_median_s"] < ONE_PATIENT_TARGET_S
    cohort_ok = figures["cohort_tree_shap_s"] < COHORT_TARGET_S
    print(f"target one patient < 50 ms: {'met' if one_ok else 'MISSED'}")  # noqa: T201
    print(f"target cohort < 30 s: {'met' if cohort_ok else 'MISSED'}")  # noqa: T201
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

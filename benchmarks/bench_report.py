"""Benchmark of the explain stage (issue 5 targets) on real trained models.

Usage: ``python benchmarks/bench_report.py [--patients 1000] [--cohort 10000] [--trees 400]
[--json PATH]``.

Builds a small real pipeline in a temporary folder (simulated cohort -> features -> calibrated
xgboost response model, xgboost Cox PFS and OS models, ``--trees`` trees of depth 3), then times:

- SHAP for one patient: :func:`explain_rows` (design, TreeSHAP, grouping, additivity check) for the
  PFS model, median of 50 calls (target < 50 ms);
- one patient report end to end: build + render + write from a loaded context, median of 10
  (target < 1 s), and the cold path :func:`explain_patient` (loading models and cohort too, with
  the positivity model cached by the stage);
- cohort SHAP for ``--cohort`` patients (rows resampled from the cohort) for each endpoint
  (target < 30 s for 10,000 patients, all three endpoints together).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "explain_stage"))

from explain_pipeline import build_pipeline  # noqa: E402

from models import XGBCoxSurvival, XGBResponseClassifier  # noqa: E402
from pipeline.stages.explain import (  # noqa: E402
    explain_patient,
    load_context,
    patient_row,
    write_patient_report,
)
from pipeline.stages.explain_shap import explain_rows  # noqa: E402

ONE_PATIENT_SHAP_TARGET_S = 0.050
ONE_REPORT_TARGET_S = 1.0
COHORT_SHAP_TARGET_S = 30.0


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):  # timing loop
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _specs(trees: int) -> dict:
    tree = {"n_estimators": trees, "max_depth": 3, "early_stopping_rounds": None, "n_jobs": 2}
    return {
        "response": ("xgb", XGBResponseClassifier(**tree, calibration_folds=3)),
        "pfs": ("xgb_cox", XGBCoxSurvival(**tree)),
        "os": ("xgb_cox", XGBCoxSurvival(**tree)),
    }


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, print the figures and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--cohort", type=int, default=10_000)
    parser.add_argument("--trees", type=int, default=400)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        files = build_pipeline(root, args.patients, seed=1, specs=_specs(args.trees))
        setup = time.perf_counter() - start
        cache = files.metrics_file.parent / "shap" / "positivity.json"  # as the stage leaves it
        ctx = load_context(files.features_file, files.models_dir, files.metrics_file,
                           positivity_cache=cache, write_cache=True)
        pid = str(ctx.cohort["patient_id"].iloc[0])
        row = patient_row(ctx.cohort, pid)
        pfs = ctx.models["pfs"]
        explain_rows(pfs, row)  # warm-up
        one_shap = _median_time(lambda: explain_rows(pfs, row), 50)
        out = root / "reports" / "patients" / "bench.html"
        write_patient_report(ctx, pid, out)  # warm-up
        one_report = _median_time(lambda: write_patient_report(ctx, pid, out), 10)
        cold_report = _median_time(lambda: explain_patient(
            pid, files.features_file, files.models_dir, files.metrics_file, out), 3)
        rng = np.random.default_rng(0)
        big = ctx.cohort.iloc[rng.integers(0, len(ctx.cohort), args.cohort)]
        big = big.reset_index(drop=True)
        cohort_s = {}
        for name, em in ctx.models.items():  # loop over endpoints
            start = time.perf_counter()
            explain_rows(em, big)
            cohort_s[name] = time.perf_counter() - start
    figures = {
        "setup_s": setup,
        "patients_trained": args.patients,
        "trees": args.trees,
        "one_patient_shap_pfs_s": one_shap,
        "one_patient_report_warm_s": one_report,
        "one_patient_report_cold_s": cold_report,
        "cohort_rows": args.cohort,
        "cohort_shap_s": cohort_s,
        "cohort_shap_total_s": sum(cohort_s.values()),
    }
    rows = [
        ("SHAP one patient (PFS, grouped, checked)", one_shap, ONE_PATIENT_SHAP_TARGET_S),
        ("patient report, loaded models", one_report, ONE_REPORT_TARGET_S),
        ("patient report, cold (load + build)", cold_report, None),
        (f"cohort SHAP {args.cohort} rows, 3 endpoints", figures["cohort_shap_total_s"],
         COHORT_SHAP_TARGET_S),
    ]
    print(f"setup (simulate {args.patients}, features, train {args.trees} trees): {setup:.1f} s")  # noqa: T201
    for label, seconds, target in rows:
        verdict = "" if target is None else (" OK" if seconds < target else " OVER TARGET")
        tgt = "" if target is None else f" (target < {target:g} s)"
        print(f"{label}: {seconds * 1000:.1f} ms{tgt}{verdict}")  # noqa: T201
    print("cohort SHAP per endpoint: " + ", ".join(  # noqa: T201
        f"{k} {v:.2f} s" for k, v in cohort_s.items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()

"""Benchmark: validate a large raw export; prints wall times and peak RSS.

Usage: ``.venv/bin/python benchmarks/bench_validate.py [--n 100000] [--raw DIR]``.
Without ``--raw`` a messy cohort of ``--n`` patients is simulated first (``features.simulate``;
a crude synthetic export if the simulator is absent); validation then runs in a fresh child
process so its peak RSS is measured alone.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_raw(n: int, folder: Path, seed: int = 42) -> float:
    """Write a messy raw export of ``n`` patients into ``folder``; return seconds taken."""
    t0 = time.perf_counter()
    try:
        import yaml

        from features.simulate import DEFAULT_PARAMETERS, simulate_cohort, write_cohort
    except ImportError:  # pragma: no cover - fallback when the simulator is absent
        _synthetic(n, folder, np.random.default_rng(seed))
        return time.perf_counter() - t0
    parameters = yaml.safe_load(DEFAULT_PARAMETERS.read_text(encoding="utf-8"))
    cohort = simulate_cohort(parameters, n, np.random.default_rng(seed), messy=True)
    write_cohort(cohort, folder, folder.parent / "truth")
    return time.perf_counter() - t0


def _synthetic(n: int, folder: Path, rng: np.random.Generator) -> None:  # pragma: no cover
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.char.mod("ID%07d", np.arange(n))
    dx = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 2000, n), "D")
    pd.DataFrame({"patient_id": ids, "centre_id": "C1", "sex": rng.choice(["F", "M"], n),
                  "birth_year": rng.integers(1930, 1990, n), "diagnosis_date": dx,
                  "primary_site": "pancreas", "functional_syndrome": 0, "ecog": 1,
                  "last_contact_date": dx + pd.Timedelta(days=3000), "death_date": pd.NaT}
                 ).to_csv(folder / "patients.csv", index=False)
    m = 25 * n
    pid = rng.integers(0, n, m)
    pd.DataFrame({"patient_id": ids[pid], "date": dx[pid] + pd.Timedelta(days=10),
                  "analyte": "cga", "value": rng.gamma(2, 50, m), "unit": "ng/mL"}
                 ).drop_duplicates(["patient_id", "date"]).to_csv(folder / "labs.csv", index=False)
    for name, cols in {
        "pathology": "patient_id,sample_date,specimen,ki67_percent,differentiation",
        "treatments": "patient_id,line,therapy,start_date,end_date,cycles,"
                      "cumulative_activity_gbq,dose_mg",
        "imaging_studies": "study_id,patient_id,date,modality,tracer,liver_suvmean,"
                           "spleen_suvmean,liver_volume_ml",
        "lesions": "study_id,lesion_id,organ,suvmax,suvmean,volume_ml,longest_diameter_mm",
        "assessments": "patient_id,date,treatment_line,recist_response,progression",
    }.items():
        (folder / f"{name}.csv").write_text(cols + "\n")


def _cpu_s() -> float:
    """User + system CPU seconds of this process (robust to other load on the machine)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def validate_only(raw: Path) -> None:
    """Child process: validate ``raw`` into a temp folder and print the figures."""
    from pipeline.stages.validate import run

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "validated"
        t0, c0 = time.perf_counter(), _cpu_s()
        report = run(raw, out, Path(tmp) / "quarantine", out / "validation_report.json",
                     b"bench-key-" * 4, demo_key=False)
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tot = report["totals"]
    load = os.getloadavg()[0]
    print(f"validate_s={wall:.2f} validate_cpu_s={cpu:.2f} load_avg_1min={load:.1f} "  # noqa: T201
          f"validate_peak_rss_mib={rss:.0f} rows_in={tot['rows_in']} "
          f"rows_valid={tot['rows_valid']} rows_quarantined={tot['rows_quarantined']}")


def main() -> None:
    """Parse arguments, build the raw export if needed, validate in a child process."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--raw", type=Path, default=None)
    ap.add_argument("--only-validate", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.only_validate:
        validate_only(args.raw)
        return
    with tempfile.TemporaryDirectory() as tmp:
        raw = args.raw
        if raw is None:
            raw = Path(tmp) / "raw"
            sim = make_raw(args.n, raw)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"patients={args.n} simulate_s={sim:.2f} simulate_peak_rss_mib={rss:.0f}")  # noqa: T201
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--raw", str(raw), "--only-validate"],
                       check=True, stderr=subprocess.DEVNULL)
        print(f"validate_process_s={time.perf_counter() - t0:.2f}")  # noqa: T201


if __name__ == "__main__":
    main()

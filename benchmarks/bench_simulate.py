"""Benchmark: simulate AND write a real-world cohort; prints wall time and peak RSS.

Usage: ``.venv/bin/python benchmarks/bench_simulate.py [--n 100000] [--messy]``.
Run under ``/usr/bin/time -v`` for an independent peak-RSS figure.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.simulate import DEFAULT_PARAMETERS, simulate_cohort, write_cohort  # noqa: E402


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--messy", action="store_true")
    args = ap.parse_args()
    parameters = yaml.safe_load(DEFAULT_PARAMETERS.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    cohort = simulate_cohort(parameters, args.n, np.random.default_rng(args.seed), messy=args.messy)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_cohort(cohort, Path(tmp) / "raw", Path(tmp) / "truth")
        size = sum(p.stat().st_size for p in paths.values())
    t2 = time.perf_counter()
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = {k: len(v) for k, v in cohort.tables.items()}
    print(f"patients={args.n} messy={args.messy}")  # noqa: T201
    print(f"simulate_s={t1 - t0:.2f} write_s={t2 - t1:.2f} total_s={t2 - t0:.2f}")  # noqa: T201
    print(f"peak_rss_mib={rss_mib:.0f} csv_mib={size / 2**20:.0f}")  # noqa: T201
    print("rows " + " ".join(f"{k}={v}" for k, v in rows.items()))  # noqa: T201


if __name__ == "__main__":
    main()

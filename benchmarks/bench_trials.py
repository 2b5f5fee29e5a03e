"""Benchmark: replicate every published trial over 5 seeds; print simulated vs published.

Usage: ``.venv/bin/python benchmarks/bench_trials.py [--n-patients 2000] [--seeds 5]
[--trials netter1,clarinet] [--json out.json]``. Calls the ``netoutcomes simulate-trials`` stage
once per seed (each writes its own trials.json / trials.md into a temporary folder) and prints
one row per endpoint: published (95 % CI), the simulated mean and range over the seeds, and in
how many seeds the endpoint agrees (inside the published CI, or within 20 % where none is given).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.stages.simulate import run_trials  # noqa: E402


def _fmt(v: float | None, endpoint: str) -> str:
    if v is None:
        return "NE"
    if not np.isfinite(v):
        return "NR"
    return f"{100 * v:.1f}%" if endpoint in ("orr", "pfs_at") else f"{v:.2f}"


def summarise(per_seed: list[list[dict]]) -> list[dict]:
    """One row per endpoint: published, simulated mean/min/max over seeds, seeds agreeing."""
    out = []
    for rows in zip(*per_seed, strict=True):
        values = np.array([r["simulated"] for r in rows], dtype=float)
        first = rows[0]
        out.append({
            **{k: first[k] for k in ("trial", "label", "endpoint", "description", "published",
                                     "published_lo", "published_hi")},
            "simulated_mean": float(np.nanmean(values)) if np.isfinite(values).any() else None,
            "simulated_min": float(np.nanmin(values)) if np.isfinite(values).any() else None,
            "simulated_max": float(np.nanmax(values)) if np.isfinite(values).any() else None,
            "seeds_agreeing": int(sum(r["agrees"] for r in rows)),
            "seeds": len(rows),
        })
    return out


def print_table(summary: list[dict]) -> None:
    """The summary as a Markdown table on stdout."""
    print("| trial | endpoint | published (95 % CI) | simulated mean [min-max] | seeds ok |")  # noqa: T201
    print("|---|---|---|---|---|")  # noqa: T201
    last = None
    for r in summary:
        e = r["endpoint"]
        ci = ("(no CI: +-20 %)" if r["published_lo"] is None and r["published_hi"] is None
              else f"({_fmt(r['published_lo'], e)}-{_fmt(r['published_hi'], e)})")
        trial = r["trial"] if r["trial"] != last else ""
        last = r["trial"]
        print(f"| {trial} | {r['description']} | {_fmt(r['published'], e)} {ci} | "  # noqa: T201
              f"{_fmt(r['simulated_mean'], e)} [{_fmt(r['simulated_min'], e)}-"
              f"{_fmt(r['simulated_max'], e)}] | {r['seeds_agreeing']}/{r['seeds']} |")
    all_ok = sum(r["seeds_agreeing"] == r["seeds"] for r in summary)
    print(f"\n{all_ok} of {len(summary)} endpoints agree in every seed")  # noqa: T201


def main() -> None:
    """Run the benchmark and print the table and timings."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-patients", type=int, default=2000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    names = args.trials.split(",") if args.trials else None
    per_seed, times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            per_seed.append(run_trials(Path(tmp) / str(seed), n_patients=args.n_patients,
                                       seed=seed, trials=names))
            times.append(time.perf_counter() - t0)
    summary = summarise(per_seed)
    print_table(summary)
    print(f"n_patients_per_trial={args.n_patients} seeds={args.seeds} "  # noqa: T201
          f"seconds_per_seed={np.mean(times):.1f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Benchmark of the feature stage: wall time and peak RSS for a large validated-like cohort.

Usage: ``python benchmarks/bench_features.py [--patients 100000] [--seed 1]``. The dataset is
generated here with numpy (validated form: canonical units, datetime64[ns] dates, pseudonyms), so
the benchmark does not depend on the simulator. Peak RSS is the process maximum
(``resource.getrusage``), generation included.
"""

from __future__ import annotations

import argparse
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.build import build_features  # noqa: E402
from features.index import FeatureConfig  # noqa: E402

ANALYTES = np.array(["cga", "alp", "albumin", "neutrophils", "lymphocytes", "platelets",
                     "haemoglobin", "creatinine", "bilirubin", "nse", "5hiaa", "ppi_use"])
THERAPIES = np.array(["prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy",
                      "liver_directed", "surgery"])
ORGANS = np.array(["liver", "lymph_node", "bone", "lung", "peritoneum", "primary", "other"])
MEDIANS = np.array([150.0, 100.0, 40.0, 4.0, 1.8, 250.0, 13.0, 80.0, 8.0, 12.0, 50.0, 0.0])
RESPONSES = np.array(["CR", "PR", "SD", "PD", "NE"])


def _days(base: np.ndarray, offset: np.ndarray) -> np.ndarray:
    return (base + offset.astype("timedelta64[D]")).astype("datetime64[ns]")


def make_dataset(n: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Validated-like tables for ``n`` patients (about 48 lab rows and 20 lesions per patient)."""
    pid = np.array([f"P{i:016x}" for i in range(n)], dtype=object)
    diag = np.datetime64("2010-01-01") + rng.integers(0, 3650, n).astype("timedelta64[D]")
    patients = pd.DataFrame({
        "patient_id": pid, "centre_id": rng.choice(["C1", "C2", "C3", "C4"], n),
        "sex": rng.choice(["F", "M"], n), "birth_year": rng.integers(1935, 1990, n),
        "diagnosis_date": diag.astype("datetime64[ns]"),
        "primary_site": rng.choice(["pancreas", "small_intestine", "lung", "unknown"], n),
        "functional_syndrome": rng.integers(0, 2, n), "ecog": rng.integers(0, 3, n).astype(float),
        "last_contact_date": _days(diag, rng.integers(1500, 4000, n)),
        "death_date": np.where(rng.random(n) < 0.4, _days(diag, rng.integers(1400, 3900, n)),
                               np.datetime64("NaT")).astype("datetime64[ns]"),
    })
    n_lines = 3
    tp = np.repeat(pid, n_lines)
    line = np.tile(np.arange(1, n_lines + 1), n)
    start_off = np.repeat(rng.integers(30, 200, n), n_lines) + (line - 1) * 400
    start = _days(np.repeat(diag, n_lines), start_off)
    therapy = THERAPIES[rng.integers(0, len(THERAPIES), n * n_lines)]
    therapy[line == n_lines] = THERAPIES[rng.integers(0, 5, n)]  # last line: an index therapy
    treatments = pd.DataFrame({
        "patient_id": tp, "line": line, "therapy": therapy, "start_date": start,
        "end_date": start + np.timedelta64(180, "D"), "cycles": 4.0,
        "cumulative_activity_gbq": np.where(therapy == "prrt_lu177", 29.6, np.nan),
        "dose_mg": np.nan,
    })
    index_date = start.reshape(n, n_lines)[:, -1]
    # labs: 4 draws of each of 12 analytes in the year before the last line (ppi_use: 0)
    k = 4 * len(ANALYTES)
    labs = pd.DataFrame({
        "patient_id": np.repeat(pid, k),
        "date": _days(np.repeat(index_date, k), -rng.integers(0, 365, n * k)),
        "analyte": np.tile(np.repeat(ANALYTES, 4), n),
        "value": np.tile(np.repeat(MEDIANS, 4), n)
        * rng.lognormal(0.0, 0.3, n * k).clip(0.5, 1.6),
        "unit": "canonical",
    })
    path = pd.DataFrame({
        "patient_id": np.repeat(pid, 2),
        "sample_date": _days(np.repeat(diag, 2), np.tile([0, 300], n)),
        "specimen": np.tile(["primary", "metastasis"], n),
        "ki67_percent": rng.lognormal(1.5, 0.8, 2 * n).clip(0.5, 80.0),
        "differentiation": "well", "sstr2_ihc": np.nan, "egfr_ihc": np.nan, "cmet_ihc": np.nan,
        "igf1r_ihc": np.nan, "daxx_atrx_loss": np.nan,
    })
    mods = np.array(["sstr_pet", "fdg_pet", "ct", "ct", "mri"])
    s = len(mods)
    sid = np.array([f"S{i:09d}" for i in range(n * s)], dtype=object)
    studies = pd.DataFrame({
        "study_id": sid, "patient_id": np.repeat(pid, s),
        "date": _days(np.repeat(index_date, s), -rng.integers(0, 300, n * s)),
        "modality": np.tile(mods, n), "tracer": None, "liver_suvmean": rng.uniform(4, 8, n * s),
        "spleen_suvmean": rng.uniform(15, 25, n * s),
        "liver_volume_ml": rng.uniform(1200, 2000, n * s),
    })
    m = 4
    lesions = pd.DataFrame({
        "study_id": np.repeat(sid, m), "lesion_id": np.tile(["L1", "L2", "L3", "L4"], n * s),
        "organ": ORGANS[rng.integers(0, len(ORGANS), n * s * m)],
        "suvmax": rng.lognormal(3.0, 0.6, n * s * m),
        "suvmean": rng.lognormal(2.5, 0.6, n * s * m),
        "volume_ml": rng.lognormal(3.0, 1.0, n * s * m),
        "longest_diameter_mm": rng.lognormal(3.0, 0.5, n * s * m),
    })
    a = 4
    assessments = pd.DataFrame({
        "patient_id": np.repeat(pid, a),
        "date": _days(np.repeat(index_date, a), np.tile([90, 180, 270, 360], n)),
        "treatment_line": n_lines, "recist_response": RESPONSES[rng.integers(0, 5, n * a)],
        "progression": rng.integers(0, 2, n * a),
    })
    return {"patients": patients, "treatments": treatments, "labs": labs, "pathology": path,
            "imaging_studies": studies, "lesions": lesions, "assessments": assessments}


def simulate_tables(n: int, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Clean tables from ``features.simulate`` (dates are already datetime64 there)."""
    import yaml  # benchmarks are scripts, not library code

    from features.simulate import DEFAULT_PARAMETERS, simulate_cohort

    parameters = yaml.safe_load(Path(DEFAULT_PARAMETERS).read_text(encoding="utf-8"))
    return simulate_cohort(parameters, n, rng, messy=False).tables


def _generate(args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(args.seed)
    if args.source == "simulate":
        return simulate_tables(args.patients, rng)
    return make_dataset(args.patients, rng)


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    """Generate the dataset, run ``build_features`` once and report wall time and peak RSS.

    Default (stage-like): a child process generates the tables and writes them as Parquet; this
    process reads them and builds the features, so its peak RSS is that of the feature stage.
    ``--in-process`` generates in this process instead (peak RSS then includes generation).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", choices=["synthetic", "simulate"], default="synthetic",
                        help="numpy generator here, or features.simulate (clean export)")
    parser.add_argument("--policy", choices=["latest", "all"], default="latest")
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--write", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.write is not None:  # child: generate and write Parquet
        for name, frame in _generate(args).items():
            frame.to_parquet(args.write / f"{name}.parquet", index=False)
        return
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if args.in_process:
            tables = _generate(args)
            t_gen = time.perf_counter() - t0
        else:
            cmd = [sys.executable, __file__, "--write", tmp, "--patients", str(args.patients),
                   "--seed", str(args.seed), "--source", args.source]
            subprocess.run(cmd, check=True)
            t_gen = time.perf_counter() - t0
            t_read = time.perf_counter()
            tables = {p.stem: pd.read_parquet(p) for p in sorted(Path(tmp).glob("*.parquet"))}
            t_gen_read = time.perf_counter() - t_read
    rss_before = _peak_rss_gib()
    rows = {name: len(frame) for name, frame in tables.items()}
    t1 = time.perf_counter()
    cohort, dictionary = build_features(tables, FeatureConfig(index_line_policy=args.policy))
    wall = time.perf_counter() - t1
    mode = "in-process generation" if args.in_process else (
        f"generated in a child process, Parquet read {t_gen_read:.1f} s")
    sys.stdout.write(
        f"source: {args.source}, policy: {args.policy}, {mode}\n"
        f"rows in: {rows} ({sum(rows.values()):,} in all)\n"
        f"generation: {t_gen:.1f} s; peak RSS before build {rss_before:.2f} GiB\n"
        f"build_features: {wall:.1f} s wall for {len(cohort)} predictions x {cohort.shape[1]} "
        f"columns ({len(dictionary['features'])} dictionary entries)\n"
        f"peak RSS of this process: {_peak_rss_gib():.2f} GiB\n"
    )


if __name__ == "__main__":
    main()

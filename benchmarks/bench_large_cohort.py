"""Benchmark: the whole pipeline (``dvc repro``, MLflow tracking) on a large cohort.

Usage: ``.venv/bin/python benchmarks/bench_large_cohort.py [--n-patients 5000] [--keep]``.

The project's tracked files (``git ls-files``, so nothing under ``data/`` beyond what git
tracks, plus the working-tree version of ``params-large.yaml`` and this script) are copied into
a fresh temporary directory, which is made a git repository (DVC needs one). ``params.yaml`` is
copied as it is; the large-cohort overlay (``--overlay``, default ``params-large.yaml``; none
with ``--no-overlay``) is written there as ``bench-overlay.yaml`` (``--n-patients`` overrides
``simulate.n_patients`` in it, for a quick smoke run) and named by ``NETOUTCOMES_PARAMS_OVERLAY``,
so every stage reads the merged tree (``python -m pipeline.params --merged``). ``dvc repro
--force`` runs there with ``MLFLOW_TRACKING_URI=sqlite:///mlflow.db``. Printed: total wall time,
wall time per stage (from the ``Running stage 'x'`` lines DVC streams), peak memory of the whole
process tree (sum of the RSS of ``dvc`` and all its descendants, sampled every 0.2 s) and the
validated metrics of ``reports/metrics.json``. Exits non-zero when the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

from pipeline.params import OVERLAY_ENV, deep_merge, read_tree

ROOT = Path(__file__).resolve().parents[1]
STAGE_RE = re.compile(r"Running stage '([^']+)'")
GIB = 1024**3


OVERLAY_FILE = "bench-overlay.yaml"  # in the copy, named by NETOUTCOMES_PARAMS_OVERLAY


def overlay_tree(overlay: Path | None, n_patients: int | None) -> dict | None:
    """The overlay the copy runs with: ``overlay`` with ``simulate.n_patients`` set, or None."""
    tree = read_tree(overlay) if overlay is not None else {}
    if n_patients is not None:
        tree.setdefault("simulate", {})["n_patients"] = int(n_patients)
    return tree or None


def copy_project(dest: Path, overlay: dict | None) -> Path | None:
    """Copy the tracked files of the project into ``dest`` and commit them in a new git repo.

    Returns the overlay file written in the copy (None: the copy runs on ``params.yaml`` alone).
    """
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    extra = ["params-large.yaml", "benchmarks/bench_large_cohort.py"]
    for rel in sorted({p for p in listed if p} | set(extra)):
        src = ROOT / rel
        if not src.is_file():  # deleted in the working tree, or a submodule
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    overlay_file = None
    if overlay is not None:
        overlay_file = dest / OVERLAY_FILE
        overlay_file.write_text(yaml.safe_dump(overlay, sort_keys=False), encoding="utf-8")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-qm", "bench"], cwd=dest, check=True)
    if not (dest / ".dvc").is_dir():
        subprocess.run(["dvc", "init", "-q"], cwd=dest, check=True)
    return overlay_file


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in members:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def run_repro(workdir: Path, env: dict[str, str], log_file: Path) -> dict:
    """Run ``dvc repro --force`` in ``workdir``; stream its output; return timings, peak memory."""
    t0 = time.perf_counter()
    # --force: DVC hashes params.yaml only, not the overlay
    proc = subprocess.Popen(["dvc", "repro", "--force"], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    ps = psutil.Process(proc.pid)
    peak = {"rss": 0, "at": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss = _tree_rss(ps)
            if rss > peak["rss"]:
                peak["rss"], peak["at"] = rss, time.perf_counter() - t0
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    starts: list[tuple[str, float]] = []
    with log_file.open("w", encoding="utf-8") as log:
        assert proc.stdout is not None
        for line in proc.stdout:
            now = time.perf_counter() - t0
            log.write(f"[{now:8.1f}s] {line}")
            log.flush()
            m = STAGE_RE.search(line)
            if m:
                starts.append((m.group(1), now))
                print(f"  [{now:7.1f}s] stage {m.group(1)}", flush=True)
    rc = proc.wait()
    total = time.perf_counter() - t0
    done.set()
    sampler.join()
    stages = {}
    for i, (name, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else total
        stages[name] = end - start
    return {"rc": rc, "total_s": total, "stages": stages, "peak_gib": peak["rss"] / GIB,
            "peak_at_s": peak["at"]}


def print_metrics(metrics_file: Path) -> None:
    """Validated metrics of each endpoint: C-index / AUC with interval and the oracle ratio."""
    if not metrics_file.exists():
        print("no reports/metrics.json")
        return
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    for name, block in metrics.items():
        key = "auc" if "auc" in block["metrics"] else "harrell_c"
        m = block["metrics"].get(key, {})
        line = (f"  {name:9s} {block['selected_model']:16s} n={block['n']:<7} {key} "
                f"{m.get('mean', float('nan')):.3f} ({m.get('lo', float('nan')):.3f}-"
                f"{m.get('hi', float('nan')):.3f})")
        if "uno_c" in block["metrics"]:
            line += f"  uno_c {block['metrics']['uno_c']['mean']:.3f}"
        if "oracle" in block:
            o = block["oracle"]
            line += (f"  oracle {o['oracle']['mean']:.3f}  ratio {o['ratio']['mean']:.3f} "
                     f"({o['ratio']['lo']:.3f}-{o['ratio']['hi']:.3f})")
        print(line)
        print(f"            validation: {block['validation']}; candidates: "
              + ", ".join(f"{c}={next(iter(v.values())).get('mean', float('nan')):.3f}"
                          for c, v in block["candidates"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-patients", type=int, default=None,
                    help="override simulate.n_patients (e.g. 5000 for a smoke run)")
    ap.add_argument("--overlay", type=Path, default=ROOT / "params-large.yaml",
                    help="params overlay merged over params.yaml (default: params-large.yaml)")
    ap.add_argument("--no-overlay", action="store_true",
                    help="run on params.yaml alone (the default 1,000-patient run)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="run here (must not exist) instead of a fresh temp directory")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = ap.parse_args(argv)

    if args.workdir is not None:
        workdir = args.workdir.resolve()
        workdir.mkdir(parents=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="netoutcomes-bench-"))
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ)
    env.update({"PATH": f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
                "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db", "DVC_NO_ANALYTICS": "1",
                "MPLBACKEND": "Agg"})
    env.pop("VIRTUAL_ENV", None)
    # the venv's editable install maps `pipeline`, `models`, `features` to this checkout; put the
    # copy first on the path so the stages run the copied code (the one DVC hashed)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(workdir), env.get("PYTHONPATH")) if p)
    os.environ["PATH"] = env["PATH"]  # so the `dvc init` of copy_project finds the venv's dvc
    overlay = overlay_tree(None if args.no_overlay else args.overlay, args.n_patients)
    n_desc = deep_merge(read_tree(ROOT / "params.yaml"), overlay or {},
                        overlay_file=OVERLAY_FILE)["simulate"]["n_patients"]
    name = "params.yaml" if args.no_overlay else f"params.yaml + {args.overlay.name}"
    print(f"bench_large_cohort: {n_desc} patients, params {name}, dir {workdir}")
    print(f"cores: {os.cpu_count()}, memory: {psutil.virtual_memory().total / GIB:.1f} GiB")
    try:
        overlay_file = copy_project(workdir, overlay)
        if overlay_file is not None:
            env[OVERLAY_ENV] = str(overlay_file)
        else:
            env.pop(OVERLAY_ENV, None)
        res = run_repro(workdir, env, workdir / "repro.log")
        print(f"\ndvc repro: rc {res['rc']}, total wall {res['total_s']:.1f} s "
              f"({res['total_s'] / 60:.1f} min)")
        for name, secs in res["stages"].items():
            print(f"  {name:10s} {secs:8.1f} s")
        print(f"peak memory (process tree RSS): {res['peak_gib']:.2f} GiB "
              f"at {res['peak_at_s']:.0f} s")
        print_metrics(workdir / "reports" / "metrics.json")
        if res["rc"] != 0:
            print("\n--- tail of dvc output ---")
            print("\n".join((workdir / "repro.log").read_text().splitlines()[-40:]))
        return 0 if res["rc"] == 0 else 1
    finally:
        if args.keep or args.workdir is not None:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

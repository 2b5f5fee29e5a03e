"""Latency of the served model: single-patient requests to the scoring server (issue 6 target).

Usage: ``python benchmarks/bench_serving.py [--requests 200] [--patients 1000] [--trees 300]
[--explain] [--json PATH]``.

Trains an ``XGBCoxSurvival`` (PFS) on simulated patients in a throw-away SQLite store, registers
it through ``pipeline.registry`` (models-from-code pyfunc over the native UBJ file), serves
``models:/net-pfs@challenger`` on a free 127.0.0.1 port, then times ``--requests``
single-patient POSTs (each a different patient) after 10 warm-up requests and prints the median
and 95th percentile (target: p95 < 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.design import DesignMatrix  # noqa: E402
from models.survival import XGBCoxSurvival, make_surv  # noqa: E402
from pipeline import registry, serving, tracking  # noqa: E402

DICTIONARY = {"features": [
    {"name": "age_at_index", "dtype": "numeric", "range": [0, 120], "role": "feature"},
    {"name": "ki67_percent", "dtype": "numeric", "range": [0, 100], "role": "feature"},
    {"name": "krenning_score", "dtype": "numeric", "range": [0, 4], "role": "feature"},
    {"name": "cga_log10_uln", "dtype": "numeric", "range": [-2, 3], "role": "feature"},
    {"name": "therapy", "dtype": "categorical", "role": "treatment",
     "categories": ["prrt_lu177", "everolimus", "sunitinib", "ssa"]},
]}


def simulate(n: int, seed: int) -> pd.DataFrame:
    """Synthetic patients with a known log-hazard."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age_at_index": rng.uniform(30, 85, n), "ki67_percent": rng.gamma(2, 5, n).clip(0, 100),
        "krenning_score": rng.integers(0, 5, n).astype(float),
        "cga_log10_uln": rng.normal(0.5, 0.6, n).clip(-2, 3),
        "therapy": rng.choice(["prrt_lu177", "everolimus", "sunitinib", "ssa"], n),
    })
    lp = 0.06 * frame["ki67_percent"] - 0.4 * frame["krenning_score"] + 0.5 * frame["cga_log10_uln"]
    t_event = rng.exponential(1 / (0.04 * np.exp(lp)))
    t_cens = rng.uniform(6, 60, n)
    return frame.assign(time=np.minimum(t_event, t_cens), event=t_event <= t_cens)


def register_model(folder: Path, n: int, trees: int) -> None:
    """Fit, save natively and register the PFS model as ``@challenger``."""
    data = simulate(n, seed=0)
    design = DesignMatrix().fit(data, DICTIONARY)
    model = XGBCoxSurvival(n_estimators=trees, max_depth=4, early_stopping_rounds=None)
    model.fit(design.transform(data), make_surv(data["time"].to_numpy(), data["event"]))
    native = model.save(folder / "native", design=design)
    registry.register_model("pfs", native, "models.survival.XGBCoxSurvival", None, DICTIONARY,
                            horizons_months=(12, 24, 36))


def time_requests(url: str, rows: pd.DataFrame, explain: bool) -> np.ndarray:
    """Seconds per single-patient request."""
    out = []
    for i in range(len(rows)):  # one request per patient is the point of the benchmark
        payload = {"dataframe_records": [rows.iloc[i].to_dict()]}
        if explain:
            payload["params"] = {"explain": True}
        start = time.perf_counter()
        status, body = serving.post_json(url, payload)
        out.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"request {i} failed with HTTP {status}")
    return np.asarray(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--explain", action="store_true", help="ask for SHAP values too")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        tmp_path = Path(tmp)
        os.chdir(tmp_path)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
        tracking.configure("bench-serving", artifact_root=tmp_path / "mlartifacts")
        register_model(tmp_path, args.patients, args.trees)
        port = serving.free_port()
        proc = serving.start_server("models:/net-pfs@challenger", port,
                                    log_file=tmp_path / "server.log")
        try:
            ready = serving.wait_ready(f"http://127.0.0.1:{port}/ping", proc, timeout_s=120)
            url = f"http://127.0.0.1:{port}/invocations"
            rows = simulate(args.requests + 10, seed=1).drop(columns=["time", "event"])
            time_requests(url, rows.head(10), args.explain)  # warm-up
            seconds = time_requests(url, rows.iloc[10:], args.explain)
        finally:
            serving.stop_server(proc)
    ms = seconds * 1000
    result = {"requests": int(ms.size), "explain": args.explain, "trees": args.trees,
              "server_ready_s": round(ready, 2), "median_ms": round(float(np.median(ms)), 2),
              "p95_ms": round(float(np.percentile(ms, 95)), 2),
              "max_ms": round(float(ms.max()), 2), "target_p95_ms": 50.0}
    print(json.dumps(result, indent=2))  # noqa: T201 - benchmark output
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

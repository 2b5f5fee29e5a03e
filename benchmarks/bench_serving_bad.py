"""Latency of good requests while the server is flooded with bad ones (issue 16 acceptance).

Usage: ``python benchmarks/bench_serving_bad.py [--bad 1000] [--good 500] [--clients 4]
[--workers 1] [--trees 300] [--json PATH]``.

Registers an ``XGBCoxSurvival`` (PFS) in a throw-away SQLite store, serves it with
``pipeline.serving_app`` (what ``netoutcomes serve`` runs), then:

1. times ``--good`` single-patient requests alone (baseline);
2. sends ``--bad`` generated bad requests (``tests/mlops/bad_requests.py``: 22 kinds, incl.
   oversized and deeply nested bodies) shuffled with ``--good`` good ones from ``--clients``
   concurrent connections, timing the good ones;
3. checks: no bad request answered 200 or 5xx, every answer strict JSON with finite numbers,
   the server up throughout, good answers identical before and after.

Prints the p50/p95 of the good requests alone and under load (target: p95 under load < 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "mlops"))

from bad_requests import Client, Generator, problems  # noqa: E402

from models.design import DesignMatrix  # noqa: E402
from models.survival import XGBCoxSurvival, make_surv  # noqa: E402
from pipeline import registry, serving, tracking  # noqa: E402
from pipeline.serving_app import ServingSettings  # noqa: E402

DICTIONARY = {"features": [
    {"name": "age_at_index", "dtype": "numeric", "range": [0, 120], "role": "feature"},
    {"name": "ki67_percent", "dtype": "numeric", "range": [0, 100], "role": "feature"},
    {"name": "krenning_score", "dtype": "numeric", "range": [0, 4], "role": "feature"},
    {"name": "cga_log10_uln", "dtype": "numeric", "range": [-2, 3], "role": "feature"},
    {"name": "cga_log_slope_per_month", "dtype": "numeric", "range": [None, None],
     "role": "feature"},
    {"name": "functional_syndrome", "dtype": "binary", "range": [0, 1], "role": "feature"},
    {"name": "therapy", "dtype": "categorical", "role": "treatment",
     "categories": ["prrt_lu177", "everolimus", "sunitinib", "ssa"]},
]}


def simulate(n: int, seed: int) -> pd.DataFrame:
    """Synthetic patients with a known log-hazard."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age_at_index": rng.uniform(30, 85, n).round(1),
        "ki67_percent": rng.gamma(2, 5, n).clip(0, 100).round(1),
        "krenning_score": rng.integers(0, 5, n).astype(float),
        "cga_log10_uln": rng.normal(0.5, 0.6, n).clip(-2, 3).round(3),
        "cga_log_slope_per_month": rng.normal(0, 0.05, n).round(4),
        "functional_syndrome": rng.integers(0, 2, n).astype(float),
        "therapy": rng.choice(["prrt_lu177", "everolimus", "sunitinib", "ssa"], n),
    })
    lp = 0.06 * frame["ki67_percent"] - 0.4 * frame["krenning_score"] + 0.5 * frame["cga_log10_uln"]
    t_event = rng.exponential(1 / (0.04 * np.exp(lp)))
    t_cens = rng.uniform(6, 60, n)
    return frame.assign(time=np.minimum(t_event, t_cens), event=t_event <= t_cens)


def register_model(folder: Path, trees: int) -> None:
    data = simulate(1000, seed=0)
    design = DesignMatrix().fit(data, DICTIONARY)
    model = XGBCoxSurvival(n_estimators=trees, max_depth=4, early_stopping_rounds=None)
    model.fit(design.transform(data), make_surv(data["time"].to_numpy(), data["event"]))
    native = model.save(folder / "native", design=design)
    registry.register_model("pfs", native, "models.survival.XGBCoxSurvival", None, DICTIONARY)


def good_bodies(n: int) -> list[bytes]:
    rows = simulate(n, seed=1).drop(columns=["time", "event"]).to_dict(orient="records")
    return [json.dumps({"dataframe_records": [r]}).encode() for r in rows]


def answers(url: str, bodies: list[bytes]) -> tuple[list[str], np.ndarray]:
    """Answers and seconds of good requests sent one after another."""
    client, texts, secs = Client(url), [], []
    for body in bodies:
        start = time.perf_counter()
        status, text = client.post(body)
        secs.append(time.perf_counter() - start)
        if status != 200:
            raise RuntimeError(f"a good request was answered {status}")
        texts.append(text)
    client.close()
    return texts, np.asarray(secs)


def flood(url: str, work: list, clients: int) -> tuple[list[float], list[str], list[str]]:
    """Send the shuffled mix from ``clients`` connections; good latencies, problems, answers."""
    lock, queue = threading.Lock(), list(enumerate(work))
    good_secs: list[float] = []
    found: list[str] = []
    good_text: dict[int, str] = {}

    def run() -> None:
        client = Client(url)
        while True:
            with lock:
                if not queue:
                    break
                i, (kind, item) = queue.pop()
            if kind == "good":
                start = time.perf_counter()
                status, text = client.post(item)
                elapsed = time.perf_counter() - start
                with lock:
                    good_secs.append(elapsed)
                    good_text[i] = text
                    if status != 200:
                        found.append(f"good request answered {status}")
            else:
                status, text = client.post(item.body, item.content_type)
                issues = problems(item, status, text)
                if issues:
                    with lock:
                        found.extend(issues)
        client.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return good_secs, found, [good_text[i] for i in sorted(good_text)]


def _ms(secs) -> dict[str, float]:
    ms = np.asarray(secs) * 1000
    return {"p50_ms": round(float(np.median(ms)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "max_ms": round(float(ms.max()), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bad", type=int, default=1000)
    parser.add_argument("--good", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serving-bad-") as tmp:
        tmp_path = Path(tmp)
        os.chdir(tmp_path)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
        tracking.configure("bench-serving-bad", artifact_root=tmp_path / "mlartifacts")
        register_model(tmp_path, args.trees)
        port = serving.free_port()
        settings = ServingSettings(model_uri="models:/net-pfs@challenger",
                                   required=("therapy", "age_at_index"))
        proc = serving.start_server("", port, log_file=tmp_path / "server.log",
                                    settings=settings, workers=args.workers)
        try:
            serving.wait_ready(f"http://127.0.0.1:{port}/ping", proc, timeout_s=120)
            base, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/invocations"
            description = json.loads(Client(url).get("/model")[1])
            goods = good_bodies(args.good)
            answers(url, goods[:20])  # warm-up
            before, alone = answers(url, goods)
            gen = Generator(description, json.loads(goods[0])["dataframe_records"][0], seed=1)
            bad = list(gen.cases(args.bad - 10)) + [gen.oversized() for _ in range(10)]
            work = [("good", g) for g in goods] + [("bad", b) for b in bad]
            random.Random(0).shuffle(work)
            start = time.perf_counter()
            loaded, found, during = flood(url, work, args.clients)
            wall = time.perf_counter() - start
            up = proc.poll() is None and Client(base).get("/ping")[0] == 200
            after, _ = answers(url, goods)
        finally:
            serving.stop_server(proc)
    same_during = sorted(during) == sorted(before)
    result = {"bad_requests": len(bad), "good_requests": len(goods), "clients": args.clients,
              "workers": args.workers, "trees": args.trees, "wall_s": round(wall, 2),
              "good_alone": _ms(alone), "good_under_load": _ms(loaded),
              "bad_answers_wrong": len(found), "examples": found[:5], "server_up": up,
              "good_identical_before_after": before == after,
              "good_identical_under_load": same_during, "target_p95_ms": 50.0}
    print(json.dumps(result, indent=2))  # noqa: T201 - benchmark output
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if found or not up or before != after:
        sys.exit(1)


if __name__ == "__main__":
    main()

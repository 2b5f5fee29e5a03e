"""`kill PID` of a real `netoutcomes serve` stops the whole server (the CLI execs uvicorn)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlops_helpers import (
    DICTIONARY,
    FEATURES,
    save_booster_model,
    simulate_cohort,
    store_in,
)

from pipeline import registry, serving

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")]

PROJECT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from /proc)."""
    parent_of = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # zombies are already dead
            parent_of[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, ppid in parent_of.items() if ppid in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@pytest.fixture(scope="module")
def store(tmp_path_factory, empty_store_db):
    """A store with net-pfs v1 @challenger; the serve process runs in this folder."""
    tmp = tmp_path_factory.mktemp("signals")
    with store_in(tmp, empty_store_db, "signals-test") as uri:
        folder = save_booster_model(tmp / "native", "survival", simulate_cohort(300, 4),
                                    rounds=10)
        registry.register_model("pfs", folder, "xgboost.Booster", FEATURES, DICTIONARY,
                                required_fields=())
        yield tmp, uri


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_pid_of_serve_stops_every_process(store, workers):
    tmp, uri = store
    (tmp / "params.yaml").write_text(f"serving:\n  workers: {workers}\n  required: []\n")
    port = serving.free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
           "PYTHONPATH": os.pathsep.join([str(PROJECT), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-c", "from pipeline.cli import app; app()", "serve",
           "--endpoint", "pfs", "--alias", "challenger", "--port", str(port)]
    log = open(tmp / f"serve-{workers}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    tree: set[int] = set()
    try:
        serving.wait_ready(f"http://127.0.0.1:{port}/ping", proc, timeout_s=90)
        tree = _descendants(proc.pid)
        assert len(tree) >= (workers if workers > 1 else 0)
        os.kill(proc.pid, signal.SIGTERM)  # what `kill PID` sends
        assert proc.wait(timeout=30) is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in tree):
            time.sleep(0.2)
        assert not [p for p in tree if _alive(p)], "a server process outlived `kill PID`"
        assert not _answers(f"http://127.0.0.1:{port}/ping")
    finally:
        for pid in [proc.pid, *tree]:  # never leave a server behind, even on failure
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(timeout=10)
        log.close()
    text = (tmp / f"serve-{workers}.log").read_text(errors="replace")
    assert "net-pfs@challenger" in text
    assert "Traceback" not in text

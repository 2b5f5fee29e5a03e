"""`dvc plots show` on the tables evaluate writes: every declared plot found, offline page drawn.

A scratch DVC repository gets the project's ``dvc.yaml``, ``.dvc/config`` (``plots.html_template``)
and ``.dvc/plots`` templates, and the CSVs written by the real ``endpoint_plots`` and
``plot_benefit`` on a small random cohort; real ``dvc plots show`` renders it. The browser test
loads the page in headless Chromium with the network switched off and checks that every chart drew
on its canvas without a console error (skipped only when no Chromium is installed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from clinical.endpoints import endpoint as clinical_endpoint
from models import make_surv
from pipeline.params import EvaluateParams
from pipeline.stages.evaluate_benefit import plot_benefit
from pipeline.stages.evaluate_plots import endpoint_plots
from pipeline.stages.train import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "pipeline" / "report" / "vendor" / "dvc_plots.html"
PLOTS = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["plots"]
N = 300


def _browser_module():
    """tests/report/report_browser.py (the project's Chromium driver), imported by path."""
    name = "report_browser"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, ROOT / "tests" / "report" / "report_browser.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def _benefit_block(rng: np.random.Generator) -> dict:
    rows = [{"group": g, "n_treated": 20, "n_reference": 25, "predicted": p,
             "observed": p + rng.normal(0, 0.03), "lo": p - 0.1, "hi": p + 0.1}
            for g, p in enumerate(np.linspace(-0.05, 0.2, 5), start=1)]
    return {"pairs": {"prrt_lu177": {"calibration_for_benefit": rows},
                      "everolimus": {"calibration_for_benefit": rows[::-1]}}}


def write_evaluate_tables(plots_dir: Path, seed: int = 0) -> None:
    """The DVC tables of evaluate for the three endpoints, from a small random cohort."""
    rng = np.random.default_rng(seed)
    params = EvaluateParams(subgroup_columns=["sex"], subgroup_n_boot=5, subgroup_min_size=20)
    frame = pd.DataFrame({"sex": rng.choice(["female", "male"], N)})
    score = rng.uniform(0.02, 0.6, N)
    pooled = pd.DataFrame({"row": np.arange(N), "score": score})
    y = (rng.uniform(size=N) < score).astype(float)
    endpoint_plots(frame, y, pooled, ENDPOINTS["response"], plots_dir, params, seed)
    plot_benefit({"response": _benefit_block(rng)}, plots_dir / "response",
                 clinical_endpoint("response"), "ssa")
    risk = rng.normal(size=N)
    event_time = rng.exponential(30 * np.exp(-risk))
    censor = rng.uniform(6, 60, N)
    surv_y = make_surv(np.minimum(event_time, censor), event_time <= censor)
    surv = {f"surv_{t}": np.exp(-t / 30 * np.exp(risk)) for t in (12, 24, 36)}
    pooled = pd.DataFrame({"row": np.arange(N), "score": risk, **surv})
    for name in ("pfs", "os"):
        endpoint_plots(frame, surv_y, pooled, ENDPOINTS[name], plots_dir, params, seed)
        plot_benefit({h: _benefit_block(rng) for h in ("12m", "24m")}, plots_dir / name,
                     clinical_endpoint(name), "ssa")


def _dvc(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def shown(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A scratch repository with the project's plot config, and its `dvc plots show` page."""
    root = tmp_path_factory.mktemp("plots_repo")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    assert _dvc(root, "init", "-q").returncode == 0
    shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
    shutil.copy(ROOT / ".dvc" / "config", root / ".dvc" / "config")
    shutil.copytree(ROOT / ".dvc" / "plots", root / ".dvc" / "plots")
    (root / TEMPLATE.relative_to(ROOT)).parent.mkdir(parents=True)
    shutil.copy(TEMPLATE, root / TEMPLATE.relative_to(ROOT))
    write_evaluate_tables(root / "reports" / "plots")
    result = _dvc(root, "plots", "show", "-o", "dvc_plots")
    return root / "dvc_plots" / "index.html", result


def test_every_declared_plot_is_a_table_evaluate_writes(shown):
    page, result = shown
    assert result.returncode == 0, result.stderr
    assert "failed" not in (result.stdout + result.stderr).lower(), result.stderr
    html = page.read_text(encoding="utf-8")
    assert html.count("vegaEmbed('#") == len(PLOTS) == 16


def test_page_is_the_offline_template(shown):
    html = shown[0].read_text(encoding="utf-8")
    assert "cdn.jsdelivr" not in html
    assert "<script src" not in html
    assert "vega-embed 6.29.0" in html  # the inlined build, with its licence notice
    assert "University of Washington Interactive Data Lab" in html


def test_template_has_dvc_placeholders_but_no_cdn_slot():
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "{plot_divs}" in text
    assert "{scripts}" not in text  # DVC would put its CDN <script> tags there
    config = (ROOT / ".dvc" / "config").read_text(encoding="utf-8")
    assert "html_template = ../pipeline/report/vendor/dvc_plots.html" in config


DRAWN = """JSON.stringify(Array.from(document.querySelectorAll('body > div[id]')).map(d => {
  const c = d.querySelector('canvas.marks');
  if (!c || !c.width) return 0;
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 3; i < px.length; i += 16) if (px[i] > 0) ink++;
  return ink;
}))"""


def _load_offline(browser, page: Path, expected: int) -> tuple[list[int], list[dict], list[str]]:
    """Open the page with the network off; wait until ``expected`` charts drew (or 30 s).

    Returns the painted-pixel count of each chart's canvas, console entries and requests.
    """
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    events: list = []
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", {}, session, events)
    browser.call("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                 "downloadThroughput": 0, "uploadThroughput": 0}, session, events)
    browser.call("Network.setBlockedURLs", {"urls": ["http://*", "https://*"]}, session, events)
    browser.call("Page.navigate", {"url": page.resolve().as_uri()}, session, events)
    deadline = time.monotonic() + 30
    while not any(e["method"] == "Page.loadEventFired" for e in events):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{page} did not load")
        events.append(json.loads(browser.ws.recv()))
    drawn: list[int] = []
    while time.monotonic() < deadline:
        value = browser.call("Runtime.evaluate", {"expression": DRAWN, "returnByValue": True},
                             session, events)["result"].get("value", "[]")
        drawn = json.loads(value)
        if len(drawn) == expected and all(drawn):
            break
        time.sleep(0.2)
    browser.drain(events, session, 0.3)
    browser.call("Target.closeTarget", {"targetId": target})
    console = [e["params"] for e in events
               if e["method"] in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown")]
    console += [e["params"]["entry"] for e in events if e["method"] == "Log.entryAdded"]
    requests = [e["params"]["request"]["url"] for e in events
                if e["method"] == "Network.requestWillBeSent"]
    return drawn, console, requests


@pytest.mark.browser
def test_charts_draw_offline_in_headless_chromium(shown):
    rb = _browser_module()
    binary = rb.find_chromium()
    if binary is None:
        pytest.skip("!! headless Chromium is NOT installed: browser test SKIPPED. "
                    "Run scripts/install-browser.sh (apt-get install chromium) to run it.")
    browser = rb.Browser(binary)
    try:
        drawn, console, requests = _load_offline(browser, shown[0], len(PLOTS))
    finally:
        browser.close()
    assert len(drawn) == len(PLOTS)
    blank = [PLOTS[i] for i, ink in enumerate(drawn) if ink < 50]
    assert not blank, f"charts that did not draw: {[next(iter(p)) for p in blank]}"
    errors = [e for e in console if rb.is_error(e)]
    assert not errors, errors
    assert not [u for u in requests if rb.is_network(u)]

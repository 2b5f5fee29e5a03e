"""Real reports from the explain stage in headless Chromium (skips loudly without a browser)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from explain_stage_helpers import read_keys
from PIL import Image
from report_browser import A4_CONTENT_PX, Browser, find_chromium, is_error, is_network

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def loaded(cohort_run):
    """The cohort report and one real patient report, each loaded once in Chromium."""
    binary = find_chromium()
    if binary is None:
        pytest.skip("!! headless Chromium is NOT installed: explain-stage browser tests SKIPPED. "
                    "Run scripts/install-browser.sh (apt-get install chromium) to run them.")
    patient = sorted((cohort_run / "patients").glob("*.html"))[0]
    browser = Browser(binary)
    try:
        yield {name: (path, browser.load(path))
               for name, path in (("patient", patient), ("cohort", cohort_run / "cohort.html"))}
    finally:
        browser.close()


@pytest.mark.parametrize("which", ["patient", "cohort"])
def test_renders_without_errors_or_network(loaded, which):
    path, page = loaded[which]
    rgb = np.asarray(Image.open(io.BytesIO(page.screenshot)).convert("RGB"))
    assert (rgb < 245).any(axis=2).mean() > 0.02, "screenshot looks blank"
    assert [e for e in page.console if is_error(e)] == []
    assert [u for u in page.requests if is_network(u)] == []
    assert read_keys(page.dom) == read_keys(path.read_text(encoding="utf-8"))


def test_patient_report_prints_to_a4(loaded):
    _, page = loaded["patient"]
    assert page.pdf.startswith(b"%PDF")
    assert page.print_width["widest"] <= A4_CONTENT_PX + 2, page.print_width

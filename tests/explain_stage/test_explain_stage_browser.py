"""Real reports from the explain stage in headless Chromium (skips loudly without a browser)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from explain_stage_helpers import read_keys
from PIL import Image
from report_browser import (
    A4_CONTENT_HEIGHT_PX,
    A4_CONTENT_PX,
    Browser,
    find_chromium,
    is_error,
    is_network,
    text_problems,
)

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


@pytest.fixture(scope="module")
def all_patients(cohort_run):
    """Every patient report of the stage run, laid out as printed (one browser)."""
    binary = find_chromium()
    if binary is None:
        pytest.skip("!! headless Chromium is NOT installed: explain-stage browser tests SKIPPED. "
                    "Run scripts/install-browser.sh (apt-get install chromium) to run them.")
    browser = Browser(binary)
    try:
        yield {p.stem: (p, browser.load(p))
               for p in sorted((cohort_run / "patients").glob("*.html"))}
    finally:
        browser.close()


def test_first_page_of_every_report_fits_a4_and_carries_the_numbers(all_patients):
    assert len(all_patients) >= 3
    for name, (path, page) in all_patients.items():
        summary = page.print_layout["summary"]
        assert summary["top"] == 0, name
        assert summary["height"] <= A4_CONTENT_HEIGHT_PX, (name, summary["height"])
        assert summary["breakAfter"] == "page", name
        keys = read_keys(path.read_text(encoding="utf-8"))
        first = [k for k in keys if k.startswith(("glance_", "first_", "best_therapy"))]
        assert len(first) > 20, name
        assert set(first) <= set(summary["keys"]), name  # on page 1, not later
        index = keys["index_therapy"]
        assert f"first_pfs_24_{index}" in summary["keys"], name


@pytest.mark.parametrize("which", ["patient", "cohort"])
def test_chart_texts_never_overlap_nor_are_cut(loaded, all_patients, which):
    pages = all_patients.values() if which == "patient" else [loaded["cohort"]]
    for path, page in pages:
        assert text_problems(page.print_layout) == [], path.name

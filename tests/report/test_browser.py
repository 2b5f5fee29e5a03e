"""The reports in a real headless Chromium.

Not blank, no console error, no network request, exact numbers in the DOM, prints to A4. Skips
loudly (see the `browser` fixture) only when no Chromium can be found; `make test` installs it.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from report_browser import (
    A4_CONTENT_HEIGHT_PX,
    A4_CONTENT_PX,
    is_error,
    is_network,
    text_problems,
)
from report_fixtures import build_cohort_report, build_patient_report, make_png
from report_testkit import (
    assert_keys_match,
    expected_cohort_keys,
    expected_first_page_keys,
    expected_patient_keys,
)

from pipeline.report import Driver, render_cohort_report, render_patient_report, write_html
from pipeline.report.svg import draw_waterfall

pytestmark = pytest.mark.browser

A4_PT = (595.0, 842.0)  # points; Chromium rounds to 595.92 x 842.88


def ink_fraction(png: bytes) -> tuple[float, int]:
    """Fraction of non-white pixels and number of distinct colours in a screenshot."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    nonwhite = (rgb < 245).any(axis=2).mean()
    colours = len(np.unique(rgb.reshape(-1, 3)[::7], axis=0))
    return float(nonwhite), colours


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """Page sizes (points) from the MediaBox entries of a Chromium PDF."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(float(w), float(h)) for w, h in boxes]


@pytest.fixture(scope="module")
def loaded(browser, tmp_path_factory):
    """Render both reports, write them as the explain stage would, load each once in Chromium."""
    patient = build_patient_report()
    cohort = build_cohort_report(patient, [make_png(i) for i in range(3)])
    root = tmp_path_factory.mktemp("reports")
    ppath = write_html(
        render_patient_report(patient), root / "patients" / f"{patient.pseudonym}.html"
    )
    cpath = write_html(render_cohort_report(cohort), root / "cohort.html")
    return {"patient": (patient, browser.load(ppath)), "cohort": (cohort, browser.load(cpath))}


@pytest.mark.parametrize("which", ["patient", "cohort"])
def test_page_is_not_blank(loaded, which):
    _, page = loaded[which]
    nonwhite, colours = ink_fraction(page.screenshot)
    assert nonwhite > 0.02, f"screenshot looks blank ({nonwhite:.1%} non-white)"
    assert colours > 20, f"only {colours} distinct colours"


@pytest.mark.parametrize("which", ["patient", "cohort"])
def test_no_console_error_and_no_network_request(loaded, which):
    _, page = loaded[which]
    errors = [e for e in page.console if is_error(e)]
    assert errors == [], errors
    assert [u for u in page.requests if is_network(u)] == []
    assert page.requests
    assert all(u.startswith(("file:", "data:")) for u in page.requests)


def test_patient_numbers_in_dom_equal_inputs(loaded):
    report, page = loaded["patient"]
    assert_keys_match(page.dom, expected_patient_keys(report))


def test_cohort_numbers_in_dom_equal_inputs(loaded):
    report, page = loaded["cohort"]
    assert_keys_match(page.dom, expected_cohort_keys(report))


@pytest.mark.parametrize("which", ["patient", "cohort"])
def test_prints_to_a4(loaded, which):
    _, page = loaded[which]
    assert page.pdf.startswith(b"%PDF")
    sizes = pdf_pages(page.pdf)
    assert len(sizes) >= 2  # long report: several pages, all A4
    for w, h in sizes:
        assert abs(w - A4_PT[0]) < 2, (w, h)
        assert abs(h - A4_PT[1]) < 2, (w, h)


@pytest.mark.parametrize("which", ["patient", "cohort"])
def test_nothing_is_cut_when_printed(loaded, which):
    _, page = loaded[which]
    assert page.print_width["page"] <= A4_CONTENT_PX, page.print_width
    assert page.print_width["widest"] <= A4_CONTENT_PX + 0.5, page.print_width


def test_first_page_fits_a4_and_carries_the_numbers(loaded):
    """Printed, the summary is one A4 page (a page break after it) holding the key numbers."""
    report, page = loaded["patient"]
    summary = page.print_layout["summary"]
    assert summary is not None
    assert summary["top"] == 0
    assert summary["height"] <= A4_CONTENT_HEIGHT_PX, summary["height"]
    assert summary["breakAfter"] == "page"
    expected = expected_first_page_keys(report)
    assert set(expected) <= set(summary["keys"]), set(expected) - set(summary["keys"])
    assert_keys_match(page.dom, expected)
    assert len(pdf_pages(page.pdf)) >= 2  # the detail follows on later pages


@pytest.mark.parametrize("which", ["patient", "cohort"])
def test_chart_texts_never_overlap_nor_are_cut(loaded, which):
    """DOM geometry of every SVG text element, laid out as printed."""
    _, page = loaded[which]
    svgs = page.print_layout["svgs"]
    assert svgs
    assert sum(len(s["texts"]) for s in svgs) > 10
    assert text_problems(page.print_layout) == []


def test_waterfall_with_a_large_first_bar_to_the_left(browser, tmp_path):
    """The case that used to overprint: a first bar reaching left to the names' column."""
    drivers = [
        Driver("ki67_percent", "Ki-67 index", "15 % (G2)", -0.9, "s"),
        Driver("cga_log10_uln", "Chromogranin A", "31.6 × ULN (about 3,160 ng/mL)", 0.4, "s"),
        Driver("ecog", "ECOG performance status", "not recorded (assumed 1)", -0.3, "s"),
        Driver("netpet_grade", "NETPET-like grade",
               "3 (FDG-positive, FDG SUVmax above half, up to the SSTR SUVmax)", 0.2, "s"),
    ]
    svg = draw_waterfall(drivers, title="Top drivers", unit="log-hazard", higher_is_worse=True)
    page = tmp_path / "waterfall.html"
    page.write_text(f"<html><body><figure style='max-width:640px'>{svg}</figure></body></html>",
                    encoding="utf-8")
    layout = browser.load(page).print_layout
    assert len(layout["svgs"][0]["texts"]) == 2 * len(drivers) + 5
    assert text_problems(layout) == []


def test_overlap_check_catches_overlaps_and_cuts(browser, tmp_path):
    """Negative control: overprinted and cut SVG texts are reported."""
    bad = tmp_path / "overlap.html"
    bad.write_text(
        '<html><body><svg viewBox="0 0 200 60" width="400"><title>bad</title>'
        '<text x="10" y="20">Chromogranin A = 31.6</text><text x="40" y="24">+0.42</text>'
        '<text x="150" y="50">cut at the edge</text></svg></body></html>',
        encoding="utf-8",
    )
    problems = text_problems(browser.load(bad).print_layout)
    assert any("overlaps" in p for p in problems), problems
    assert any("cut by the chart" in p for p in problems), problems


def test_harness_detects_errors_and_requests(browser, tmp_path):
    """Negative control: a page that logs an error and fetches a URL fails the same checks."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>'
        "</body></html>",
        encoding="utf-8",
    )
    page = browser.load(bad)
    assert any(is_network(u) for u in page.requests)
    assert any(is_error(e) for e in page.console)

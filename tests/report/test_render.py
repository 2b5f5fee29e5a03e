"""Reports without a browser: structure, self-containment, escaping, numbers, writing, speed."""

from __future__ import annotations

import re
import stat
import time
from dataclasses import replace

import pytest
from report_testkit import (
    assert_keys_match,
    expected_cohort_keys,
    expected_patient_keys,
    parse_report,
)

from pipeline.report import (
    check_self_contained,
    render_cohort_report,
    render_patient_report,
    write_html,
)
from pipeline.report.data import Curve, Driver
from pipeline.report.render import check_relative_href, format_pct, format_pp, make_image_src
from pipeline.report.svg import draw_survival_chart, draw_waterfall


@pytest.fixture
def patient_html(patient_report) -> str:
    return render_patient_report(patient_report)


@pytest.fixture
def cohort_html(cohort_report) -> str:
    return render_cohort_report(cohort_report)


@pytest.mark.parametrize("which", ["patient_html", "cohort_html"])
def test_report_is_well_formed_and_self_contained(which, request):
    html = request.getfixturevalue(which)
    parsed = parse_report(html)
    assert parsed.errors == []
    assert parsed.stack == []
    assert html.startswith("<!DOCTYPE html>")
    low = html.lower()
    assert "<script" not in low
    assert "http://" not in low
    assert "https://" not in low
    assert "<link" not in low
    assert "@import" not in low
    assert "@font-face" not in low
    assert "default-src 'none'" in html  # CSP forbids any fetch even if something slipped through
    assert "@page { size: A4" in html
    assert "@media print" in html


def test_patient_report_numbers_equal_inputs(patient_report, patient_html):
    assert_keys_match(patient_html, expected_patient_keys(patient_report))


def test_cohort_report_numbers_equal_inputs(cohort_report, cohort_html):
    assert_keys_match(cohort_html, expected_cohort_keys(cohort_report))


def test_patient_report_content(patient_report, patient_html):
    text = re.sub(r"\s+", " ", patient_html)
    assert "not causal effects" in text or "not causes" in text
    assert "PRRT (177Lu-DOTATATE) (index therapy)" in text
    for m in patient_report.models:
        assert f"{m.name} version {m.version}" in text
    for label, how in patient_report.missing:
        assert label in text
        assert how in text
    assert 'data-key="ineligible_sunitinib"' in text  # ineligible therapy listed with its reason
    assert 'data-therapy="sunitinib"' not in text  # ... but gets no prediction card
    assert (
        text.count("<svg") >= 2 + 2 * 3 + 3
    )  # comparison charts, 3 cards x (PFS, OS), 3 waterfalls
    assert "42 %" in text
    assert "\u22126.1 pp" in text


def test_text_is_escaped(patient_report):
    evil = replace(
        patient_report, pseudonym="P<img src=x>", limitations=['<b onclick="x()">bold</b> & co']
    )
    html = render_patient_report(evil)
    assert "<img src=x>" not in html
    assert '<b onclick="x()">' not in html
    assert "P&lt;img src=x&gt;" in html
    assert "&lt;b onclick=&#34;x()&#34;&gt;bold&lt;/b&gt; &amp; co" in html
    assert "small intestine &lt;b&gt;&amp;&lt;/b&gt;" in render_patient_report(patient_report)


def test_url_in_text_is_refused(patient_report):
    with pytest.raises(ValueError, match="http"):
        render_patient_report(replace(patient_report, intended_use="see https://example.org"))


def test_inconsistent_report_is_refused(patient_report):
    with pytest.raises(ValueError, match="index therapy"):
        render_patient_report(replace(patient_report, index_therapy="everolimus"))
    with pytest.raises(ValueError, match="unique"):
        render_patient_report(
            replace(
                patient_report,
                predictions=patient_report.predictions + patient_report.predictions[:1],
            )
        )


@pytest.mark.parametrize(
    "bad",
    [
        "<script>alert(1)</script>",
        '<img src="http://x/y.png">',
        '<a href="//evil">',
        '<div onload="x()">',
        "<style>@import 'a.css'</style>",
        '<p style="background:url(a.png)">',
        '<link rel="stylesheet" href="a.css">',
        '<iframe src="a.html">',
    ],
)
def test_check_self_contained_refuses(bad):
    with pytest.raises(ValueError, match="not self-contained"):
        check_self_contained(f"<html><body>{bad}</body></html>")
    assert check_self_contained('<img src="data:image/png;base64,AAAA">')


def test_images_become_data_uris(pngs):
    assert make_image_src(pngs[0]).startswith("data:image/png;base64,iVBORw0KGgo")
    # caller SVG only ever goes through <img>: its script cannot run
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'
    assert make_image_src(svg).startswith("data:image/svg+xml;base64,")
    with pytest.raises(ValueError, match="neither PNG nor SVG"):
        make_image_src(b"GIF89a....")
    with pytest.raises(ValueError, match="neither inline SVG nor a PNG"):
        make_image_src("https://example.org/a.png")


def test_cohort_links_must_be_relative(cohort_report):
    assert check_relative_href("patients/P1.html") == "patients/P1.html"
    for bad in (
        "https://x.org/P1.html",
        "/etc/passwd",
        "javascript:alert(1)",
        "file:///tmp/a.html",
    ):
        with pytest.raises(ValueError, match="relative"):
            check_relative_href(bad)
    with pytest.raises(ValueError, match="relative"):
        render_cohort_report(
            replace(cohort_report, patient_links=[("P1", "https://x.org/P1.html")])
        )


def test_cohort_report_links_and_images(cohort_report, cohort_html):
    for pseudonym, href in cohort_report.patient_links:
        assert f'<a href="{href}">{pseudonym}</a>' in cohort_html
    assert cohort_html.count('src="data:image/png;base64,') == 1 + 2 + 1
    assert "<td>0.67</td>" in cohort_html
    assert "<td>small intestine</td>" in cohort_html


def test_survival_chart_geometry():
    svg = draw_survival_chart(
        [("A", Curve([6.0, 12.0], [0.5, 0.25]))], title="t", t_max=12, width=142, height=164
    )
    # plot area: x 42..130 (88 wide), y 26..126 (100 high);
    # the step starts at (0, 1) and drops at 6 and 12 months
    assert 'points="42,26 86,26 86,76 130,76 130,101"' in svg
    assert "<title>t</title>" in svg
    assert "http" not in svg


def test_waterfall_total_and_colours(patient_report):
    svg = draw_waterfall(
        patient_report.drivers_pfs, title="w", unit="log-hazard", higher_is_worse=True
    )
    total = sum(d.shap for d in patient_report.drivers_pfs)
    assert f">{total:+.2f}</text>" in svg
    bars = re.findall(r'<rect [^>]*fill="(#[0-9A-F]{6})"', svg)
    assert bars.count("#D55E00") == 4  # bar and its value in the same colour
    assert bars.count("#0072B2") == 1
    assert svg.count('fill="#D55E00">+') == 4


def test_waterfall_never_cuts_a_label():
    """A long name and value are wrapped onto lines, whole, and the name column widens for it."""
    long_value = "not measured (assumed 31.6 × ULN (about 3,160 ng/mL))"
    drivers = [Driver("cga_log10_uln", "Chromogranin A (latest within the look-back)", long_value,
                      0.4, "s"), Driver("ecog", "ECOG", "1", -0.1, "s")]
    svg = draw_waterfall(drivers, title="w", unit="log-hazard", higher_is_worse=True)
    assert "…" not in svg
    spans = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert " ".join(spans[:-2]).split() == (
        "Chromogranin A (latest within the look-back) = " + long_value).split()
    assert all(len(t) <= 34 for t in spans)


def test_formatters():
    assert format_pct(0.4213) == "42 %"
    assert format_pct(None) == "n/a"
    assert format_pp(-0.0612) == "\u22126.1 pp"
    assert format_pp(0.0433) == "+4.3 pp"


def test_write_html_is_atomic_and_private(tmp_path, patient_html):
    out = write_html(patient_html, tmp_path / "patients" / "P1.html")
    assert out.read_text(encoding="utf-8") == patient_html
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in out.parent.iterdir()] == ["P1.html"]  # no temporary file left behind


def test_patient_report_renders_under_one_second(patient_report):
    render_patient_report(patient_report)  # templates compiled once per process
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        render_patient_report(patient_report)
        times.append(time.perf_counter() - t0)
    assert sorted(times)[2] < 1.0, times


def test_minimal_reports_render(patient_report, cohort_report):
    """Only the index therapy, no drivers, nothing missing, no images: still a complete page."""
    minimal = replace(
        patient_report,
        predictions=patient_report.predictions[:1],
        drivers_pfs=[],
        drivers_response=[],
        drivers_os=[],
        missing=[],
        models=[],
    )
    html = render_patient_report(minimal)
    assert "No other therapy is within the model" in html
    assert "No input was missing." in html
    assert parse_report(html).errors == []
    bare = replace(
        cohort_report,
        beeswarm_png=None,
        dependence_pngs=[],
        calibration_pngs=[],
        subgroup_table=[],
        patient_links=[],
    )
    html = render_cohort_report(bare)
    assert "data:image/png" not in html
    assert "No patient reports were made." in html


def test_ready_made_waterfall_is_embedded_as_image(patient_report, pngs):
    uri = make_image_src(pngs[0])
    html = render_patient_report(replace(patient_report, waterfall_svg=uri))
    assert f'<img src="{uri}"' in html
    assert html.count("<title>Top drivers: ") == 2  # response, OS drawn; PFS uses the given one


def test_missing_numbers_show_as_not_available():
    assert format_pct(float("nan")) == "n/a"
    assert format_pp(float("nan")) == "n/a"

"""The patient report's first page: a tumour-board summary that stands alone (no browser needed)."""

from __future__ import annotations

import re
from dataclasses import replace

from report_testkit import assert_keys_match, expected_first_page_keys, read_keys

from clinical.therapies import therapy_colour
from pipeline.report import render_patient_report
from pipeline.report.patient import comparison_rows, signed_pp


def summary_of(html: str) -> str:
    """The first-page section of a rendered report."""
    match = re.search(r'<section id="summary".*?</section>', html, re.S)
    assert match, "no first-page section"
    return match.group(0)


def test_first_page_carries_the_numbers(patient_report):
    html = render_patient_report(patient_report)
    expected = expected_first_page_keys(patient_report)
    assert_keys_match(html, expected)
    first = read_keys(summary_of(html))
    assert set(expected) <= set(first), set(expected) - set(first)  # all of them on page 1
    for key in ("pseudonym", "index_therapy", "made_on", "in_sample", "model_pfs"):
        assert key in first, key
    assert first["model_pfs"] == "4"


def test_glance_shows_the_value_texts_and_marks_the_missing(patient_report):
    page = summary_of(render_patient_report(patient_report))
    for g in patient_report.at_a_glance:
        assert f">{g.value_text}</dd>" in page, g.variable
    missing = re.findall(r'<div class="missing"><dt>([^<]+)</dt>', page)
    assert missing == ["Albumin", "ECOG performance status"]
    assert "31.6 × ULN (about 3,160 ng/mL)" in page
    assert "1.5 × ULN" not in page


def test_therapies_ranked_by_benefit_with_differences(patient_report):
    html = render_patient_report(patient_report)
    page = summary_of(html)
    order = re.findall(r'<tr data-key="first_rank_([a-z0-9_]+)"', page)
    pfs24 = {p.therapy: p.pfs_at[24][0] for p in patient_report.predictions if p.eligible}
    assert order == sorted(pfs24, key=lambda t: -pfs24[t])
    assert order[0] == "prrt_lu177"  # the fixture's best is the index therapy
    keys = read_keys(html)
    assert keys["best_therapy"] == "prrt_lu177"
    assert float(keys["first_diff_pfs_24_everolimus"]) == pfs24["everolimus"] - pfs24["prrt_lu177"]
    assert "first_diff_pfs_24_prrt_lu177" not in keys  # no difference of the index to itself
    assert "&#9733; best predicted" in page
    assert "Sunitinib" in page  # the ineligible therapy is named on page 1


def test_a_better_therapy_ranks_above_the_index(patient_report):
    preds = list(patient_report.predictions)
    better = replace(preds[1], pfs_at={m: (v[0] + 0.9, v[1], v[2]) for m, v in
                                       preds[1].pfs_at.items()})
    report = replace(patient_report, predictions=[preds[0], better, *preds[2:]])
    table = comparison_rows(report)
    assert [r["pred"].therapy for r in table["rows"]][:2] == ["everolimus", "prrt_lu177"]
    assert table["best"] == "everolimus"
    assert table["rows"][0]["benefit"] > 0
    assert table["rows"][1]["benefit"] == 0


def test_ineligible_index_gives_no_difference_and_no_best(patient_report):
    preds = list(patient_report.predictions)
    index = replace(preds[0], eligible=False, ineligible_reason="outside the model's support")
    report = replace(patient_report, predictions=[index, *preds[1:]])
    table = comparison_rows(report)
    assert table["best"] is None
    assert all(c["diff"] is None for r in table["rows"] for c in r["cells"])
    keys = read_keys(render_patient_report(report))
    assert not any(k.startswith("first_diff_") for k in keys)
    assert "best_therapy" not in keys


def test_interval_is_named_recalibration_range(patient_report):
    page = summary_of(render_patient_report(patient_report))
    assert "recalibration range" in page
    assert page.count("confidence interval") == page.count("not a confidence interval") == 1


def test_in_sample_note(patient_report):
    assert "In-sample prediction" in summary_of(render_patient_report(patient_report))
    out = summary_of(render_patient_report(replace(patient_report, in_sample=False)))
    assert "In-sample" not in out
    assert "out-of-sample" in out
    unknown = read_keys(render_patient_report(replace(patient_report, in_sample=None)))
    assert "in_sample" not in unknown


def test_observed_outcome_on_page_one(patient_report):
    page = summary_of(render_patient_report(patient_report))
    assert "What happened on this line (observed)" in page
    assert "Progression-free survival: progression or death at 21.4 months" in page


def test_overlay_uses_fixed_therapy_colours_and_marks_the_best(patient_report):
    page = summary_of(render_patient_report(patient_report))
    overlay = re.search(r'<figure class="overlay">(.*?)</figure>', page, re.S).group(1)
    colours = re.findall(r'<polyline [^>]*stroke="(#[0-9A-Fa-f]{6})"', overlay)
    eligible = [p.therapy for p in patient_report.predictions if p.eligible]
    assert sorted(set(colours)) == sorted({therapy_colour(t) for t in eligible})
    assert len(colours) == 2 * len(eligible)  # PFS and OS of each
    assert ">PRRT (best predicted)</text>" in overlay
    assert overlay.count('stroke-dasharray="5 3"') == len(eligible) + 1  # OS curves + key


def test_colours_do_not_depend_on_the_order_of_therapies(patient_report):
    preds = list(patient_report.predictions)
    swapped = replace(patient_report, predictions=[preds[0], preds[2], preds[1], preds[3]])
    for report in (patient_report, swapped):
        html = render_patient_report(report)
        for code in ("everolimus", "ssa"):
            pattern = rf'<section class="card therapy" data-therapy="{code}">(.*?)</section>'
            card = re.search(pattern, html, re.S).group(1)
            assert f'stroke="{therapy_colour(code)}"' in card


def test_summary_comes_first_and_prints_as_page_one(patient_report):
    html = render_patient_report(patient_report)
    assert html.index('<section id="summary"') < html.index("About this report") < html.index(
        '<section class="card therapy"') < html.index("How good the models are")
    assert ".first-page { break-after: page;" in html
    assert 'content: "page " counter(page)' in html
    assert "Page 1: tumour-board summary" in summary_of(html)


def test_difference_ranges_are_shown_and_keyed(patient_report):
    preds = list(patient_report.predictions)
    ranged = replace(preds[1], diff_ranges={"pfs_24": (-0.21, -0.12), "response": (-0.4, -0.3)})
    report = replace(patient_report, predictions=[preds[0], ranged, *preds[2:]])
    html = render_patient_report(report)
    keys = read_keys(summary_of(html))
    assert float(keys["first_diff_pfs_24_everolimus_lo"]) == -0.21
    assert float(keys["first_diff_pfs_24_everolimus_hi"]) == -0.12
    assert float(keys["first_diff_response_everolimus_hi"]) == -0.3
    assert "first_diff_os_24_everolimus_lo" not in keys  # no range given, none shown
    assert ">−21</span> to <span" in html  # the same minus sign as the differences


def test_signed_percentage_points():
    assert signed_pp(0.081) == "+8"
    assert signed_pp(-0.124) == "\u221212"
    assert signed_pp(-0.004) == "0"
    assert signed_pp(0.003) == "0"

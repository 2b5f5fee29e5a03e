"""The first page of real patient reports: every value at a glance equals the feature table's.

Each value is checked twice: its keyed number against the cohort row, and its text against the
dictionary's display unit, computed here independently of ``format_value`` (CgA back-transformed
from log10, Ki-67 with its WHO grade, labs in their units, missing values in words).
"""

from __future__ import annotations

import html as html_lib
import math
import re
from dataclasses import replace

import pandas as pd
import pytest
from explain_stage_helpers import MADE_ON, read_keys

from models.explain_text import format_value, missing_text, spec_of
from pipeline.report import render_patient_report
from pipeline.stages.explain import patient_row
from pipeline.stages.explain_patient import GLANCE_VARIABLES, build_patient_report

_CASES = {
    "ki67 missing": lambda c: c["ki67_percent"].isna(),
    "CgA missing": lambda c: c["cga_log10_uln"].isna(),
    "CgA below the ULN": lambda c: c["cga_log10_uln"] < 0,
    "CgA above 10 x ULN": lambda c: c["cga_log10_uln"] > 1,
    "no FDG-PET": lambda c: c["fdg_pet_done"] == 0,
    "FDG-PET positive": lambda c: c["fdg_positive"] == 1,
}


@pytest.fixture(scope="module")
def pages(ctx) -> dict[str, tuple[pd.DataFrame, str]]:
    """Case -> (the patient's cohort row, rendered report), one patient per case."""
    out = {}
    latest = ctx.cohort.sort_values("line", kind="stable").groupby("patient_id").tail(1)
    for case, select in _CASES.items():  # loop over 6 cases
        rows = latest[select(latest)]
        if rows.empty:
            continue
        pid = str(rows["patient_id"].iloc[0])
        row = patient_row(ctx.cohort, pid)
        report = build_patient_report(pid, row, ctx.models, ctx.reference, ctx.metrics,
                                      ctx.dictionary, MADE_ON)
        out[case] = (row, render_patient_report(report))
    assert len(out) >= 4, f"too few cases in the simulated cohort: {sorted(out)}"
    return out


def glance_text(page: str, variable: str) -> str:
    """The shown text of one at-a-glance value."""
    match = re.search(rf'data-key="glance_{variable}" data-value="[^"]*">([^<]*)</dd>', page)
    assert match, f"{variable} not at a glance"
    return html_lib.unescape(match.group(1))


def test_every_glance_value_equals_the_feature_table(ctx, pages):
    for case, (row, page) in pages.items():
        keys = read_keys(page)
        for variable in GLANCE_VARIABLES:
            value = row[variable].iloc[0]
            shown = keys[f"glance_{variable}"]
            if pd.isna(value):
                assert shown == "", (case, variable)
            elif isinstance(value, str):
                assert shown == value, (case, variable)
            else:
                assert float(shown) == float(value), (case, variable, shown, value)
            spec = spec_of(ctx.dictionary, variable)
            assert glance_text(page, variable) == format_value(value, spec, variable), variable


def _number(text: str) -> float:
    return float(re.match(r"[-+]?[\d,]*\.?\d+", text).group(0).replace(",", ""))


def _grade(ki67: float) -> str:
    return "G1" if ki67 < 3 else "G2" if ki67 <= 20 else "G3"


def _check_unit(variable: str, value: float, text: str) -> None:
    """The text is the value in the dictionary's unit (independent of format_value)."""
    if variable == "ki67_percent":
        assert re.fullmatch(r"[\d.]+ % \(G[123]\)", text), text
        assert math.isclose(_number(text), value, rel_tol=0.01, abs_tol=0.01), text
        assert text.endswith(f"({_grade(value)})"), text
    elif variable == "cga_log10_uln":
        multiple = 10.0 ** value
        match = re.fullmatch(r"(at most )?([\d.,]+) × ULN \((about )?([\d.,]+) ng/mL( or less)?\)",
                             text)
        assert match, text
        assert math.isclose(_number(match.group(2)), multiple, rel_tol=0.006), (text, value)
        assert math.isclose(_number(match.group(4)), 100 * multiple, rel_tol=0.006), (text, value)
    elif variable in ("alp", "albumin", "hepatic_tumour_burden_pct"):
        unit = {"alp": "U/L", "albumin": "g/L", "hepatic_tumour_burden_pct": "%"}[variable]
        assert text.endswith(f" {unit}"), text
        assert math.isclose(_number(text), value, rel_tol=0.01, abs_tol=0.05), text
    elif variable in ("ecog", "n_prior_lines"):
        assert text == str(int(value)), text
    elif variable == "krenning_score":
        assert text.startswith(f"{int(value)} ("), text


def test_glance_texts_are_in_the_dictionary_units(ctx, pages):
    checked = set()
    for row, page in pages.values():
        for variable in GLANCE_VARIABLES:
            value, text = row[variable].iloc[0], glance_text(page, variable)
            if pd.isna(value):
                assert text == missing_text(spec_of(ctx.dictionary, variable)), (variable, text)
                assert text.startswith(("not ", "unknown")), text
                continue
            _check_unit(variable, float(value) if not isinstance(value, str) else value, text)
            checked.add(variable)
    assert {"ki67_percent", "cga_log10_uln", "alp", "albumin", "krenning_score"} <= checked


def test_no_log10_value_is_shown_as_a_plain_multiple(pages):
    for row, page in pages.values():
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
        assert "(log10)" not in text
        multiples = [_number(m) for m in re.findall(r"(-?[\d.,]+) × ULN", text)]
        assert all(m > 0 for m in multiples), multiples
        log10 = row["cga_log10_uln"].iloc[0]
        if pd.notna(log10) and abs(log10) > 0.01:
            shown = _number(glance_text(page, "cga_log10_uln").removeprefix("at most "))
            assert not math.isclose(shown, log10, rel_tol=0.05), (shown, log10)


def test_what_happened_on_the_line_is_shown(pages):
    for row, page in pages.values():
        months = float(row["pfs_months"].iloc[0])
        event = float(row["pfs_event"].iloc[0]) == 1
        want = (f"progression or death at {months:.1f} months" if event
                else f"no progression or death seen (followed for {months:.1f} months)")
        assert f"Progression-free survival: {want}" in page
        response = row["response"].iloc[0]
        if pd.notna(response):
            assert ("partial or complete response" in page) == (float(response) == 1)


def test_in_sample_note_follows_the_training_rows(ctx, pages):
    row, _ = next(iter(pages.values()))
    pid = str(row["patient_id"].iloc[0])
    assert pid in ctx.reference.patients  # the fixture's models were fitted on the whole cohort
    inside = build_patient_report(pid, row, ctx.models, ctx.reference, ctx.metrics,
                                  ctx.dictionary, MADE_ON)
    assert inside.in_sample is True
    assert 'data-key="in_sample" data-value="1"' in render_patient_report(inside)
    others = replace(ctx.reference, patients=ctx.reference.patients - {pid})
    outside = build_patient_report(pid, row, ctx.models, others, ctx.metrics, ctx.dictionary,
                                   MADE_ON)
    assert outside.in_sample is False
    assert "out-of-sample" in render_patient_report(outside)


def test_first_page_ranks_by_predicted_pfs_against_the_index(pages):
    for _, page in pages.values():
        keys = read_keys(page)
        ranks = {k.removeprefix("first_rank_"): int(v) for k, v in keys.items()
                 if k.startswith("first_rank_")}
        pfs = {t: float(keys[f"first_pfs_24_{t}"]) for t in ranks}
        by_rank = sorted(ranks, key=ranks.get)
        assert [pfs[t] for t in by_rank] == sorted(pfs.values(), reverse=True)
        assert keys["best_therapy"] == by_rank[0]
        index = keys["index_therapy"]
        for t in ranks:
            if t != index:
                diff = float(keys[f"first_diff_pfs_24_{t}"])
                assert math.isclose(diff, pfs[t] - pfs[index], abs_tol=1e-12)


def _recalibrated(surv: float, pivot: float, slope: float) -> float:
    """S(t) recalibrated on the complementary log-log scale with one slope."""
    return math.exp(-math.exp(pivot + slope * (math.log(-math.log(surv)) - pivot)))


def test_difference_ranges_recalibrate_both_therapies_with_one_slope(ctx, pages):
    slopes = ctx.reference.slopes["pfs"]
    assert slopes is not None
    pivot = float(ctx.reference.pivots["pfs"][ctx.reference.grid.index(24.0)])
    checked = 0
    for _, page in pages.values():
        keys = read_keys(page)
        index = keys["index_therapy"]
        s_index = float(keys[f"first_pfs_24_{index}"])
        for key in [k for k in keys if k.startswith("first_diff_pfs_24_") and k.endswith("_lo")]:
            t = key.removeprefix("first_diff_pfs_24_").removesuffix("_lo")
            s_t = float(keys[f"first_pfs_24_{t}"])
            diffs = [_recalibrated(s_t, pivot, b) - _recalibrated(s_index, pivot, b)
                     for b in (slopes[0], 1.0, slopes[1])]
            assert math.isclose(float(keys[key]), min(diffs), abs_tol=1e-9), key
            assert math.isclose(float(keys[key[:-3] + "_hi"]), max(diffs), abs_tol=1e-9), key
            assert float(keys[key]) <= float(keys[key[:-3]]) <= float(keys[key[:-3] + "_hi"])
            checked += 1
    assert checked >= 4

"""Patient reports from real models show values as clinicians read them, never codes or logs."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import pandas as pd
import pytest
from explain_stage_helpers import MADE_ON

from models.explain_text import format_value, missing_text, spec_of
from pipeline.report import render_patient_report
from pipeline.stages.explain import patient_row
from pipeline.stages.explain_cohort import subgroup_rows
from pipeline.stages.explain_patient import assumed_values, build_patient_report

CODES = ("prrt_lu177", "prrt lu177", "liver_directed", "small_intestine", "small intestine,",
         "(log10)", "hazard ratio", "__missing")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


@pytest.fixture(scope="module")
def reports(ctx, cohort):
    """Reports of patients with PRRT, an unknown primary, no Ki-67, no FDG-PET, low CgA."""
    masks = [cohort["therapy"] == "prrt_lu177", cohort["primary_site"] == "unknown",
             cohort["ki67_percent"].isna(), cohort["fdg_pet_done"] == 0,
             cohort["cga_log10_uln"] < 0]
    picks = dict.fromkeys(str(cohort.loc[m, "patient_id"].iloc[0]) for m in masks if m.any())
    assert len(picks) >= 3
    out = []
    for pid in picks:  # loop over <= 5 patients
        row = patient_row(ctx.cohort, pid)
        report = build_patient_report(pid, row, ctx.models, ctx.reference, ctx.metrics,
                                      ctx.dictionary, MADE_ON)
        out.append((row, report))
    return out


def _expected_text(ctx, em, row: pd.DataFrame, variable: str) -> str:
    spec = spec_of(ctx.dictionary, variable)
    value = row[variable].iloc[0]
    if not pd.isna(value):
        return format_value(value, spec, variable)
    assumed = assumed_values(em, row)[variable]  # every missing input has an assumption
    if variable in em.design.levels_:
        return f"{missing_text(spec)} (no category assumed)"
    if em.is_tree:
        return f"{missing_text(spec)} (no value assumed)"
    return f"{missing_text(spec)} (assumed {format_value(assumed, spec, variable)})"


def test_driver_values_are_the_rows_values_in_clinical_units(ctx, reports):
    checked, missing = 0, 0
    for row, report in reports:
        for endpoint, drivers in (("response", report.drivers_response),
                                  ("pfs", report.drivers_pfs), ("os", report.drivers_os)):
            for d in drivers:
                assert d.value_text == _expected_text(ctx, ctx.models[endpoint], row, d.variable)
                checked += 1
                missing += bool(pd.isna(row[d.variable].iloc[0]))
    assert checked >= 15
    assert missing >= 1  # seed 0: a missing input is among the drivers shown


def test_cga_drivers_are_back_transformed(reports):
    for row, report in reports:
        for d in report.drivers_pfs + report.drivers_os + report.drivers_response:
            if d.variable == "cga_log10_uln" and not pd.isna(row["cga_log10_uln"].iloc[0]):
                multiple = 10 ** float(row["cga_log10_uln"].iloc[0])
                shown = float(d.value_text.split(" × ")[0].removeprefix("at most "))
                assert shown == pytest.approx(multiple, rel=5e-3)
                assert " × ULN" in d.value_text


def test_rendered_reports_show_no_code_and_no_hazard_ratio(reports):
    for _, report in reports:
        text = _text_of(render_patient_report(report))
        for code in CODES:
            assert code not in text, code
        for d in report.drivers_pfs + report.drivers_os:
            assert d.sentence.endswith("× the hazard of an average patient).")
            assert not math.isnan(d.shap)


def test_missing_inputs_give_the_assumed_median_in_clinical_units(reports):
    handled = {label: how for _, report in reports for label, how in report.missing}
    assert "Ki-67 index" in handled  # one of the reports is of a patient without Ki-67
    assert re.search(r"training median \([0-9.]+ % \(G[123]\)\)", handled["Ki-67 index"])
    if "Chromogranin A" in handled:
        assert "× ULN" in handled["Chromogranin A"]
        assert "log" not in handled["Chromogranin A"]


def test_subgroup_rows_are_in_clinical_words(ctx):
    metrics = {"pfs": {"subgroups": [
        {"group": "overall", "level": "all", "n": 300, "metric": 0.7},
        {"group": "primary_site", "level": "unknown", "n": 20, "metric": 0.6},
        {"group": "primary_site", "level": "missing", "n": 5, "metric": None},
        {"group": "therapy", "level": "prrt_lu177", "n": 90, "metric": 0.65},
        {"group": "krenning_score", "level": "3.0", "n": 40, "metric": 0.62},
    ]}}
    rows = subgroup_rows(metrics, ["pfs"], ctx.dictionary)
    assert [(r["group"], r["level"]) for r in rows] == [
        ("All patients", "all"),
        ("Primary tumour site", "Unknown primary (CUP)"),
        ("Primary tumour site", "not recorded"),
        ("Index therapy", "PRRT (177Lu-DOTATATE)"),
        ("Krenning-like uptake score", "3 (uptake above liver)"),
    ]
    assert {r["n"] for r in rows} == {300, 20, 5, 90, 40}

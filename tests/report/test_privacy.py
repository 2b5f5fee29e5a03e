"""Privacy: nothing from the raw export that identifies the patient reaches a rendered report."""

from __future__ import annotations

import re

from report_testkit import pseudonymise

from pipeline.report import render_cohort_report, render_patient_report


def identifier_variants(raw: dict[str, str]) -> list[str]:
    """The raw identifier, name and date of birth in the spellings a leak could take."""
    y, m, d = raw["birth_date"].split("-")
    digits = re.sub(r"\D", "", raw["patient_id"])
    return [
        raw["patient_id"],
        raw["patient_id"].lower(),
        digits,
        raw["name"],
        raw["name"].split()[-1],
        raw["birth_date"],
        f"{d}.{m}.{y}",
        f"{d}/{m}/{y}",
        f"{m}/{d}/{y}",
        f"{y}{m}{d}",
    ]


def test_no_raw_identifier_or_birth_date_in_reports(raw_patient, patient_report, cohort_report):
    pages = [render_patient_report(patient_report), render_cohort_report(cohort_report)]
    for html in pages:
        for needle in identifier_variants(raw_patient):
            assert needle.lower() not in html.lower(), (
                "a raw identifier or date of birth reached a report"
            )
    assert patient_report.pseudonym == pseudonymise(raw_patient["patient_id"])
    assert patient_report.pseudonym in pages[0]
    assert patient_report.pseudonym in pages[1]

"""Fixtures for the report tests: realistic report data, raw identifiers, a headless Chromium."""

from __future__ import annotations

import pytest
from report_browser import Browser, find_chromium
from report_fixtures import RAW_PATIENT, build_cohort_report, build_patient_report, make_png

from pipeline.report.data import CohortReport, PatientReport


@pytest.fixture
def raw_patient() -> dict[str, str]:
    """The raw export row of the fixture patient (identifier, name, date of birth)."""
    return dict(RAW_PATIENT)


@pytest.fixture
def patient_report() -> PatientReport:
    """A realistic patient report: PRRT index therapy, two what-if therapies, one ineligible."""
    return build_patient_report()


@pytest.fixture(scope="session")
def pngs() -> list[bytes]:
    """Three small PNGs for the cohort report."""
    return [make_png(i) for i in range(3)]


@pytest.fixture
def cohort_report(patient_report: PatientReport, pngs: list[bytes]) -> CohortReport:
    """A realistic cohort report."""
    return build_cohort_report(patient_report, pngs)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium for the session, or a loud skip when none can be found."""
    binary = find_chromium()
    if binary is None:
        pytest.skip(
            "!! headless Chromium is NOT installed: browser tests SKIPPED. "
            "Run scripts/install-browser.sh (apt-get install chromium) to run them."
        )
    b = Browser(binary)
    yield b
    b.close()

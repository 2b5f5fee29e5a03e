"""Clinician-facing HTML reports: one self-contained page per patient and one for the cohort.

Render from the plain dataclasses in `pipeline.report.data`; write with `write_html`.
"""

from pipeline.report.cohort import render_cohort_report
from pipeline.report.data import (
    BenefitSection,
    CohortReport,
    Curve,
    Driver,
    ModelInfo,
    PatientReport,
    TherapyPrediction,
)
from pipeline.report.patient import render_patient_report
from pipeline.report.render import check_self_contained, write_html

__all__ = [
    "BenefitSection",
    "CohortReport",
    "Curve",
    "Driver",
    "ModelInfo",
    "PatientReport",
    "TherapyPrediction",
    "check_self_contained",
    "render_cohort_report",
    "render_patient_report",
    "write_html",
]

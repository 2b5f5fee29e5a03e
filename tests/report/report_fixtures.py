"""Realistic report data for the tests: a PRRT patient with what-if therapies, and a cohort."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from report_testkit import RAW_PATIENT, pseudonymise

from pipeline.report.data import (
    CohortReport,
    Curve,
    Driver,
    GlanceItem,
    ModelInfo,
    PatientReport,
    TherapyPrediction,
)

__all__ = ["RAW_PATIENT", "build_cohort_report", "build_patient_report", "make_png"]


def weibull_curve(scale: float, shape: float, spread: float = 0.15) -> Curve:
    """A monthly survival curve with a pointwise interval, 0-60 months."""
    t = np.arange(1.0, 61.0)
    s = np.exp(-((t / scale) ** shape))
    lo = np.exp(-((t / (scale * (1 - spread))) ** shape))
    hi = np.exp(-((t / (scale * (1 + spread))) ** shape))
    return Curve(times=t.tolist(), surv=s.tolist(), lo=lo.tolist(), hi=hi.tolist())


def at_months(curve: Curve, months=(12, 24)) -> dict[int, tuple[float, float, float]]:
    """Read (estimate, lower, upper) at given months from a monthly curve."""
    idx = {m: curve.times.index(float(m)) for m in months}
    return {m: (curve.surv[i], curve.lo[i], curve.hi[i]) for m, i in idx.items()}


def make_prediction(
    therapy: str, label: str, p: float, pfs_scale: float, os_scale: float
) -> TherapyPrediction:
    """A realistic eligible therapy prediction."""
    pfs, os_ = weibull_curve(pfs_scale, 1.2), weibull_curve(os_scale, 1.1)
    return TherapyPrediction(
        therapy=therapy,
        label=label,
        eligible=True,
        p_response=p,
        p_response_ci=(max(p - 0.09, 0.0), min(p + 0.11, 1.0)),
        pfs=pfs,
        os=os_,
        pfs_at=at_months(pfs),
        os_at=at_months(os_),
    )


def build_patient_report() -> PatientReport:
    """Build the fixture patient report (also usable outside pytest, e.g. for timing)."""
    models = [
        ModelInfo(
            "response",
            "net-response-xgb",
            "3",
            {"AUC": (0.71, 0.66, 0.76), "calibration slope": (0.94, 0.81, 1.08)},
            "5-fold cross-validation, 200 bootstrap resamples",
        ),
        ModelInfo(
            "pfs",
            "net-pfs-xgb-cox",
            "4",
            {"C-index": (0.682, 0.655, 0.709), "calibration slope": (1.03, 0.9, 1.17)},
            "5-fold cross-validation, 200 bootstrap resamples",
        ),
        ModelInfo(
            "os",
            "net-os-xgb-cox",
            "4",
            {"C-index": (0.701, 0.668, 0.734)},
            "5-fold cross-validation",
        ),
    ]
    drivers_pfs = [
        Driver(
            "ki67_percent",
            "Ki-67 index",
            "15 % (G2)",
            0.3817,
            "Ki-67 15 % (G2) raises the risk of progression.",
            -0.0612,
            -0.0874,
        ),
        Driver(
            "krenning_score",
            "Krenning score",
            "4",
            -0.2741,
            "Krenning score 4 lowers the risk of progression.",
            0.0433,
            0.0581,
        ),
        Driver(
            "primary_site",
            "Primary site",
            "Pancreas",
            0.1532,
            "A pancreatic primary raises the risk of progression.",
            -0.0251,
            -0.0337,
        ),
        Driver(
            "hepatic_tumour_burden",
            "Hepatic tumour burden",
            "25–50 %",
            0.1204,
            "Liver burden 25–50 % raises the risk of progression.",
            -0.0199,
            -0.0262,
        ),
        Driver(
            "ecog",
            "ECOG performance status",
            "not recorded (assumed 1)",
            0.0113,
            "ECOG performance status not recorded (assumed 1) raises the risk of progression "
            "(1.01 × the hazard of an average patient).",
            None,
            None,
        ),
    ]
    drivers_response = [
        Driver(
            "krenning_score",
            "Krenning score",
            "4",
            0.512,
            "Krenning score 4 makes response more likely.",
        ),
        Driver(
            "ki67_percent",
            "Ki-67 index",
            "15 % (G2)",
            0.204,
            "Ki-67 15 % makes response slightly more likely.",
        ),
    ]
    drivers_os = [Driver("age", "Age", "67 years", 0.221, "Age 67 raises the risk of death.")]
    ineligible = TherapyPrediction(
        "sunitinib",
        "Sunitinib",
        eligible=False,
        ineligible_reason="Sunitinib is approved for pancreatic NET only; "
        "primary site is small intestine <b>&</b>.",
    )
    return PatientReport(
        pseudonym=pseudonymise(RAW_PATIENT["patient_id"]),
        index_therapy="prrt_lu177",
        made_on="2026-11-22",
        intended_use="Decision support for NET specialists discussing second-line therapy for "
        "adults with advanced, "
        "well-differentiated gastroenteropancreatic NET.",
        limitations=[
            "Not validated for G3 NEC or for patients under 18.",
            "Trained on synthetic data: do not use for care.",
        ],
        predictions=[
            make_prediction("prrt_lu177", "PRRT (177Lu-DOTATATE)", 0.4213, 26.0, 60.0),
            make_prediction("everolimus", "Everolimus", 0.0912, 13.0, 42.0),
            replace(
                make_prediction("ssa", "Somatostatin analogue", 0.0431, 17.0, 55.0),
                positivity_note="Few similar patients received SSA at this line; "
                "interpret with care.",
            ),
            ineligible,
        ],
        drivers_response=drivers_response,
        drivers_pfs=drivers_pfs,
        drivers_os=drivers_os,
        base_text={
            "pfs": "An average patient in the training cohort has a 12-month PFS of 71 %.",
            "response": "An average patient has a response probability of 24 %.",
        },
        missing=[
            ("ECOG performance status", "imputed with the cohort median (1); flagged as missing"),
            ("Chromogranin A", "missing-indicator; the model learnt from missingness"),
        ],
        models=models,
        at_a_glance=list(GLANCE),
        observed=[("Best response (RECIST)", "partial or complete response"),
                  ("Progression-free survival", "progression or death at 21.4 months")],
        in_sample=True,
    )


GLANCE = [
    GlanceItem("ki67_percent", "Ki-67 index", "15 % (G2)", 15.0),
    GlanceItem("who_grade", "WHO grade (from Ki-67)", "G2", "G2"),
    GlanceItem("differentiation", "Tumour differentiation", "well differentiated", "well"),
    GlanceItem("krenning_score", "Krenning-like uptake score", "4 (uptake above spleen)", 4.0),
    GlanceItem("sstr_suvmax", "SSTR-PET highest SUVmax", "38.2", 38.2),
    GlanceItem("fdg_pet_done", "FDG-PET done", "done", 1.0),
    GlanceItem("fdg_positive", "FDG-PET positive", "no", 0.0),
    GlanceItem("netpet_grade", "NETPET-like grade", "1 (FDG-negative)", 1.0),
    GlanceItem("cga_log10_uln", "Chromogranin A", "31.6 × ULN (about 3,160 ng/mL)", 1.5),
    GlanceItem("cga_log_slope_per_month", "CgA trend",
               "+2.8 % per month (doubling time 24.8 months)", 0.02795),
    GlanceItem("alp", "Alkaline phosphatase", "212 U/L", 212.0),
    GlanceItem("albumin", "Albumin", "not measured", None),
    GlanceItem("ecog", "ECOG performance status", "not recorded", None),
    GlanceItem("hepatic_tumour_burden_pct", "Hepatic tumour burden", "32 %", 32.0),
    GlanceItem("primary_site", "Primary tumour site", "Small intestine (midgut)",
               "small_intestine"),
    GlanceItem("n_prior_lines", "Number of prior therapy lines", "1", 1.0),
]
"""The fixture patient at a glance (texts as `models.explain_text.format_value` writes them)."""


def make_png(seed: int, size: tuple[int, int] = (320, 220)) -> bytes:
    """A small non-blank PNG (matplotlib, headless)."""

    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(size[0] / 80, size[1] / 80), dpi=80)
    ax.scatter(
        rng.normal(size=200), rng.normal(size=200), c=rng.uniform(size=200), cmap="coolwarm", s=8
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def build_cohort_report(patient_report: PatientReport, pngs: list[bytes]) -> CohortReport:
    """Build the fixture cohort report."""
    return CohortReport(
        n_patients=1200,
        n_events={"progression": 731, "death": 402},
        made_on="2026-11-22",
        global_importance=[
            ("Ki-67 index", 0.412),
            ("Krenning score", 0.297),
            ("Primary site", 0.183),
            ("Hepatic tumour burden", 0.141),
            ("FDG-PET positive", 0.122),
            ("Age", 0.061),
        ],
        beeswarm_png=pngs[0],
        dependence_pngs=[("Ki-67 index", pngs[1]), ("Krenning score", pngs[2])],
        calibration_pngs=[("PFS at 24 months", pngs[1])],
        subgroup_table=[
            {"subgroup": "pancreas", "n": 402, "C-index": 0.671, "95 % CI": "0.63–0.71"},
            {"subgroup": "small intestine", "n": 515, "C-index": 0.694, "95 % CI": "0.66–0.73"},
        ],
        patient_links=[
            (patient_report.pseudonym, f"patients/{patient_report.pseudonym}.html"),
            (pseudonymise("MRN-0000001"), f"patients/{pseudonymise('MRN-0000001')}.html"),
        ],
        models=patient_report.models,
        intended_use="Overview of the models for the NET tumour board and model reviewers.",
    )

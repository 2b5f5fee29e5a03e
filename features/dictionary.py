"""The feature dictionary: clinical label, unit, family, role, type, source and range per column.

``build_dictionary`` returns a JSON-serialisable ``{"version": 1, "features": [...]}``; reports
and explanations read their words and units from it. ``predictor`` says whether a model may use
the column as an input (features, and the group columns sex, primary site and WHO grade).

``display`` (optional) says how a clinician reads a value (``models.explain_text.format_value``
applies it):

* ``transform``: ``log10_multiple`` (the column is log10 of a multiple of the ULN: shown as
  ``10**value`` x ULN and, with ``reference`` ``{"value": ULN, "unit", "floor"}``, in that unit) or
  ``ln_rate_per_month`` (a natural-log slope per month: shown as % per month with its doubling
  or halving time);
* ``unit``: the unit shown, when it differs from the stored ``unit``;
* ``value_labels``: ``[{"value", "label"}, ...]``, words for codes and score levels;
* ``missing_text``: what a missing value is called (default "not measured");
* ``indicator_of``: ``{"variable", "label"}`` for a flag saying whether a measure exists
  (``ki67_available`` -> "Ki-67 index not measured").

Imaging measures are listed as clinicians read them: Krenning score, then SUVmax, then SUVmean.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from clinical import SITES, THERAPIES, site_label, therapy_label
from clinical.measures import (
    DIFFERENTIATION_WORDS,
    NETPET_WORDS,
    NOT_MEASURED,
    NOT_RECORDED,
    SEX_WORDS,
    SPECIMEN_WORDS,
    krenning_text,
)
from features.clinical import PRIOR_FLAG_NAMES
from features.imaging import ORGANS
from features.index import FeatureConfig
from features.labs import CGA_FLOOR_NG_ML

DICTIONARY_VERSION = 1
PRIMARY_SITES = list(SITES)
INF = None  # an open bound in ``range``

_PT, _PA, _TX, _LB = ("patients",), ("pathology",), ("treatments",), ("labs",)
_IMG = ("imaging_studies", "lesions")
_ORGAN_WORDS = {"liver": "liver", "lymph_node": "lymph-node", "bone": "bone", "lung": "lung",
                "peritoneum": "peritoneal", "primary": "primary-tumour", "other": "other"}


def _entry(name, label, unit, family, role, dtype, sources, computation, lo, hi, cats=None):
    entry = {"name": name, "label": label, "unit": unit, "family": family, "role": role,
             "dtype": dtype, "source_tables": list(sources), "computation": computation,
             "range": [lo, hi]}
    if dtype == "categorical":
        entry["categories"] = cats
    entry["predictor"] = role == "feature" or name in ("sex", "primary_site", "who_grade")
    return entry


def _flag(name, label, family, sources, computation):
    return _entry(name, label, "", family, "feature", "binary", sources, computation, 0, 1)


def _num(name, label, unit, family, sources, computation, lo, hi):
    return _entry(name, label, unit, family, "feature", "numeric", sources, computation, lo, hi)


def _base_entries(config: FeatureConfig, centres: list[str] | None) -> list[dict[str, Any]]:
    """Identifier, group, treatment, clinical and pathology entries."""
    e = [
        _entry("patient_id", "Patient pseudonym", "", "identifier", "id", "categorical", _PT,
               "Keyed pseudonym from validation.", None, None, None),
        _entry("line", "Index therapy line", "", "identifier", "id", "numeric", _TX,
               "Line number of the treatment line being predicted.", 1, INF),
        _entry("centre_id", "Centre", "", "clinical", "group", "categorical", _PT,
               "Treating centre as exported.", None, None, centres),
        _entry("sex", "Sex", "", "clinical", "group", "categorical", _PT,
               "Sex as recorded.", None, None, ["F", "M"]),
        _entry("primary_site", "Primary tumour site", "", "clinical", "group", "categorical",
               _PT, "Primary site as recorded.", None, None, PRIMARY_SITES),
        _entry("who_grade", "WHO grade (from Ki-67)", "", "pathology", "group", "categorical",
               _PA, "G1 if Ki-67 < 3 %, G2 if 3-20 %, G3 if > 20 % (latest Ki-67).", None, None,
               ["G1", "G2", "G3"]),
        _entry("therapy", "Index therapy", "", "treatment", "treatment", "categorical", _TX,
               "Therapy of the index line.", None, None, list(config.index_therapies)),
        _num("age_at_index", "Age at index", "years", "clinical", _PT,
             "Index date minus 1 July of the birth year, in years.", 0, 120),
        _num("ecog", "ECOG performance status", "", "clinical", _PT,
             "ECOG as recorded (0-4).", 0, 4),
        _flag("functional_syndrome", "Functional (hormonal) syndrome", "clinical", _PT,
              "Functional syndrome as recorded."),
        _num("months_since_diagnosis", "Time since diagnosis", "months", "clinical", _PT,
             "Index date minus diagnosis date, days / 30.4375.", 0, 1200),
        _num("line_number", "Therapy line number", "", "treatment", _TX,
             "Line number of the index line.", 1, INF),
        _num("n_prior_lines", "Number of prior therapy lines", "", "treatment", _TX,
             "Distinct lines with a lower number started on or before the index date.", 0, INF),
    ]
    for therapy, name in PRIOR_FLAG_NAMES.items():
        words = therapy_label(therapy)
        words = words if words[1:2].isupper() else words[:1].lower() + words[1:]  # PRRT stays
        e.append(_flag(name, f"Prior {words}", "treatment", _TX,
                       f"1 if a prior line used {words}."))
    e += [
        _num("prior_prrt_activity_gbq", "Prior PRRT cumulative activity", "GBq", "treatment",
             _TX, "Sum of cumulative activity over prior PRRT lines (0 without prior PRRT).",
             0, 200),
        _num("ki67_percent", "Ki-67 index", "%", "pathology", _PA,
             "Latest Ki-67 on or before the index date (same day: highest).", 0, 100),
        _flag("ki67_available", "Ki-67 available", "pathology", _PA,
              "1 if a Ki-67 value exists on or before the index date."),
        _entry("specimen", "Ki-67 specimen type", "", "pathology", "feature", "categorical", _PA,
               "Specimen of the sample giving the latest Ki-67.", None, None,
               ["primary", "metastasis"]),
        _entry("differentiation", "Tumour differentiation", "", "pathology", "feature",
               "categorical", _PA, "Latest recorded differentiation.", None, None,
               ["well", "poor"]),
    ]
    for marker, label in (("sstr2_ihc", "SSTR2"), ("egfr_ihc", "EGFR"), ("cmet_ihc", "c-MET"),
                          ("igf1r_ihc", "IGF-1R")):
        e.append(_num(marker, f"{label} immunohistochemistry score", "", "pathology", _PA,
                      f"Latest recorded {label} IHC score (0-3).", 0, 3))
    e.append(_flag("daxx_atrx_loss", "DAXX/ATRX loss", "pathology", _PA,
                   "Latest recorded DAXX/ATRX loss."))
    return e


def _biomarker_entries(config: FeatureConfig) -> list[dict[str, Any]]:
    """Lab-derived entries (latest value within the labs look-back unless stated)."""
    lb = "Latest value within the labs look-back"
    return [
        _num("cga_log10_uln", "Chromogranin A", "log10(CgA / ULN)", "biomarker", _LB,
             f"log10(CgA / {config.cga_uln:g} ng/mL), CgA floored at 1 ng/mL; {lb}.",
             round(math.log10(1.0 / config.cga_uln), 6),
             round(math.log10(100000.0 / config.cga_uln), 6)),
        _num("cga_log_slope_per_month", "CgA trend", "ln(ng/mL) per month", "biomarker",
             _LB, "Least-squares slope of ln(CgA) on time over the CgA-series window.", INF, INF),
        _num("cga_doubling_time_months", "CgA doubling time", "months", "biomarker", _LB,
             "ln 2 / CgA log-slope when the slope is positive, else missing.", 0, INF),
        _num("cga_n_values", "Number of CgA values in series", "", "biomarker", _LB,
             "CgA measurements in the CgA-series window.", 0, INF),
        _flag("ppi_use", "Proton-pump inhibitor use", "biomarker", _LB,
              f"{lb} of the PPI-use flag (PPIs raise CgA)."),
        _num("alp", "Alkaline phosphatase", "U/L", "biomarker", _LB, f"{lb}.", 0, 5000),
        _num("alp_x_uln", "Alkaline phosphatase", "× ULN", "biomarker", _LB,
             f"ALP / {config.alp_uln:g} U/L.", 0, round(5000.0 / config.alp_uln, 6)),
        _num("albumin", "Albumin", "g/L", "biomarker", _LB, f"{lb}.", 5, 70),
        _num("nlr", "Neutrophil-to-lymphocyte ratio", "", "biomarker", _LB,
             "Neutrophils / lymphocytes on the latest date with both in the window.", 0, INF),
        _num("plr", "Platelet-to-lymphocyte ratio", "", "biomarker", _LB,
             "Platelets / lymphocytes on the latest date with both in the window.", 0, INF),
        _num("haemoglobin", "Haemoglobin", "g/dL", "biomarker", _LB, f"{lb}.", 2, 25),
        _num("platelets", "Platelets", "10^9/L", "biomarker", _LB, f"{lb}.", 0, 2000),
        _num("creatinine", "Creatinine", "µmol/L", "biomarker", _LB, f"{lb}.", 5, 3000),
        _num("egfr_ckd_epi_2021", "eGFR (CKD-EPI 2021)", "mL/min/1.73 m²", "biomarker",
             ("labs", "patients"), "Race-free CKD-EPI 2021 from latest creatinine, age and sex.",
             0, 300),
        _num("bilirubin", "Bilirubin", "µmol/L", "biomarker", _LB, f"{lb}.", 0, 1000),
        _num("nse", "Neuron-specific enolase", "ng/mL", "biomarker", _LB, f"{lb}.", 0, 5000),
        _num("hiaa_5", "Urinary 5-HIAA", "µmol/24h", "biomarker", _LB, f"{lb}.", 0, 10000),
    ]


def _imaging_entries() -> list[dict[str, Any]]:
    """Entries for the baseline SSTR-PET, FDG-PET and CT/MRI features."""
    s = "baseline SSTR-PET"
    e = [
        _flag("sstr_pet_done", "SSTR-PET done", "imaging", _IMG,
              "1 if an SSTR-PET lies in the imaging look-back."),
        _num("krenning_score", "Krenning-like uptake score", "", "imaging", _IMG,
             "0 none, 1 below liver, 2 about liver (±10 %), 3 above liver, 4 above spleen.", 0, 4),
        _num("sstr_suvmax", "SSTR-PET highest SUVmax", "g/mL", "imaging", _IMG,
             f"Highest lesion SUVmax on the {s}.", 0, INF),
        _num("sstr_suvmean_vw", "SSTR-PET volume-weighted SUVmean", "g/mL", "imaging", _IMG,
             f"Sum(SUVmean x volume) / sum(volume) over lesions of the {s}.", 0, INF),
        _num("sstr_tlr", "SSTR tumour-to-liver ratio", "", "imaging", _IMG,
             f"Highest SUVmax / liver SUVmean on the {s}.", 0, INF),
        _num("sstr_tumour_volume_ml", "SSTR-expressing tumour volume", "mL", "imaging", _IMG,
             f"Volume of lesions with SUVmax above liver SUVmean on the {s}.", 0, INF),
        _num("sstr_total_lesion", "Total lesion SSTR", "g", "imaging", _IMG,
             "Sum of SUVmean x volume over SSTR-expressing lesions.", 0, INF),
        _num("sstr_suvmax_cv", "Inter-lesion heterogeneity (CV of SUVmax)", "", "imaging", _IMG,
             f"SD (ddof 1) / mean of lesion SUVmax on the {s}; missing with < 2 lesions.", 0, INF),
        _num("sstr_n_lesions", "Number of lesions (SSTR-PET)", "", "imaging", _IMG,
             f"Lesions recorded on the {s}.", 0, INF),
    ]
    for organ in ORGANS:
        e.append(_num(f"sstr_n_lesions_{organ}", f"Number of {_ORGAN_WORDS[organ]} lesions",
                      "", "imaging", _IMG, f"{organ} lesions recorded on the {s}.", 0, INF))
    e += [
        _flag("largest_lesion_gt30mm", "Largest lesion > 30 mm", "imaging", _IMG,
              "1 if a lesion of the baseline SSTR-PET or CT/MRI measures > 30 mm."),
        _num("hepatic_tumour_burden_pct", "Hepatic tumour burden", "%", "imaging", _IMG,
             "Sum of liver lesion volume / liver volume x 100 (SSTR-PET, else CT/MRI).", 0, 100),
        _flag("bone_involvement", "Bone metastases", "imaging", _IMG,
              "1 if a bone lesion is recorded on the baseline SSTR-PET or CT/MRI."),
        _flag("fdg_pet_done", "FDG-PET done", "imaging", _IMG,
              "1 if an FDG-PET lies in the imaging look-back."),
        _flag("fdg_positive", "FDG-PET positive", "imaging", _IMG,
              "1 if any lesion's SUVmax exceeds the liver SUVmean on the baseline FDG-PET."),
        _num("fdg_suvmax", "FDG-PET highest SUVmax", "g/mL", "imaging", _IMG,
             "Highest lesion SUVmax on the baseline FDG-PET.", 0, INF),
        _num("netpet_grade", "NETPET-like grade", "", "imaging", _IMG,
             "0 no FDG-PET, 1 FDG-, 2-4 FDG+ by FDG/SSTR SUVmax, 5 FDG+ without SSTR uptake.",
             0, 5),
        _num("ct_sld_mm", "Sum of longest diameters (CT/MRI)", "mm", "imaging", _IMG,
             "Sum of lesion longest diameters on the latest CT/MRI in the CT look-back.", 0, INF),
        _num("tgr_pct_month", "Tumour growth rate", "%/month", "imaging", _IMG,
             "100 x (exp(3 ln(D1/D0) / months) - 1) from the two latest CT/MRI (Ferté 2014).",
             -100, INF),
        _flag("tgr_available", "Tumour growth rate available", "imaging", _IMG,
              "1 if two CT/MRI studies with measurable lesions allow a growth rate."),
    ]
    return e


def _labels(words: dict[Any, str]) -> list[dict[str, Any]]:
    return [{"value": value, "label": label} for value, label in words.items()]


def _indicator(variable: str | None, label: str, absent: str, present: str) -> dict[str, Any]:
    return {"indicator_of": {"variable": variable, "label": label},
            "value_labels": _labels({0: absent, 1: present})}


def _recorded() -> dict[str, str]:
    return {"missing_text": NOT_RECORDED}


def _no_unit() -> dict[str, str]:
    return {"unit": ""}  # SUVs are quoted without their g/mL


def _display_hints(config: FeatureConfig) -> dict[str, dict[str, Any]]:
    """Column -> how a clinician reads its values (see the module docstring)."""
    return {
        "sex": {"value_labels": _labels(SEX_WORDS), **_recorded()},
        "primary_site": {"value_labels": _labels({c: site_label(c) for c in SITES}),
                         "missing_text": site_label(None)},
        "who_grade": {"missing_text": f"unknown (Ki-67 {NOT_MEASURED})"},
        "therapy": {"value_labels": _labels({c: therapy_label(c) for c in THERAPIES})},
        "ecog": _recorded(),
        "functional_syndrome": _recorded(),
        "specimen": {"value_labels": _labels(SPECIMEN_WORDS), **_recorded()},
        "differentiation": {"value_labels": _labels(DIFFERENTIATION_WORDS), **_recorded()},
        "ki67_available": _indicator("ki67_percent", "Ki-67 index", NOT_MEASURED, "measured"),
        "cga_log10_uln": {"transform": "log10_multiple", "unit": "× ULN",
                          "reference": {"value": config.cga_uln, "unit": "ng/mL",
                                        "floor": CGA_FLOOR_NG_ML}},
        "alp_x_uln": {"reference": {"value": config.alp_uln, "unit": "U/L"}},  # ULN of training
        "cga_log_slope_per_month": {"transform": "ln_rate_per_month", "unit": "% per month",
                                    "missing_text": f"{NOT_MEASURED} (fewer than two CgA values)"},
        "cga_doubling_time_months": {
            "missing_text": "not applicable (CgA not rising, or fewer than two values)"},
        "sstr_pet_done": _indicator(None, "SSTR-PET", "not done", "done"),
        "krenning_score": {"value_labels": _labels({k: krenning_text(k) for k in range(5)}),
                           "missing_text": f"{NOT_MEASURED} (no SSTR-PET)"},
        "sstr_suvmax": _no_unit(),
        "sstr_suvmean_vw": _no_unit(),
        "fdg_pet_done": _indicator(None, "FDG-PET", "not done", "done"),
        "fdg_suvmax": _no_unit(),
        "netpet_grade": {"value_labels": _labels(NETPET_WORDS),
                         "missing_text": "not graded (FDG-positive without SSTR-PET, or FDG "
                                         "result unclear)"},
        "tgr_available": _indicator("tgr_pct_month", "Tumour growth rate",
                                    f"{NOT_MEASURED} (fewer than two CT/MRI)", "measured"),
    }


def _target_entries() -> list[dict[str, Any]]:
    src = ("assessments", "patients")
    return [
        _entry("response", "Objective response", "", "target", "target", "binary", src,
               "1 if best RECIST of the line is CR/PR, 0 if SD/PD, missing if not evaluable.",
               0, 1),
        _entry("disease_control", "Disease control", "", "target", "target", "binary", src,
               "1 if best RECIST is CR/PR/SD, 0 if PD only, missing if not evaluable.", 0, 1),
        _entry("pfs_months", "Progression-free survival", "months", "target", "target",
               "numeric", src, "Index date to first progression of the line or death.", 0, INF),
        _entry("pfs_event", "Progression or death observed", "", "target", "target", "binary",
               src, "1 if progression or death ended PFS, 0 if censored at last contact.", 0, 1),
        _entry("os_months", "Overall survival", "months", "target", "target", "numeric", src,
               "Index date to death or last contact.", 0, INF),
        _entry("os_event", "Death observed", "", "target", "target", "binary", src,
               "1 if death, 0 if censored at last contact.", 0, 1),
    ]


def build_dictionary(config: FeatureConfig, centres: list[str] | None = None) -> dict[str, Any]:
    """The dictionary of every cohort column, in output order.

    Args:
        config: feature settings (ULNs and index therapies enter labels and ranges).
        centres: centre identifiers seen in the cohort (categories of ``centre_id``).

    Returns:
        ``{"version": 1, "features": [entry, ...]}``, JSON-serialisable.
    """
    entries = (
        _base_entries(config, centres)
        + _biomarker_entries(config)
        + _imaging_entries()
        + _target_entries()
    )
    hints = _display_hints(config)
    for entry in entries:  # loop over dictionary entries
        if entry["name"] in hints:
            entry["display"] = hints[entry["name"]]
    return {"version": DICTIONARY_VERSION, "features": entries}


def column_order(dictionary: dict[str, Any]) -> list[str]:
    """Column names in dictionary order."""
    return [entry["name"] for entry in dictionary["features"]]


def check_against_dictionary(cohort: pd.DataFrame, dictionary: dict[str, Any]) -> list[str]:
    """Problems of a cohort against its dictionary (missing entries, out-of-range values).

    Returns:
        Human-readable problems; empty when the cohort conforms.
    """
    entries = {entry["name"]: entry for entry in dictionary["features"]}
    problems = [f"{col}: no dictionary entry" for col in cohort.columns if col not in entries]
    problems += [f"{name}: not in cohort" for name in entries if name not in cohort.columns]
    for name, entry in entries.items():
        if name not in cohort.columns:
            continue
        values = cohort[name]
        if entry["dtype"] == "categorical":
            cats = entry.get("categories")
            bad = values.dropna()[~values.dropna().isin(cats)] if cats is not None else []
            if len(bad):
                problems.append(f"{name}: unexpected categories {sorted(set(bad))[:5]}")
            continue
        num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        lo, hi = entry["range"]
        if np.isinf(num).any():
            problems.append(f"{name}: infinite values")
        if lo is not None and (num < lo).any():
            problems.append(f"{name}: values below {lo} (min {np.nanmin(num):.4g})")
        if hi is not None and (num > hi).any():
            problems.append(f"{name}: values above {hi} (max {np.nanmax(num):.4g})")
        if entry["dtype"] == "binary" and not np.isin(num[~np.isnan(num)], [0.0, 1.0]).all():
            problems.append(f"{name}: non-binary values")
    return problems

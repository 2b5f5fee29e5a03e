"""Words clinicians use for measures: uptake scores, differentiation, "not measured".

Plain data only. The feature dictionary turns these into per-feature display hints; the
explanation texts read the hints, so a word is changed here once for every report.
"""

from __future__ import annotations

NOT_MEASURED = "not measured"
"""Value text of a measurement that was not made (no Ki-67, no FDG-PET, no CgA)."""

NOT_RECORDED = "not recorded"
"""Value text of a clinical fact left empty in the record (ECOG, sex, differentiation)."""

KRENNING_WORDS: dict[int, str] = {
    0: "no lesion with uptake",
    1: "uptake below liver",
    2: "uptake about that of the liver",
    3: "uptake above liver",
    4: "uptake above spleen",
}
"""Krenning-like SSTR uptake score (0-4) in words (highest lesion vs liver and spleen)."""

NETPET_WORDS: dict[int, str] = {
    0: f"{NOT_MEASURED} (no FDG-PET)",
    1: "1 (FDG-negative)",
    2: "2 (FDG-positive, FDG SUVmax at most half the SSTR SUVmax)",
    3: "3 (FDG-positive, FDG SUVmax above half, up to the SSTR SUVmax)",
    4: "4 (FDG-positive, FDG SUVmax above the SSTR SUVmax)",
    5: "5 (FDG-positive without SSTR uptake)",
}
"""NETPET-like dual-tracer grade in words; grade 0 means that no FDG-PET was done."""

DIFFERENTIATION_WORDS: dict[str, str] = {
    "well": "well differentiated",
    "poor": "poorly differentiated",
}

SPECIMEN_WORDS: dict[str, str] = {
    "primary": "primary tumour",
    "metastasis": "metastasis",
}

SEX_WORDS: dict[str, str] = {"F": "female", "M": "male"}


def krenning_text(score: int) -> str:
    """``"3 (uptake above liver)"`` for a Krenning-like score; the number alone if unknown."""
    words = KRENNING_WORDS.get(int(score))
    return f"{int(score)} ({words})" if words else str(score)

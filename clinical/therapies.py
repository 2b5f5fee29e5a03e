"""Therapy codes of the data contract, with clinical labels, fixed colours and eligibility words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Therapy:
    """One therapy of the contract.

    Attributes:
        code: The code in exports, features and JSON (``prrt_lu177``).
        label: Clinical label for reports (``PRRT (177Lu-DOTATATE)``).
        short: Short label for tables and charts (``PRRT``).
        colour: Fixed chart colour (Okabe-Ito, colour-blind safe), the same on every page.
        prior_flag: Name of the "had this therapy before the index line" feature.
        index: True if a line of this therapy can be predicted (a candidate of the what-if).
        eligibility: The eligibility rule in words ("" when none beyond the indication).
    """

    code: str
    label: str
    short: str
    colour: str
    prior_flag: str
    index: bool
    eligibility: str = ""


_ALL = (
    Therapy("prrt_lu177", "PRRT (177Lu-DOTATATE)", "PRRT", "#0072B2", "prior_prrt", True,
            "SSTR uptake at least that of the liver (Krenning score >= 2)"),
    Therapy("everolimus", "Everolimus", "Everolimus", "#E69F00", "prior_everolimus", True),
    Therapy("sunitinib", "Sunitinib", "Sunitinib", "#009E73", "prior_sunitinib", True,
            "pancreatic primary only"),
    Therapy("ssa", "Somatostatin analogue", "SSA", "#CC79A7", "prior_ssa", True),
    Therapy("chemotherapy", "Chemotherapy", "Chemotherapy", "#D55E00", "prior_chemotherapy", True),
    Therapy("liver_directed", "Liver-directed therapy", "Liver-directed", "#56B4E9",
            "prior_liver_directed", False),
    Therapy("surgery", "Surgery", "Surgery", "#999999", "prior_surgery", False),
)

THERAPIES: dict[str, Therapy] = {t.code: t for t in _ALL}
"""Every therapy code of the contract, in contract order."""

INDEX_THERAPIES: tuple[str, ...] = tuple(t.code for t in _ALL if t.index)
"""Therapies whose lines are predicted (the what-if candidates), in contract order."""

PRIOR_THERAPIES: tuple[str, ...] = tuple(THERAPIES)
"""Therapy classes counted as prior lines."""

# Minimum Krenning score (SSTR uptake vs liver) for PRRT eligibility (NETTER-1 inclusion).
PRRT_MIN_KRENNING = 2
SUNITINIB_SITE = "pancreas"


def therapy(code: str) -> Therapy:
    """The therapy of a code; ``KeyError`` naming the valid codes otherwise."""
    try:
        return THERAPIES[code]
    except KeyError:
        raise KeyError(f"unknown therapy {code!r}; valid: {', '.join(THERAPIES)}") from None


def therapy_label(code: str, short: bool = False) -> str:
    """Clinical label of a therapy code; the code itself (with spaces) if it is not one."""
    t = THERAPIES.get(str(code))
    if t is None:
        return str(code).replace("_", " ")
    return t.short if short else t.label


def therapy_colour(code: str) -> str:
    """Fixed chart colour of a therapy (grey for an unknown code)."""
    t = THERAPIES.get(str(code))
    return t.colour if t is not None else "#666666"

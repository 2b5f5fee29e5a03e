"""The cohort report's "Does the model choose the therapy well?" section, from ``metrics.json``.

Reads the ``benefit`` block the evaluation wrote per endpoint (first horizon of a survival
endpoint) and puts it in clinical words: c-for-benefit per therapy pair, the expected outcome
under treatment rules (doubly robust estimate with its 95 % confidence interval), positivity and,
on simulated data, how often the model picked the truly best therapy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from clinical.endpoints import endpoint as endpoint_words
from clinical.therapies import therapy_label
from pipeline.report import BenefitSection

RULES_SHOWN = ("model", "as_treated", "prrt_else_everolimus")


def _pct(v: float) -> str:
    """A share in percent; estimates outside 0-100 % (doubly robust ones can be) are capped."""
    return f"{100 * min(max(v, 0.0), 1.0):.0f}%"


def _first_block(metrics: Mapping[str, Any], ep: str) -> dict[str, Any] | None:
    benefit = metrics.get(ep, {}).get("benefit") or {}
    return next(iter(benefit.values()), None)


def _outcome(ep: str, block: Mapping[str, Any]) -> str:
    words = endpoint_words(ep)
    if words.kind == "binary":
        return words.label
    return f"{words.short}: {words.event_free} at {block['horizon_months']:g} months"


def rule_words(name: str, reference: str) -> str:
    """A treatment rule in words."""
    if name == "model":
        return "The therapy the model predicts best (among those the patient is eligible for)"
    if name == "as_treated":
        return "The therapy actually given (observed)"
    if name == "prrt_else_everolimus":
        return f"{therapy_label('prrt_lu177')} if eligible, otherwise {therapy_label('everolimus')}"
    code = name.removeprefix("all_")
    if code == reference:
        return f"{therapy_label(code)} for everyone"
    return (f"{therapy_label(code)} for everyone eligible (others "
            f"{therapy_label(reference, short=True)})")


def _policy_rows(ep: str, block: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    names = [*RULES_SHOWN, f"all_{block['reference']}"]
    for name in names:  # loop over rules
        value = block["policy"].get(name)
        if not value:
            continue
        if "dr" in value:
            dr = value["dr"]
            lo, hi = 100 * max(dr["lo"], 0.0), 100 * min(dr["hi"], 1.0)
            text = f"{_pct(dr['value'])} ({lo:.0f}-{hi:.0f}%)"
        elif "observed" in value:
            text = f"{_pct(value['observed'])} (observed)"
        else:
            text = "-"
        rows.append((rule_words(name, block["reference"]), _outcome(ep, block), text))
    return rows


def _c_rows(ep: str, block: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for code, pair in block["pairs"].items():  # loop over therapy pairs
        c = pair["c_for_benefit"]
        rows.append((f"{therapy_label(code)} vs {therapy_label(block['reference'])}",
                     _outcome(ep, block), f"{pair['n_candidate']} / {pair['n_reference']}",
                     f"{c['c']:.2f} ({c['lo']:.2f}-{c['hi']:.2f})"))
    return rows


def _truth_note(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    parts = []
    for ep, block in blocks.items():  # loop over endpoints
        truth = block.get("truth")
        if not truth:
            continue
        best = max(truth["truly_best_share"].items(), key=lambda kv: kv[1])
        parts.append(f"{endpoint_words(ep).short}: {_pct(truth['model_picks_truly_best'])} of "
                     f"patients (truly best most often: {therapy_label(best[0], short=True)}, "
                     f"{_pct(best[1])})")
    if not parts:
        return ""
    return ("Simulated cohort, where every patient's true outcome under every therapy is known: "
            "the model's choice was the truly best therapy for " + "; ".join(parts) + ".")


def _overlap_note(blocks: Mapping[str, Mapping[str, Any]]) -> str:
    block = next(iter(blocks.values()))
    rare = [(code, o["share_below_threshold"]) for code, o in block["overlap"].items()
            if o["share_below_threshold"] > 0]
    if not rare:
        return "Every therapy was given to patients like every other patient (no positivity gap)."
    words = ", ".join(f"{therapy_label(c, short=True)} for {_pct(s)}" for c, s in rare)
    return (f"Therapies rarely given to similar patients (propensity below 5%): {words} of "
            "patients. Predictions for those patients and therapies are extrapolations.")


def benefit_section(metrics: Mapping[str, Any], plots_dir: Path,
                    endpoints: Sequence[str]) -> BenefitSection | None:
    """The report section, or None when the evaluation computed no benefit figures."""
    blocks = {ep: b for ep in endpoints if (b := _first_block(metrics, ep)) is not None}
    if not blocks:
        return None
    reference = therapy_label(next(iter(blocks.values()))["reference"])
    intro = (
        "The models predict each patient's outcome under every candidate therapy. These checks "
        f"ask whether those predictions tell which patients gain more from a therapy than from "
        f"{reference}, and whether choosing by the model would beat simpler rules. Every patient "
        "is scored by a model that never saw them (cross-validation); comparisons of patients "
        "given different therapies are re-weighted by how likely each therapy was for similar "
        "patients (inverse propensity weighting), so they estimate, not prove, causal effects.")
    figures = []
    for ep in blocks:  # loop over endpoints
        path = Path(plots_dir) / ep / "benefit_calibration.png"
        if path.exists():
            figures.append((f"{endpoint_words(ep).short}: observed vs predicted benefit by fifth "
                            "of predicted benefit (95% bootstrap intervals; diagonal = ideal)",
                            path))
    overlap = Path(plots_dir) / "benefit_overlap.png"
    if overlap.exists():
        figures.append(("Propensity of each therapy: patients who received it vs the others",
                        overlap))
    return BenefitSection(
        intro=intro,
        c_rows=[r for ep, b in blocks.items() for r in _c_rows(ep, b)],
        policy_rows=[r for ep, b in blocks.items() for r in _policy_rows(ep, b)],
        figures=figures, overlap_note=_overlap_note(blocks), truth_note=_truth_note(blocks))

"""Therapy: eligibility, treatment effects with their modifiers, assignment and prior lines.

Treatment effects are PFS log hazard ratios versus a placebo-like reference (clinical-grounding
§8.3) with the interactions of §4: SSTR density scales the PRRT effect (no effect below liver
uptake), heterogeneity, a >30 mm lesion and Ki-67 > 35 % attenuate it; the SSA effect fades
with Ki-67 >= 5 % and hepatic burden > 25 % and is near-null once the tumour progressed on SSA;
everolimus is stronger in pancreas; sunitinib is pancreas-only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.simulate._params import block, log_hr, population_preset
from features.simulate.selection import PopulationSelection

THERAPIES = ("prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy")


def compute_eligibility(parameters: dict[str, Any], pt: pd.DataFrame) -> pd.DataFrame:
    """Boolean eligibility per candidate therapy (columns = therapies)."""
    t = block(parameters, "therapy")
    prrt = (
        (pt["tlr_true"] >= t["prrt_min_tlr"])
        & (pt["creatinine_true"] <= t["prrt_max_creatinine"])
        & (pt["platelets_true"] >= t["prrt_min_platelets"])
        & (pt["haemoglobin_true"] >= t["prrt_min_haemoglobin"])
    )
    ones = np.ones(len(pt), dtype=bool)
    return pd.DataFrame(
        {
            "prrt_lu177": prrt.to_numpy(),
            "everolimus": ones,
            "sunitinib": (pt["pancreas"] == 1).to_numpy(),
            "ssa": ones,
            "chemotherapy": ones,
        },
        index=pt.index,
    )


MODIFIER_TERMS = (
    "log_tlr", "heterogeneity", "fdg_positive", "log_ki67", "large_lesion", "pancreas",
    "later_line", "hepatic_burden",
)


def _modifier_term(pt: pd.DataFrame, term: str) -> np.ndarray:
    """One effect-modifier covariate, centred on the typical patient (TLR 3.3, Ki-67 4 %)."""
    if term == "log_tlr":
        return np.log(pt["tlr_true"].to_numpy() / 3.3)
    if term == "log_ki67":
        return np.log(pt["ki67_true"].to_numpy() / 4.0)
    if term == "later_line":
        return (pt["n_prior"].to_numpy() > 0).astype(float)
    column = {"hepatic_burden": "hepatic_burden_true"}.get(term, term)
    return pt[column].to_numpy().astype(float)


def _modifiers(parameters: dict[str, Any], pt: pd.DataFrame, therapy: str) -> np.ndarray:
    """Extra effect modification of a world (``effects_pfs.modifiers``): sum of coef x term."""
    spec = block(parameters, "effects_pfs").get("modifiers") or {}
    out = np.zeros(len(pt))
    for term, coef in (spec.get(therapy) or {}).items():
        if term not in MODIFIER_TERMS:
            raise ValueError(
                f"effects_pfs.modifiers.{therapy}: unknown term {term!r}; "
                f"expected one of {', '.join(MODIFIER_TERMS)}"
            )
        out = out + float(coef) * _modifier_term(pt, term)
    return out


def compute_treatment_log_hr(
    parameters: dict[str, Any], pt: pd.DataFrame, therapy: str
) -> np.ndarray:
    """PFS log-HR of ``therapy`` versus placebo-like control for every patient (§8.3, §4)."""
    if therapy not in THERAPIES:
        raise ValueError(f"unknown therapy {therapy!r}")
    return _base_log_hr(parameters, pt, therapy) + _modifiers(parameters, pt, therapy)


def _base_log_hr(parameters: dict[str, Any], pt: pd.DataFrame, therapy: str) -> np.ndarray:
    e = block(parameters, "effects_pfs")
    pancreas = pt["pancreas"].to_numpy() == 1
    ki67 = pt["ki67_true"].to_numpy()
    if therapy == "prrt_lu177":
        log_tlr = np.log(pt["tlr_true"].to_numpy())
        f = e["prrt_sstr_floor"] + (1 - e["prrt_sstr_floor"]) * log_tlr / np.log(3.0)
        f = np.where(log_tlr < 0, 0.0, np.clip(f, 0.0, e["prrt_sstr_cap"]))
        f = f * (1 - e["prrt_heterogeneity_attenuation"] * pt["heterogeneity"].to_numpy())
        f = f * (1 - e["prrt_large_lesion_attenuation"] * pt["large_lesion"].to_numpy())
        f = f * (1 - e["prrt_high_ki67_attenuation"] * (ki67 > e["prrt_high_ki67_threshold"]))
        return log_hr(e["prrt_lu177"]) * f
    if therapy == "everolimus":
        return np.where(pancreas, log_hr(e["everolimus_pancreas"]), log_hr(e["everolimus_other"]))
    if therapy == "sunitinib":
        return np.full(len(pt), log_hr(e["sunitinib"]))
    if therapy == "ssa":
        naive = log_hr(e["ssa_naive"]) * (
            (1 - e["ssa_ki67_attenuation"] * (ki67 >= e["ssa_ki67_threshold"]))
            * (
                1
                - e["ssa_burden_attenuation"]
                * (pt["hepatic_burden_true"].to_numpy() > e["ssa_burden_threshold"])
            )
        )
        return np.where(pt["prior_ssa"].to_numpy() == 1, log_hr(e["ssa_refractory"]), naive)
    if therapy == "chemotherapy":
        return np.where(
            pancreas, log_hr(e["chemotherapy_pancreas"]), log_hr(e["chemotherapy_other"])
        )
    raise ValueError(f"unknown therapy {therapy!r}")


def assign_therapy(
    parameters: dict[str, Any],
    pt: pd.DataFrame,
    eligible: pd.DataFrame,
    rng: np.random.Generator,
    *,
    mode: str,
    population: str | None,
) -> np.ndarray:
    """Index therapy: random among eligible arms (``rct``) or by propensity (``real_world``)."""
    if mode not in ("rct", "real_world"):
        raise ValueError(f"mode must be 'rct' or 'real_world', got {mode!r}")
    preset = population_preset(parameters, population)
    arms = list(THERAPIES) if preset is None else list(preset["arms"])
    allowed = eligible[arms].to_numpy()
    if mode == "rct":
        score = np.zeros(allowed.shape)
    else:
        score = _propensity_scores(parameters, pt, arms)
    score = score + rng.gumbel(size=allowed.shape)
    score = np.where(allowed, score, -np.inf)
    return np.asarray(arms, dtype=object)[np.argmax(score, axis=1)]


def _propensity_scores(parameters: dict[str, Any], pt: pd.DataFrame, arms: list[str]) -> np.ndarray:
    t = block(parameters, "therapy")
    log_ki = np.log(pt["ki67_true"].to_numpy() / 5.0)
    terms = {
        "prrt_lu177": t["propensity_log_tlr_prrt"] * np.log(pt["tlr_true"].to_numpy()),
        "everolimus": t["propensity_pancreas_targeted"] * pt["pancreas"].to_numpy(),
        "sunitinib": t["propensity_pancreas_targeted"] * pt["pancreas"].to_numpy(),
        "ssa": t["propensity_log_ki67_ssa"] * log_ki
        + t["propensity_prior_ssa_ssa"] * pt["prior_ssa"].to_numpy(),
        "chemotherapy": t["propensity_log_ki67_chemo"] * log_ki,
    }
    return np.column_stack([t["propensity_intercept"][a] + terms[a] for a in arms])


def draw_prior_lines(
    parameters: dict[str, Any],
    n: int,
    rng: np.random.Generator,
    selection: PopulationSelection | None = None,
) -> pd.DataFrame:
    """Prior therapy lines as a wide frame: ``n_prior`` and ``prior_1..prior_4`` therapies.

    A selection requiring prior SSA at a later line draws the SSA-refractory history of the
    pivotal trials (first line SSA, then a few more); a first-line selection draws none.
    """
    t = block(parameters, "therapy")
    choices = np.asarray(t["prior_line_choices"], dtype=object)
    refractory = (
        selection is not None
        and "ssa" in selection.prior_therapies
        and selection.line in (None, "later")
    )
    if refractory:
        n_prior = 1 + np.minimum(rng.poisson(0.6, n), 3)
        first_ssa = np.ones(n, dtype=bool)
    else:
        n_prior = np.minimum(rng.poisson(t["prior_lines_mean"], n), 4)
        first_ssa = (rng.random(n) < t["p_first_prior_ssa"]) & (n_prior > 0)
    if selection is not None and selection.line == "first":
        n_prior = np.zeros(n, dtype=np.int64)
    lines = choices[rng.integers(0, len(choices), (n, 4))]
    lines[:, 0] = np.where(first_ssa, "ssa", lines[:, 0])
    lines = np.where(np.arange(4)[None, :] < n_prior[:, None], lines, None)
    out = pd.DataFrame(lines, columns=[f"prior_{j + 1}" for j in range(4)])
    out.insert(0, "n_prior", n_prior.astype(np.int64))
    out["prior_ssa"] = (lines == "ssa").any(axis=1).astype(np.int8)
    out["prior_chemo"] = (lines == "chemotherapy").any(axis=1).astype(np.int8)
    return out

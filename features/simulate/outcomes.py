"""Outcomes: prognostic linear predictors, response, Weibull PFS, OS via post-progression survival.

PFS: time to progression ~ Weibull(shape, scale * exp(-(lp_pfs + frailty)/shape)) with one
time scale for every population: the tempo comes from the patient (growth, Ki-67, burden, site,
prior lines; selection of progressive or stable disease shifts growth). Death without
progression competes with it. OS = progression time + post-progression survival (with
crossover to an active therapy after progression on the control arm), or the death time.
In trials a crossed control's post-progression log-HR is a share of its own PFS log-HR under
the experimental arm, and a therapy's post-progression hazard may rebound by a share of its PFS
benefit (PRRT), so ITT OS HRs are diluted (0.7-0.95) while PFS HRs stay strong
(clinical-grounding §4 row 11, §8.3).
Response is logistic and shares the frailty with PFS (responders progress later, §8.5).
Truth ``lp_os`` = OS covariate predictor + a share of the PFS treatment log-HR (§8.3); OS is
generated mechanistically, so this is a monotone risk score rather than an exact log-hazard.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from features.simulate._params import block, log_hr, population_preset
from features.simulate.arms import arm_log_hr, arm_therapy, response_code

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(24)
_GH_W = _GH_W / _GH_W.sum()


def compute_prognostic_lp(parameters: dict[str, Any], pt: pd.DataFrame, which: str) -> np.ndarray:
    """Prognostic log-hazard of the true covariates (``which`` = ``pfs`` or ``os``; §8.4)."""
    c = block(parameters, f"prognostic_{which}")
    lab = block(parameters, "labs")
    site_hr = pt["site"].map(c["site"]).astype(float).to_numpy()
    return (
        c["ki67_per_log"] * np.log(pt["ki67_true"].to_numpy() / 4.0)
        + log_hr(c["fdg_positive"]) * pt["fdg_positive"].to_numpy()
        + np.log(c["burden_per_unit"]) * pt["hepatic_burden_true"].to_numpy()
        + log_hr(c["bone"]) * pt["bone_mets"].to_numpy()
        + log_hr(c["log10_cga_xuln"]) * np.log10(pt["cga_true"].to_numpy() / lab["cga_uln"])
        + log_hr(c["alp_elevated"]) * (pt["alp_true"].to_numpy() > lab["alp_uln"])
        + log_hr(c["albumin_per_g_l"]) * (pt["albumin_true"].to_numpy() - 40.0)
        + log_hr(c["nlr_high"]) * (pt["nlr_true"].to_numpy() > 3.5)
        + log_hr(c["ecog_ge1"]) * (pt["ecog_true"].to_numpy() >= 1)
        + log_hr(c["age_per_10y"]) * (pt["age"].to_numpy() - 60.0) / 10.0
        + log_hr(c["prior_chemotherapy"]) * pt["prior_chemo"].to_numpy()
        + np.log(site_hr)
        + log_hr(c["fast_growth"]) * pt["fast_growth"].to_numpy()
        + log_hr(c["growth_per_log"]) * _log_growth_deviation(parameters, pt)
        + log_hr(c["later_line"]) * (pt["n_prior"].to_numpy() > 0)
        + log_hr(c["negative_control_markers"]) * pt["egfr_ihc_true"].to_numpy()
    )


def _log_growth_deviation(parameters: dict[str, Any], pt: pd.DataFrame) -> np.ndarray:
    """log(1 + TGR0) minus the world's median: the patient's own disease tempo (§2.3)."""
    g = block(parameters, "growth")
    return np.log(pt["tgr0_true"].to_numpy() + g["shift"]) - g["log_median"]


def add_lesion_size_and_prognosis(parameters: dict[str, Any], pt: pd.DataFrame,
                                  lesions: pd.DataFrame) -> None:
    """Add each patient's largest lesion (mm, > 30 mm flag) and prognostic PFS/OS log-hazards."""
    largest = np.zeros(len(pt))
    np.maximum.at(largest, lesions["pid"].to_numpy(), lesions["diameter"].to_numpy())
    pt["largest_lesion_mm"] = largest
    pt["large_lesion"] = (largest > 30.0).astype(np.int8)
    pt["lp_pfs_cov"] = compute_prognostic_lp(parameters, pt, "pfs")
    pt["lp_os_cov"] = compute_prognostic_lp(parameters, pt, "os")


def compute_response_logit(
    parameters: dict[str, Any], pt: pd.DataFrame, therapy: str
) -> np.ndarray:
    """Logit of objective response for ``therapy`` given the covariates (frailty excluded; §8.5)."""
    r = block(parameters, "response")
    eta = np.full(len(pt), float(r["intercept"][therapy]))
    eta = (
        eta
        + r["pancreas"] * pt["pancreas"].to_numpy()
        + r["fdg_positive"] * pt["fdg_positive"].to_numpy()
    )
    if therapy == "prrt_lu177":
        eta = (
            eta
            + r["prrt_log_tlr"] * np.log(pt["tlr_true"].to_numpy())
            + r["large_lesion_prrt"] * pt["large_lesion"].to_numpy()
        )
    if therapy == "ssa":
        eta = eta + r["ssa_naive_shift"] * (pt["prior_ssa"].to_numpy() == 0)
    return eta + r["first_line_shift"] * (pt["n_prior"].to_numpy() == 0)


def marginal_response_probability(parameters: dict[str, Any], eta: np.ndarray) -> np.ndarray:
    """P(response) integrated over the shared normal frailty (Gauss-Hermite)."""
    a = block(parameters, "frailty")["response_loading"]
    return expit(eta[:, None] + a * _GH_X[None, :]) @ _GH_W


def _weibull(
    rng: np.random.Generator, n: int, median: float, shape: float, lp: np.ndarray
) -> np.ndarray:
    """Weibull times with hazard multiplied by exp(lp) and the given reference median."""
    scale = median / np.log(2.0) ** (1.0 / shape)
    return scale * (rng.exponential(size=n) * np.exp(-lp)) ** (1.0 / shape)


def _crossover_log_hr(
    parameters: dict[str, Any], pt: pd.DataFrame, preset: dict[str, Any] | None
) -> np.ndarray:
    """Post-progression log-HR of a control patient who crosses over to the active therapy.

    Trials: ``crossover.benefit_share`` x the patient's own PFS log-HR of the preset's active
    arm (e.g. PRRT in NETTER-1), so crossover dilutes the ITT OS effect mechanistically
    (clinical-grounding §4 row 11, §8.3). Real world: the fixed ``baseline_hazard.crossover_hr``.
    """
    if preset is None:
        return np.full(len(pt), np.log(block(parameters, "baseline_hazard")["crossover_hr"]))
    active = preset["arms"][0]  # the experimental arm comes first, the control last
    share = float(block(parameters, "crossover")["benefit_share"])
    return share * arm_log_hr(parameters, pt, active)


def _rebound(parameters: dict[str, Any], codes: np.ndarray) -> np.ndarray:
    """Per patient: share of the PFS benefit that post-progression survival gives back.

    ``baseline_hazard.pps_treatment_rebound``: one number, or one per therapy (an arm takes its
    recorded therapy's), e.g. PRRT's non-proportional OS (NETTER-1 final OS, §3.1).
    """
    spec = block(parameters, "baseline_hazard")["pps_treatment_rebound"]
    if not isinstance(spec, dict):
        return np.full(len(codes), float(spec))
    out = np.zeros(len(codes))
    for code in np.unique(codes):
        therapy = arm_therapy(parameters, code) if code not in spec else code
        out[codes == code] = float(spec.get(therapy, spec.get("default", 0.0)))
    return out


def draw_outcomes(
    parameters: dict[str, Any],
    pt: pd.DataFrame,
    trt_log_hr: np.ndarray,
    rng: np.random.Generator,
    population: str | None,
) -> pd.DataFrame:
    """True response, progression, death and their times (months) for the assigned therapy."""
    n = len(pt)
    base = block(parameters, "baseline_hazard")
    fr = block(parameters, "frailty")
    preset = population_preset(parameters, population)
    w = rng.standard_normal(n)
    therapy = (pt["arm"] if "arm" in pt else pt["therapy"]).to_numpy()
    eta = np.empty(n)
    for t in np.unique(therapy):
        sel = therapy == t
        eta[sel] = compute_response_logit(parameters, pt.loc[sel], response_code(parameters, t))
    responder = rng.random(n) < expit(eta + fr["response_loading"] * w)
    lp_pfs = pt["lp_pfs"].to_numpy()
    pps_mult = base["real_world_pps_multiplier"] if preset is None else 1.0
    # one time scale for every population: the tempo comes from the patient's covariates
    t_prog = _weibull(
        rng, n, base["pfs_median_reference"], base["pfs_shape"], lp_pfs - fr["pfs_sd"] * w
    )
    cov_os = pt["lp_os_cov"].to_numpy()
    free_median = base["death_free_median"]
    t_death0 = _weibull(rng, n, free_median, base["pps_shape"], cov_os)
    cross = block(parameters, "crossover")
    rebound = _rebound(parameters, therapy)
    p_cross = cross["real_world"] if preset is None else preset["crossover"]
    control = "ssa" if preset is None else preset["arms"][-1]
    crossed = (therapy == control) & (rng.random(n) < p_cross)
    lp_pps = (
        base["pps_prognostic_share"] * cov_os
        + _crossover_log_hr(parameters, pt, preset) * crossed
        - rebound * trt_log_hr
    )
    pps = _weibull(rng, n, base["pps_median_reference"] * pps_mult, base["pps_shape"], lp_pps)
    lo = block(parameters, "calendar")["min_event_months"]
    t_prog, t_death0, pps = np.maximum(t_prog, lo), np.maximum(t_death0, lo), np.maximum(pps, lo)
    progressed = t_prog < t_death0
    pfs = np.where(progressed, t_prog, t_death0)
    os_ = np.where(progressed, t_prog + pps, t_death0)
    return pd.DataFrame(
        {
            "frailty": w,
            "responder": responder.astype(np.int8),
            "true_progression": progressed.astype(np.int8),
            "true_pfs_months": pfs,
            "true_os_months": os_,
            "crossover": crossed.astype(np.int8),
        },
        index=pt.index,
    )

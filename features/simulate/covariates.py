"""Latent, correlated patient covariates drawn through a Gaussian copula.

One row per patient with the true (latent) values; observation noise, missingness and
tables come later. Directions (clinical-grounding §8.1): Ki-67 up => FDG positivity up,
SSTR uptake down, NLR up; hepatic burden up => CgA and ALP up, albumin down; bone
metastases => ALP up; pancreas => higher Ki-67 and FDG positivity than small intestine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr, ndtri

from features.simulate._params import block
from features.simulate.selection import PopulationSelection, SelectionError


def draw_latent_normals(
    parameters: dict[str, Any], n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Correlated standard normals (the copula's latent layer), one column per factor."""
    cop = block(parameters, "copula")
    corr = np.asarray(cop["corr"], dtype=float)
    chol = np.linalg.cholesky(corr)
    z = rng.standard_normal((n, len(cop["names"]))) @ chol.T
    return pd.DataFrame(z, columns=[f"z_{name}" for name in cop["names"]])


def _truncated_lognormal(
    z: np.ndarray, mu: np.ndarray, sd: float, lo: float, hi: float
) -> np.ndarray:
    """Map a standard normal through a log-normal truncated to [lo, hi] (quantile transform)."""
    a = ndtr((np.log(lo) - mu) / sd)
    b = ndtr((np.log(hi) - mu) / sd)
    u = a + (b - a) * ndtr(z)
    return np.exp(mu + sd * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))


def _draw_sites(
    parameters: dict[str, Any], sel: PopulationSelection | None, n: int, rng: np.random.Generator
):
    sites = block(parameters, "sites")
    mix = None if sel is None else sel.site_weights()
    if mix is None:
        names, probs = sites["names"], np.asarray(sites["real_world_probs"], dtype=float)
    else:
        names, probs = list(mix), np.asarray(list(mix.values()), dtype=float)
    idx = rng.choice(len(names), size=n, p=probs / probs.sum())
    return np.asarray(names, dtype=object)[idx]


def draw_covariates(
    parameters: dict[str, Any],
    n: int,
    rng: np.random.Generator,
    selection: PopulationSelection | None = None,
) -> pd.DataFrame:
    """Draw the true baseline covariates of ``n`` patients.

    Args:
        parameters: parsed ``parameters.yaml``.
        n: number of patients.
        rng: random generator.
        selection: enrolment criteria that shape the draw (site mix, Ki-67 and SSTR range,
            progressive or stable disease), or ``None`` (mixed real-world population).

    Returns:
        One row per patient (RangeIndex) with latent and true covariates.
    """
    preset = selection
    z = draw_latent_normals(parameters, n, rng)
    site = _draw_sites(parameters, preset, n, rng)
    pt = pd.DataFrame({"site": site})
    pt["pancreas"] = (site == "pancreas").astype(np.int8)
    _add_demographics(pt, parameters, z, preset, rng)
    _add_tumour(pt, parameters, z, preset, rng)
    _add_labs_truth(pt, parameters, z, rng)
    _add_markers(pt, parameters, rng)
    return pt


def _add_demographics(pt, parameters, z, preset, rng) -> None:
    d = block(parameters, "demographics")
    n = len(pt)
    pt["age"] = np.clip(rng.normal(d["age_mean"], d["age_sd"], n), d["age_min"], d["age_max"])
    pt["female"] = (rng.random(n) < d["p_female"]).astype(np.int8)
    p_func = np.where(
        pt["site"] == "small_intestine", d["functional_p_small_intestine"], d["functional_p_other"]
    )
    pt["functional"] = (rng.random(n) < p_func).astype(np.int8)
    cum = np.cumsum(d["ecog_probs"]) / np.sum(d["ecog_probs"])
    pt["ecog_true"] = np.searchsorted(cum[:-1], ndtr(z["z_ecog"].to_numpy()), side="right")
    centres = block(parameters, "centres")
    w = np.asarray(centres["weights"], dtype=float)
    pt["centre_idx"] = rng.choice(len(w), size=n, p=w / w.sum())
    pt["months_since_dx"] = np.exp(
        np.log(d["months_since_diagnosis_median"])
        + np.log(d["months_since_diagnosis_gsd"]) * rng.standard_normal(n)
    ).clip(1.0, 240.0)


def _add_tumour(pt, parameters, z, preset, rng) -> None:
    n = len(pt)
    k = block(parameters, "ki67")
    site = pt["site"].to_numpy()
    med = np.where(
        site == "small_intestine",
        k["median_small_intestine"],
        np.where(site == "pancreas", k["median_pancreas"], k["median_other"]),
    )
    lo, hi = k["min"], k["max"]
    if preset is not None:
        sel_lo, sel_hi = preset.ki67_range()
        lo, hi = max(lo, sel_lo), min(hi, sel_hi)
        if lo >= hi:
            raise SelectionError(
                f"Ki-67 {sel_lo:g}-{sel_hi:g} % lies outside the simulated world's "
                f"{k['min']:g}-{k['max']:g} %; widen the selection"
            )
    pt["ki67_true"] = _truncated_lognormal(
        z["z_ki67"].to_numpy(), np.log(med), np.log(k["geometric_sd"]), lo, hi
    )
    log_ki = np.log(pt["ki67_true"].to_numpy())
    s = block(parameters, "sstr")
    sstr_pos = None if preset is None else preset.sstr_positive
    tlr_lo, tlr_hi = {None: (1e-3, 1e6), True: (1.0, 1e6), False: (1e-3, 1.0)}[sstr_pos]
    pt["tlr_true"] = _truncated_lognormal(
        z["z_sstr"].to_numpy(), np.full(n, s["tlr_log_mean"]), s["tlr_log_sd"], tlr_lo, tlr_hi
    )
    pt["sstr_density"] = np.log(pt["tlr_true"])
    pt["heterogeneity"] = ndtr(z["z_heterogeneity"].to_numpy())
    f = block(parameters, "fdg")
    p_fdg = expit(
        f["intercept"] + f["slope_log_ki67"] * log_ki + f["pancreas_shift"] * pt["pancreas"]
    )
    pt["p_fdg_positive"] = p_fdg
    pt["fdg_positive"] = (rng.random(n) < p_fdg).astype(np.int8)
    b = block(parameters, "burden")
    zb = z["z_burden"].to_numpy()
    has_liver = ndtr(zb) > b["p_no_liver"]
    # conditional on liver involvement, re-spread the upper part of z over the whole normal
    z_cond = ndtri(np.clip((ndtr(zb) - b["p_no_liver"]) / (1 - b["p_no_liver"]), 1e-9, 1 - 1e-9))
    burden = expit(b["logit_median"] + b["logit_sd"] * z_cond).clip(0.0, b["max"])
    pt["hepatic_burden_true"] = np.where(has_liver, burden, 0.0)
    pt["burden_z"] = np.where(has_liver, z_cond, -2.0)
    pt["liver_volume_ml"] = np.clip(
        rng.normal(b["liver_volume_mean"], b["liver_volume_sd"], n), 900, 2600
    )
    les = block(parameters, "lesions")
    p_bone = expit(
        np.log(les["p_bone"] / (1 - les["p_bone"])) + les["bone_ki67_slope"] * (log_ki - np.log(4))
    )
    pt["bone_mets"] = (rng.random(n) < p_bone).astype(np.int8)
    g = block(parameters, "growth")
    disease = None if preset is None else preset.disease
    mu_g = g["log_median"] + {
        None: 0.0, "progressive": g["progressive_extra"], "stable": -g["stable_shift"]
    }[disease]
    pt["tgr0_true"] = np.exp(mu_g + g["log_sd"] * z["z_growth"].to_numpy()) - g["shift"]
    pt["fast_growth"] = (pt["tgr0_true"] > g["fast_threshold"]).astype(np.int8)
    if disease is not None:
        pt["progressive"] = np.int8(disease == "progressive")


def _add_labs_truth(pt, parameters, z, rng) -> None:
    n = len(pt)
    lab = block(parameters, "labs")
    bz = pt["burden_z"].to_numpy()
    pt["cga_true"] = lab["cga_uln"] * 10 ** (
        lab["cga_log10_mean"]
        + lab["cga_log10_burden"] * bz
        + lab["cga_log10_sd"] * rng.standard_normal(n)
    )
    pt["ppi_use"] = (rng.random(n) < lab["ppi_p"]).astype(np.int8)
    pt["alp_true"] = np.exp(
        np.log(lab["alp_median"])
        + lab["alp_log_burden"] * bz
        + lab["alp_log_bone"] * pt["bone_mets"]
        + lab["alp_log_sd"] * rng.standard_normal(n)
    )
    zn = z["z_nlr"].to_numpy()
    pt["nlr_true"] = np.exp(lab["nlr_log_mean"] + lab["nlr_log_sd"] * zn)
    pt["albumin_true"] = np.clip(
        lab["albumin_mean"]
        + lab["albumin_burden"] * bz
        + lab["albumin_nlr"] * zn
        + lab["albumin_sd"] * rng.standard_normal(n),
        18.0,
        55.0,
    )
    pt["neutrophils_true"] = lab["neutrophils_median"] * np.exp(
        0.25 * rng.standard_normal(n) + 0.15 * zn
    )
    pt["lymphocytes_true"] = pt["neutrophils_true"] / pt["nlr_true"]
    pt["platelets_true"] = lab["platelets_median"] * np.exp(0.3 * rng.standard_normal(n))
    pt["haemoglobin_true"] = np.clip(
        rng.normal(lab["haemoglobin_mean"], lab["haemoglobin_sd"], n)
        - 0.8 * pt["hepatic_burden_true"],
        6.0,
        18.0,
    )
    pt["creatinine_true"] = lab["creatinine_median"] * np.exp(
        lab["creatinine_log_sd"] * rng.standard_normal(n) + 0.01 * (pt["age"] - 60)
    )
    pt["bilirubin_true"] = lab["bilirubin_median"] * np.exp(
        0.35 * rng.standard_normal(n) + 0.25 * bz.clip(0)
    )
    pt["nse_true"] = lab["nse_median"] * np.exp(
        0.4 * rng.standard_normal(n) + 0.2 * z["z_ki67"].to_numpy()
    )
    pt["hiaa_true"] = (
        lab["hiaa_median"]
        * np.exp(0.6 * rng.standard_normal(n) + 0.3 * bz)
        * np.where(pt["functional"] == 1, lab["hiaa_functional_factor"], 1.0)
    )


def _add_markers(pt, parameters, rng) -> None:
    """Tissue markers: SSTR2 IHC tracks SSTR density; EGFR, c-Met, IGF-1R are pure noise."""
    n = len(pt)
    sstr2 = np.clip(
        np.round(1.5 + 1.2 * (pt["sstr_density"] - 1.2) + 0.6 * rng.standard_normal(n)), 0, 3
    )
    pt["sstr2_ihc_true"] = sstr2.astype(np.int8)
    for marker in ("egfr_ihc", "cmet_ihc", "igf1r_ihc"):
        pt[f"{marker}_true"] = rng.integers(0, 4, n).astype(np.int8)
    path = block(parameters, "pathology")
    pt["daxx_atrx_loss_true"] = (
        (rng.random(n) < path["daxx_loss_p"]) & (pt["pancreas"] == 1)
    ).astype(np.int8)

"""Lesion-level imaging: SSTR-PET, FDG-PET, one or two pre-index CT/MRI and follow-up CTs.

True lesions are drawn at the index date: liver lesion volumes split the latent hepatic burden
exactly (sum of liver lesion volumes / liver volume = burden on the baseline SSTR-PET);
diameters follow the latent growth rate backwards in time so that the tumour growth rate of the
two pre-index CTs (sum of longest diameters, Ferte 2014) recovers it. SUVs carry the centre's
calibration factor (clinical-grounding §8.7).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.simulate._params import MONTH_DAYS, block

ORGANS = ("liver", "lymph_node", "bone", "lung", "peritoneum", "primary")


def _organ_counts(
    parameters: dict[str, Any], pt: pd.DataFrame, rng: np.random.Generator
) -> np.ndarray:
    les = block(parameters, "lesions")
    n = len(pt)
    burden = pt["hepatic_burden_true"].to_numpy()
    site = pt["site"].to_numpy()
    cap = les["max_other_lesions"]
    liver = np.where(
        burden > 0,
        np.minimum(
            1 + rng.poisson(les["liver_count_per_burden"] * burden + les["liver_count_base"]),
            les["max_liver_lesions"],
        ),
        0,
    )
    node = (rng.random(n) < les["p_lymph_node"]) * np.minimum(
        1 + rng.poisson(les["extra_lesions_mean"]["lymph_node"], n), cap
    )
    bone = pt["bone_mets"].to_numpy() * np.minimum(
        1 + rng.poisson(les["extra_lesions_mean"]["bone"], n), cap
    )
    p_lung = np.where(site == "lung", les["p_lung_primary_site"], les["p_lung"])
    lung = (rng.random(n) < p_lung) * np.minimum(
        1 + rng.poisson(les["extra_lesions_mean"]["lung"], n), cap
    )
    p_per = np.where(
        site == "small_intestine", les["p_peritoneum_small_intestine"], les["p_peritoneum_other"]
    )
    peri = (rng.random(n) < p_per) * np.minimum(
        1 + rng.poisson(les["extra_lesions_mean"]["peritoneum"], n), cap
    )
    primary = ((rng.random(n) < les["p_primary_in_situ"]) & (site != "unknown")).astype(int)
    counts = np.column_stack([liver, node, bone, lung, peri, primary]).astype(np.int64)
    counts[counts.sum(axis=1) == 0, 1] = 1  # at least one measurable lesion (a node)
    return counts


def draw_lesions(
    parameters: dict[str, Any], pt: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """True lesions at the index date: organ, volume, diameter, SSTR and FDG uptake ratios."""
    les, s, f = block(parameters, "lesions"), block(parameters, "sstr"), block(parameters, "fdg")
    counts = _organ_counts(parameters, pt, rng)
    n_les = counts.sum(axis=1)
    pid = np.repeat(np.arange(len(pt)), n_les)
    organ = np.asarray(ORGANS, dtype=object)[_organ_index(counts)]
    m = len(pid)
    w = rng.gamma(1.0, 1.0, m)
    is_liver = organ == "liver"
    liver_w = np.bincount(pid, weights=np.where(is_liver, w, 0.0), minlength=len(pt))
    liver_total = (pt["hepatic_burden_true"] * pt["liver_volume_ml"]).to_numpy()
    med = (
        pd.Series(organ)
        .map(
            {
                "lymph_node": les["node_volume_median"],
                "bone": les["bone_volume_median"],
                "lung": les["lung_volume_median"],
                "peritoneum": les["peritoneum_volume_median"],
                "primary": les["primary_volume_median"],
                "liver": 1.0,
            }
        )
        .to_numpy(dtype=float)
    )
    other_vol = med * np.exp(np.log(les["volume_gsd"]) * rng.standard_normal(m))
    volume = np.where(is_liver, w / np.maximum(liver_w[pid], 1e-12) * liver_total[pid], other_vol)
    diameter = (
        10.0
        * (6.0 * volume / np.pi) ** (1 / 3)
        * les["diameter_elongation"]
        * rng.uniform(0.9, 1.1, m)
    )
    out = pd.DataFrame({"pid": pid, "organ": organ, "volume": volume, "diameter": diameter})
    out["lesion_no"] = out.groupby("pid").cumcount() + 1
    h = pt["heterogeneity"].to_numpy()[pid]
    sd = s["lesion_log_sd_base"] + s["lesion_log_sd_heterogeneity"] * h
    out["sstr_ratio"] = pt["tlr_true"].to_numpy()[pid] * np.exp(
        sd * rng.standard_normal(m) - sd**2 / 2
    )
    fdg_pos = pt["fdg_positive"].to_numpy()[pid] == 1
    lesion_pos = fdg_pos & (
        (rng.random(m) < f["p_lesion_positive"]) | (out["lesion_no"].to_numpy() == 1)
    )
    out["fdg_ratio"] = np.where(
        lesion_pos,
        f["positive_tlr_median"] * np.exp(0.5 * rng.standard_normal(m)).clip(0.45),
        np.minimum(f["negative_tlr_median"] * np.exp(0.2 * rng.standard_normal(m)), 0.95),
    )
    rank = out.groupby("pid")["diameter"].rank(method="first", ascending=False).to_numpy()
    out["ct_target"] = rank <= les["ct_max_targets"]
    return out


def _organ_index(counts: np.ndarray) -> np.ndarray:
    """Organ code of every lesion, patients in order, organs in ORGANS order within patient."""
    flat = counts.ravel()
    return np.repeat(np.tile(np.arange(counts.shape[1]), counts.shape[0]), flat)


def build_imaging(
    parameters: dict[str, Any],
    pt: pd.DataFrame,
    lesions: pd.DataFrame,
    assessments: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Imaging studies and lesion rows (internal ``pid``; ids assigned at export)."""
    im, s, f, les = (block(parameters, k) for k in ("imaging", "sstr", "fdg", "lesions"))
    n = len(pt)
    cal = np.asarray(block(parameters, "centres")["suv_calibration"], dtype=float)[
        pt["centre_idx"].to_numpy()
    ]
    fdg_done = rng.random(n) < 1 / (
        1
        + np.exp(
            -(
                im["fdg_done_intercept"]
                + im["fdg_done_slope_log_ki67"] * np.log(pt["ki67_true"].to_numpy())
            )
        )
    )
    pid = np.arange(n)
    liver_sstr = np.clip(rng.normal(s["liver_suvmean_mean"], s["liver_suvmean_sd"], n), 3.0, 12.0)
    spleen_sstr = np.clip(
        rng.normal(s["spleen_suvmean_mean"], s["spleen_suvmean_sd"], n), 8.0, 40.0
    )
    liver_fdg = f["liver_suvmean"] * np.exp(0.1 * rng.standard_normal(n))
    spleen_fdg = liver_fdg * 0.85
    prior_scan, anatomical = _draw_pre_index_scans(im, pt, rng)
    parts = [
        _study_frame(
            pid,
            -rng.integers(im["sstr_days_before_min"], im["sstr_days_before_max"] + 1, n),
            "sstr_pet",
            liver_sstr * cal,
            spleen_sstr * cal,
            pt,
        ),
        _study_frame(
            pid[fdg_done],
            -rng.integers(im["sstr_days_before_min"], im["sstr_days_before_max"] + 1, n)[fdg_done],
            "fdg_pet",
            (liver_fdg * cal)[fdg_done],
            (spleen_fdg * cal)[fdg_done],
            pt,
        ),
        _study_frame(
            pid[prior_scan],
            -rng.integers(im["ct1_days_before_min"], im["ct1_days_before_max"] + 1, n)[prior_scan],
            anatomical[prior_scan],
            None,
            None,
            pt,
        ),
        _study_frame(
            pid,
            -rng.integers(im["ct2_days_before_min"], im["ct2_days_before_max"] + 1, n),
            anatomical,
            None,
            None,
            pt,
        ),
    ]
    fu = assessments[["pid", "day", "visit", "recist_response"]]
    parts.append(
        _study_frame(fu["pid"].to_numpy(), fu["day"].to_numpy(), "ct", None, None, pt).assign(
            visit=fu["visit"].to_numpy(), recist=fu["recist_response"].to_numpy()
        )
    )
    studies = pd.concat(parts, ignore_index=True)
    studies["visit"] = studies["visit"].fillna(0).astype(np.int64)
    studies["sid"] = np.arange(len(studies))
    modality = studies["modality"].to_numpy()
    with_lesions = (studies["visit"] <= les["followup_ct_with_lesions"]).to_numpy() & (
        studies["recist"].fillna("").to_numpy() != "NE"
    )
    anat = np.isin(modality, ("ct", "mri"))
    pet = with_lesions & ~anat
    ct = with_lesions & anat
    target = lesions.loc[lesions["ct_target"].to_numpy()].reset_index(drop=True)
    rows = pd.concat(
        [_expand_lesions(studies.loc[pet], lesions), _expand_lesions(studies.loc[ct], target)],
        ignore_index=True,
    )
    rows = _measure_lesions(rows, pt, cal, liver_sstr, liver_fdg, parameters, rng)
    return studies.drop(columns=["recist"]), rows


def _draw_pre_index_scans(
    im: dict[str, Any], pt: pd.DataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Whether an older comparable scan exists, and each patient's pre-index modality.

    Everyone has a baseline CT/MRI shortly before the index date; the older comparable scan
    (needed for the tumour growth rate) is missing more often in first-line patients
    (clinical-grounding §5). A share of patients is staged by liver MRI instead of CT.
    """
    first_line = pt["n_prior"].to_numpy() == 0
    p_single = np.where(first_line, im["p_single_scan_first_line"], im["p_single_scan_later_line"])
    prior_scan = rng.random(len(pt)) >= p_single
    anatomical = np.where(rng.random(len(pt)) < im["p_mri"], "mri", "ct").astype(object)
    return prior_scan, anatomical


def _study_frame(pid, day, modality, liver, spleen, pt) -> pd.DataFrame:
    mod = np.broadcast_to(np.asarray(modality, dtype=object), (len(pid),))
    return pd.DataFrame(
        {
            "pid": pid,
            "day": np.asarray(day, dtype=np.int64),
            "modality": mod,
            "tracer": np.where(
                mod == "sstr_pet", "68Ga-DOTATATE", np.where(mod == "fdg_pet", "18F-FDG", None)
            ).astype(object),
            "liver_suvmean": np.nan if liver is None else np.round(liver, 2),
            "spleen_suvmean": np.nan if spleen is None else np.round(spleen, 2),
            "liver_volume_ml": np.round(pt["liver_volume_ml"].to_numpy()[pid], 1),
            "visit": np.nan,
            "recist": None,
        }
    )


def _expand_lesions(studies: pd.DataFrame, lesions: pd.DataFrame) -> pd.DataFrame:
    """Cross each study with its patient's lesions (lesions sorted by ``pid``)."""
    n_pid = int(max(studies["pid"].max(), lesions["pid"].max())) + 1
    counts = np.bincount(lesions["pid"].to_numpy(), minlength=n_pid)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sp = studies["pid"].to_numpy()
    reps = counts[sp]
    st_idx = np.repeat(np.arange(len(studies)), reps)
    les_idx = (
        np.repeat(starts[sp], reps)
        + np.arange(reps.sum())
        - np.repeat(np.cumsum(reps) - reps, reps)
    )
    cols = ("pid", "lesion_no", "organ", "volume", "diameter", "sstr_ratio", "fdg_ratio")
    out = {col: lesions[col].to_numpy()[les_idx] for col in cols}
    for col in ("sid", "day", "modality", "recist"):
        out[col] = studies[col].to_numpy()[st_idx]
    return pd.DataFrame(out)


def _measure_lesions(rows, pt, cal, liver_sstr, liver_fdg, parameters, rng) -> pd.DataFrame:
    """Observed SUVs, volumes and diameters at each study date."""
    les, s = block(parameters, "lesions"), block(parameters, "sstr")
    m = len(rows)
    p = rows["pid"].to_numpy()
    mod = rows["modality"].to_numpy()
    tgr = pt["tgr0_true"].to_numpy()[p]
    months = rows["day"].to_numpy() / MONTH_DAYS
    is_sstr = mod == "sstr_pet"
    # volume log-change before the index date (the SSTR-PET defines the true baseline burden)
    pre = np.where((months < 0) & ~is_sstr, np.log1p(tgr / 100.0) * months, 0.0)
    recist = rows["recist"].fillna("").to_numpy()
    post = np.select(
        [recist == "PR", recist == "CR", recist == "PD"],
        [les["diameter_factor_pr"], 0.0, les["diameter_factor_pd"]],
        1.0,
    )
    post = np.where(
        recist == "SD",
        rng.uniform(les["diameter_factor_sd_min"], les["diameter_factor_sd_max"], m),
        post,
    )
    vol_factor = np.exp(pre) * np.where(months > 0, post**3, 1.0)
    noise_v = np.where(is_sstr, 1.0, np.exp(les["volume_noise_cv"] * rng.standard_normal(m)))
    noise_d = np.where(is_sstr, 1.0, np.exp(les["diameter_noise_cv"] * rng.standard_normal(m)))
    volume = rows["volume"].to_numpy() * vol_factor * noise_v
    diameter = rows["diameter"].to_numpy() * vol_factor ** (1 / 3) * noise_d
    suv_ref = np.where(is_sstr, liver_sstr[p], liver_fdg[p]) * cal[p]
    ratio = np.where(is_sstr, rows["sstr_ratio"].to_numpy(), rows["fdg_ratio"].to_numpy())
    suvmax = np.where(
        np.isin(mod, ("ct", "mri")), np.nan, ratio * suv_ref * np.exp(0.05 * rng.standard_normal(m))
    )
    frac = s["suvmean_fraction"] * rng.uniform(0.9, 1.1, m)
    return pd.DataFrame(
        {
            "sid": rows["sid"].to_numpy(),
            "lesion_no": rows["lesion_no"].to_numpy(),
            "organ": rows["organ"].to_numpy(),
            "suvmax": np.round(suvmax, 2),
            "suvmean": np.round(suvmax * frac, 2),
            "volume_ml": np.round(volume, 3),
            "longest_diameter_mm": np.round(diameter, 1),
        }
    )

"""Imaging features aggregated from lesion rows of the baseline studies.

Baseline study of a modality = the latest study of that modality on or before the index date
inside its look-back (``lookback_days['imaging']`` for SSTR-/FDG-PET, ``['ct']`` for CT/MRI;
same-day ties: the higher ``study_id``). CT and MRI are one anatomical modality.

Documented thresholds (Krenning-like score, on the SSTR-PET baseline; r = highest lesion SUVmax
/ liver SUVmean): 0 = study done, no lesion with uptake; 1 = r < 0.9 (below liver); 2 = 0.9 <= r
<= 1.1 (about liver); 3 = r > 1.1 (above liver); 4 = above liver and SUVmax > spleen SUVmean.
A lesion is SSTR-expressing (or FDG-positive) when its SUVmax exceeds the liver SUVmean of its
study (all lesions count when the liver SUVmean is missing, for SSTR only).

NETPET-like grade (after Chan et al. 2017): 0 = no FDG-PET; 1 = FDG-PET negative; 2-4 = FDG
positive, graded by q = FDG SUVmax / SSTR SUVmax (2: q <= 0.5, 3: 0.5 < q <= 1, 4: q > 1);
5 = an FDG-positive lesion without SSTR uptake, approximated as an organ with more FDG-positive
than SSTR-expressing lesions. NaN when FDG is positive but no SSTR-PET baseline exists.

Tumour growth rate (Ferté et al., Eur J Cancer 2014): from the two latest CT/MRI studies in the
window, D = sum of longest diameters, TG = 3 ln(D1/D0) / months, TGR = 100 (exp(TG) - 1) %/month.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.index import (
    DAYS_PER_MONTH,
    KEYS,
    FeatureConfig,
    as_float,
    count_by,
    restrict_to_window,
)

ORGANS = ("liver", "lymph_node", "bone", "lung", "peritoneum", "primary", "other")
_STUDY_COLS = ["study_id", "patient_id", "date", "modality", "liver_suvmean", "spleen_suvmean",
               "liver_volume_ml"]
_LESION_COLS = ["study_id", "organ", "suvmax", "suvmean", "volume_ml", "longest_diameter_mm"]


def compute_tgr(d0: np.ndarray, d1: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Tumour growth rate (%/month): 100 x (exp(3 ln(D1/D0) / months) - 1); NaN if undefined."""
    d0, d1, months = as_float(d0), as_float(d1), as_float(months)
    ok = (d0 > 0) & (d1 > 0) & (months > 0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        tg = 3.0 * np.log(d1 / d0) / months
        tgr = 100.0 * np.expm1(tg)
    return np.where(ok, tgr, np.nan)


def derive_imaging_features(
    imaging_studies: pd.DataFrame,
    lesions: pd.DataFrame,
    index: pd.DataFrame,
    config: FeatureConfig,
) -> pd.DataFrame:
    """Imaging features of each prediction (SSTR-PET, FDG-PET, CT/MRI baselines).

    Args:
        imaging_studies: validated imaging_studies table.
        lesions: validated lesions table.
        index: output of ``select_index_lines``.
        config: feature settings.

    Returns:
        One row per prediction (MultiIndex ``patient_id``, ``line``).
    """
    studies = imaging_studies[_STUDY_COLS]
    les = lesions[_LESION_COLS].copy()
    for col in _LESION_COLS[2:]:
        les[col] = as_float(les[col])
    pet = restrict_to_window(
        studies.loc[studies["modality"].isin(["sstr_pet", "fdg_pet"])], index, "date",
        config.lookback("imaging"),
    )
    anat = restrict_to_window(
        studies.loc[studies["modality"].isin(["ct", "mri"])], index, "date", config.lookback("ct")
    )
    sstr = _latest_studies(pet.loc[pet["modality"].eq("sstr_pet")], 1)
    fdg = _latest_studies(pet.loc[pet["modality"].eq("fdg_pet")], 1)
    ct_pair = _latest_studies(anat, 2)
    ct = ct_pair.loc[ct_pair["rank"].eq(0)]
    sstr_les = _attach_lesions(sstr, les)
    fdg_les = _attach_lesions(fdg, les)
    ct_les = _attach_lesions(ct, les)

    out = pd.DataFrame(index=pd.MultiIndex.from_frame(index[KEYS]))
    out = out.join(_summarise_sstr(sstr, sstr_les), how="left")
    out = out.join(_summarise_fdg(fdg, fdg_les), how="left")
    out["netpet_grade"] = _grade_netpet(out, sstr_les, fdg_les)
    out = out.join(_summarise_burden(sstr, sstr_les, ct, ct_les), how="left")
    out = out.join(_summarise_ct(ct_pair, les), how="left")
    for flag in ("sstr_pet_done", "fdg_pet_done", "tgr_available"):
        out[flag] = out[flag].fillna(0.0)
    return out


def _latest_studies(studies: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` latest studies per prediction, ``rank`` 0 = latest."""
    ordered = studies.sort_values([*KEYS, "date", "study_id"])
    rank = ordered.groupby(KEYS, sort=False).cumcount(ascending=False)
    ordered = ordered.assign(rank=rank.to_numpy())
    return ordered.loc[ordered["rank"] < n].reset_index(drop=True)


def _attach_lesions(studies: pd.DataFrame, lesions: pd.DataFrame) -> pd.DataFrame:
    """Lesion rows of the given studies with the study's keys and reference uptakes."""
    cols = [*KEYS, "study_id", "liver_suvmean", "spleen_suvmean", "liver_volume_ml"]
    return studies[cols].merge(lesions, on="study_id", how="inner")


def _positive(les: pd.DataFrame, liver_missing_counts: bool) -> pd.Series:
    """Lesions whose SUVmax exceeds the liver SUVmean of their study."""
    above = les["suvmax"] > les["liver_suvmean"]
    if liver_missing_counts:
        above |= les["liver_suvmean"].isna() & les["suvmax"].notna()
    return above


def _summarise_sstr(studies: pd.DataFrame, les: pd.DataFrame) -> pd.DataFrame:
    """SSTR-PET uptake, volume, heterogeneity, Krenning-like score and lesion counts."""
    ref = studies.set_index(KEYS)[["liver_suvmean", "spleen_suvmean"]]
    out = pd.DataFrame(index=ref.index)
    out["sstr_pet_done"] = 1.0
    les = les.assign(
        sv=les["suvmean"] * les["volume_ml"],
        vol_w=les["volume_ml"].where(les["suvmean"].notna()),
        pos=_positive(les, liver_missing_counts=True),
    )
    les["pos_vol"] = les["volume_ml"].where(les["pos"])
    les["pos_sv"] = les["sv"].where(les["pos"])
    g = les.groupby(KEYS, sort=False)
    out["sstr_suvmax"] = g["suvmax"].max()
    out["sstr_suvmean_vw"] = g["sv"].sum(min_count=1) / g["vol_w"].sum(min_count=1)
    out["sstr_tlr"] = out["sstr_suvmax"] / ref["liver_suvmean"].where(ref["liver_suvmean"] > 0)
    out["sstr_tumour_volume_ml"] = g["pos_vol"].sum()
    out["sstr_total_lesion"] = g["pos_sv"].sum()
    out["sstr_suvmax_cv"] = (g["suvmax"].std(ddof=1) / g["suvmax"].mean()).where(
        g["suvmax"].count() >= 2
    )
    counts = count_by(les, "organ", list(ORGANS))
    counts.columns = [f"sstr_n_lesions_{organ}" for organ in ORGANS]
    out = out.join(counts, how="left")
    count_cols = list(counts.columns)
    out[count_cols] = out[count_cols].fillna(0.0).astype(float)
    out["sstr_n_lesions"] = out[count_cols].sum(axis=1)
    for col in ("sstr_tumour_volume_ml", "sstr_total_lesion"):
        out[col] = out[col].fillna(0.0)
    out["krenning_score"] = _score_krenning(out["sstr_suvmax"], ref)
    return out


def _score_krenning(suvmax: pd.Series, ref: pd.DataFrame) -> np.ndarray:
    """Krenning-like 0-4 score from the highest lesion SUVmax vs liver and spleen SUVmean."""
    liver = ref["liver_suvmean"].to_numpy(dtype=float)
    spleen = ref["spleen_suvmean"].to_numpy(dtype=float)
    smax = suvmax.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = smax / np.where(liver > 0, liver, np.nan)
    score = np.full(len(smax), np.nan)
    score[r < 0.9] = 1.0
    score[(r >= 0.9) & (r <= 1.1)] = 2.0
    score[r > 1.1] = 3.0
    score[(r > 1.1) & (smax > spleen)] = 4.0
    score[np.isnan(smax)] = 0.0  # study done, no lesion with measurable uptake
    return score


def _summarise_fdg(studies: pd.DataFrame, les: pd.DataFrame) -> pd.DataFrame:
    """FDG-PET done, positivity (any lesion above liver background) and highest SUVmax."""
    ref = studies.set_index(KEYS)[["liver_suvmean"]]
    out = pd.DataFrame(index=ref.index)
    out["fdg_pet_done"] = 1.0
    les = les.assign(pos=_positive(les, liver_missing_counts=False).astype(float))
    g = les.groupby(KEYS, sort=False)
    out["fdg_suvmax"] = g["suvmax"].max()
    out["fdg_positive"] = g["pos"].max()
    # no lesion at all = negative; lesions but no liver reference = unknown
    no_lesion = ~out.index.isin(g.size().index)
    out.loc[no_lesion, "fdg_positive"] = 0.0
    unknown = ref["liver_suvmean"].isna() & out["fdg_positive"].eq(0.0) & ~no_lesion
    out.loc[unknown, "fdg_positive"] = np.nan
    return out


def _grade_netpet(out: pd.DataFrame, sstr_les: pd.DataFrame, fdg_les: pd.DataFrame) -> np.ndarray:
    """NETPET-like 0-5 grade from FDG positivity and FDG vs SSTR uptake (see module docstring)."""
    fdg_done = out["fdg_pet_done"].fillna(0.0).to_numpy() == 1.0
    fdg_pos = out["fdg_positive"].to_numpy(dtype=float)
    sstr_done = out["sstr_pet_done"].fillna(0.0).to_numpy() == 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        q = out["fdg_suvmax"].to_numpy(dtype=float) / out["sstr_suvmax"].to_numpy(dtype=float)
    fdg_counts = _count_positive_by_organ(fdg_les, liver_missing_counts=False)
    sstr_counts = _count_positive_by_organ(sstr_les, liver_missing_counts=True)
    fdg_counts, sstr_counts = fdg_counts.align(sstr_counts, join="outer", fill_value=0)
    discordant = (fdg_counts > sstr_counts).any(axis=1)
    p5 = discordant.reindex(out.index, fill_value=False).to_numpy()
    grade = np.full(len(out), np.nan)
    grade[~fdg_done] = 0.0
    grade[fdg_done & (fdg_pos == 0.0)] = 1.0
    both = fdg_done & (fdg_pos == 1.0) & sstr_done
    grade[both & (q <= 0.5)] = 2.0
    grade[both & (q > 0.5) & (q <= 1.0)] = 3.0
    grade[both & (q > 1.0)] = 4.0
    grade[both & (p5 | np.isnan(q))] = 5.0  # FDG+ with no SSTR-avid counterpart
    return grade


def _count_positive_by_organ(les: pd.DataFrame, liver_missing_counts: bool) -> pd.DataFrame:
    """Number of positive lesions per prediction and organ."""
    pos = les.loc[_positive(les, liver_missing_counts).to_numpy()]
    return count_by(pos, "organ")


def _summarise_burden(
    sstr: pd.DataFrame, sstr_les: pd.DataFrame, ct: pd.DataFrame, ct_les: pd.DataFrame
) -> pd.DataFrame:
    """Hepatic tumour burden (%), bone involvement and largest lesion > 30 mm."""
    parts = []
    for studies, les in ((sstr, sstr_les), (ct, ct_les)):
        liver_vol = studies.set_index(KEYS)["liver_volume_ml"]
        part = pd.DataFrame(index=liver_vol.index)
        liver_les = les["volume_ml"].where(les["organ"].eq("liver"))
        g_liver = liver_les.groupby([les["patient_id"], les["line"]], sort=False).sum()
        part["burden"] = (
            g_liver.reindex(part.index).fillna(0.0) / liver_vol.where(liver_vol > 0) * 100.0
        ).clip(upper=100.0)
        bone = les["organ"].eq("bone").groupby([les["patient_id"], les["line"]]).any()
        part["bone"] = bone.reindex(part.index, fill_value=False).astype(float)
        part["diam"] = les.groupby(KEYS, sort=False)["longest_diameter_mm"].max()
        parts.append(part)
    sstr_part, ct_part = parts
    both = sstr_part.join(ct_part, how="outer", lsuffix="_s", rsuffix="_c")
    out = pd.DataFrame(index=both.index)
    out["hepatic_tumour_burden_pct"] = both["burden_s"].combine_first(both["burden_c"])
    out["bone_involvement"] = both[["bone_s", "bone_c"]].max(axis=1)
    diam = both[["diam_s", "diam_c"]].max(axis=1)
    out["largest_lesion_gt30mm"] = (diam > 30.0).astype(float).where(diam.notna())
    return out


def _summarise_ct(ct_pair: pd.DataFrame, lesions: pd.DataFrame) -> pd.DataFrame:
    """Baseline sum of longest diameters and tumour growth rate from the two latest CT/MRI."""
    sld = lesions.groupby("study_id", sort=False)["longest_diameter_mm"].sum(min_count=1)
    pair = ct_pair.assign(sld=ct_pair["study_id"].map(sld).to_numpy())
    latest = pair.loc[pair["rank"].eq(0)].set_index(KEYS)
    prev = pair.loc[pair["rank"].eq(1)].set_index(KEYS).reindex(latest.index)
    out = pd.DataFrame(index=latest.index)
    out["ct_sld_mm"] = latest["sld"].astype(float)
    months = (latest["date"] - prev["date"]).dt.days / DAYS_PER_MONTH
    out["tgr_pct_month"] = compute_tgr(prev["sld"], latest["sld"], months)
    out["tgr_available"] = out["tgr_pct_month"].notna().astype(float)
    return out

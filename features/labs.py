"""Biomarker features from the long labs table (latest value in the look-back window wins)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.clinical import compute_age_years
from features.index import DAYS_PER_MONTH, KEYS, FeatureConfig, as_float, restrict_to_window

LATEST_ANALYTES = {
    "alp": "alp",
    "albumin": "albumin",
    "haemoglobin": "haemoglobin",
    "platelets": "platelets",
    "bilirubin": "bilirubin",
    "nse": "nse",
    "5hiaa": "hiaa_5",
    "ppi_use": "ppi_use",
    "creatinine": "creatinine",
}
CGA_FLOOR_NG_ML = 1.0
CREATININE_UMOL_PER_MG_DL = 88.42


def compute_egfr_ckd_epi_2021(
    creatinine_umol_l: pd.Series | np.ndarray,
    age_years: pd.Series | np.ndarray,
    sex: pd.Series | np.ndarray,
) -> np.ndarray:
    """eGFR (mL/min/1.73 m²) by the race-free CKD-EPI 2021 creatinine equation.

    eGFR = 142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age x 1.012 [female],
    Scr in mg/dL (= µmol/L / 88.42), k = 0.7 (F) / 0.9 (M), a = -0.241 (F) / -0.302 (M).
    Inker et al., N Engl J Med 2021;385:1737-49.

    Args:
        creatinine_umol_l: serum creatinine in µmol/L.
        age_years: age in years.
        sex: ``F`` or ``M`` (anything else gives NaN).

    Returns:
        eGFR array; NaN where an input is missing or creatinine <= 0.
    """
    scr = as_float(creatinine_umol_l) / CREATININE_UMOL_PER_MG_DL
    age = as_float(age_years)
    sex_arr = pd.Series(sex).astype(object).to_numpy()
    female = sex_arr == "F"
    male = sex_arr == "M"
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.241, -0.302)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(scr > 0, scr / kappa, np.nan)
        egfr = (
            142.0
            * np.minimum(ratio, 1.0) ** alpha
            * np.maximum(ratio, 1.0) ** -1.200
            * 0.9938**age
            * np.where(female, 1.012, 1.0)
        )
    egfr[~(female | male)] = np.nan
    return egfr


def cga_log10_uln(cga_ng_ml: Any, uln_ng_ml: Any) -> Any:
    """The CgA feature: log10(CgA / ULN), CgA floored at ``CGA_FLOOR_NG_ML`` (arrays or scalars).

    The features stage and the scoring server (raw CgA in a request) both use this.
    """
    return np.log10(np.maximum(cga_ng_ml, CGA_FLOOR_NG_ML) / uln_ng_ml)


def alp_x_uln(alp_u_l: Any, uln_u_l: Any) -> Any:
    """The ALP feature: ALP (U/L) as a multiple of its upper limit of normal."""
    return alp_u_l / uln_u_l


def derive_lab_features(
    labs: pd.DataFrame,
    patients: pd.DataFrame,
    index: pd.DataFrame,
    config: FeatureConfig,
) -> pd.DataFrame:
    """Biomarker features of each prediction.

    Latest value per analyte within ``lookback_days['labs']`` (same-day ties: the higher value);
    CgA series (slope, doubling time) within ``lookback_days['cga_series']``; NLR and PLR from
    neutrophils, lymphocytes and platelets measured on the same date (the latest such date).

    Args:
        labs: validated labs table (canonical units).
        patients: validated patients table (age and sex for eGFR).
        index: output of ``select_index_lines``.
        config: feature settings.

    Returns:
        One row per prediction (MultiIndex ``patient_id``, ``line``).
    """
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(index[KEYS]))
    cols = ["patient_id", "date", "analyte", "value"]
    window = restrict_to_window(labs[cols], index, "date", config.lookback("labs"))
    window["value"] = as_float(window["value"])
    window = window.loc[window["value"].notna()]
    window = window.sort_values([*KEYS, "analyte", "date", "value"])
    latest = (
        window.drop_duplicates([*KEYS, "analyte"], keep="last")
        .set_index([*KEYS, "analyte"])["value"]
        .unstack("analyte")
    )
    for analyte in [*LATEST_ANALYTES, "cga"]:
        out[analyte] = latest[analyte] if analyte in latest.columns else np.nan
    out = out.rename(columns=LATEST_ANALYTES)
    out["cga_log10_uln"] = cga_log10_uln(out.pop("cga"), config.cga_uln)
    out["alp_x_uln"] = alp_x_uln(out["alp"], config.alp_uln)
    out = out.join(_derive_count_ratios(window), how="left")
    out = out.join(_derive_cga_series(labs, index, config), how="left")
    out["cga_n_values"] = out["cga_n_values"].fillna(0.0)
    pat = index.merge(patients[["patient_id", "sex", "birth_year"]], on="patient_id", how="left")
    age = compute_age_years(pat["birth_year"], pat["index_date"])
    out["egfr_ckd_epi_2021"] = compute_egfr_ckd_epi_2021(out["creatinine"], age, pat["sex"])
    return out


def _derive_count_ratios(window: pd.DataFrame) -> pd.DataFrame:
    """NLR and PLR from the latest date with neutrophils (or platelets) and lymphocytes."""
    counts = window.loc[window["analyte"].isin(["neutrophils", "lymphocytes", "platelets"])]
    wide = (
        counts.drop_duplicates([*KEYS, "date", "analyte"], keep="last")
        .set_index([*KEYS, "date", "analyte"])["value"]
        .unstack("analyte")
        .reindex(columns=["neutrophils", "lymphocytes", "platelets"])
    )
    lymph = wide["lymphocytes"].where(wide["lymphocytes"] > 0)
    out = pd.DataFrame(index=wide.index)
    out["nlr"] = wide["neutrophils"] / lymph
    out["plr"] = wide["platelets"] / lymph
    # the index is sorted by date within each prediction: last non-missing = latest date
    return out.groupby(level=KEYS, sort=False).last()


def _derive_cga_series(
    labs: pd.DataFrame, index: pd.DataFrame, config: FeatureConfig
) -> pd.DataFrame:
    """Least-squares slope of ln(CgA) per month, doubling time and number of CgA values."""
    cga = labs.loc[labs["analyte"].eq("cga"), ["patient_id", "date", "value"]]
    rows = restrict_to_window(cga, index, "date", config.lookback("cga_series"))
    value = as_float(rows["value"])
    ok = np.isfinite(value) & (value > 0)
    rows = rows.loc[ok]
    x = ((rows["date"] - rows["index_date"]).dt.days / DAYS_PER_MONTH).to_numpy(dtype=float)
    y = np.log(value[ok])
    sums = pd.DataFrame({"n": 1.0, "x": x, "y": y, "xx": x * x, "xy": x * y})
    sums["patient_id"] = rows["patient_id"].to_numpy()
    sums["line"] = rows["line"].to_numpy()
    agg = sums.groupby(KEYS, sort=False).sum()
    n = agg["n"]
    sxx = agg["xx"] - agg["x"] ** 2 / n
    sxy = agg["xy"] - agg["x"] * agg["y"] / n
    out = pd.DataFrame(index=agg.index)
    # distinct dates needed: sxx is ~0 when all values share one date
    slope = (sxy / sxx).where(sxx > 1e-9)
    out["cga_log_slope_per_month"] = slope
    out["cga_doubling_time_months"] = (np.log(2.0) / slope).where(slope > 0)
    out["cga_n_values"] = n
    return out

"""Clinical features: demographics, performance status, disease history and prior therapy lines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinical import PRIOR_THERAPIES, THERAPIES
from features.index import KEYS, FeatureConfig, as_float, count_by, months_between

PRIOR_CLASSES = PRIOR_THERAPIES
PRIOR_FLAG_NAMES = {code: THERAPIES[code].prior_flag for code in PRIOR_THERAPIES}


def compute_age_years(birth_year: pd.Series, index_date: pd.Series) -> pd.Series:
    """Age in years at the index date, counting birth at mid-year (1 July of ``birth_year``).

    Args:
        birth_year: year of birth (only the year is kept by the contract).
        index_date: the index date of each prediction.

    Returns:
        Age in years (days / 365.25), NaN where either input is missing.
    """
    years = pd.to_numeric(birth_year, errors="coerce")
    frac_year = index_date.dt.year + (index_date.dt.dayofyear - 1) / 365.25
    # 1 July is day 182 of a common year: (182 - 1) / 365.25 = 0.4956
    return (frac_year - (years + 181.0 / 365.25)).astype(float)


def derive_clinical_features(
    patients: pd.DataFrame,
    treatments: pd.DataFrame,
    index: pd.DataFrame,
    config: FeatureConfig,
) -> pd.DataFrame:
    """Clinical features of each prediction.

    Prior lines are treatment rows with a lower line number than the index line and a start
    date on or before the index date (any time before: no look-back).

    Args:
        patients: validated patients table.
        treatments: validated treatments table.
        index: output of ``select_index_lines``.
        config: feature settings (unused; kept for a uniform family signature).

    Returns:
        One row per prediction (MultiIndex ``patient_id``, ``line``).
    """
    del config
    pat = index.merge(
        patients[
            [
                "patient_id",
                "sex",
                "birth_year",
                "diagnosis_date",
                "primary_site",
                "functional_syndrome",
                "ecog",
            ]
        ],
        on="patient_id",
        how="left",
    )
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(pat[KEYS]))
    out["sex"] = pat["sex"].astype(object).to_numpy()
    out["primary_site"] = pat["primary_site"].astype(object).to_numpy()
    out["age_at_index"] = compute_age_years(pat["birth_year"], pat["index_date"]).to_numpy()
    out["ecog"] = as_float(pat["ecog"])
    out["functional_syndrome"] = as_float(pat["functional_syndrome"])
    out["months_since_diagnosis"] = months_between(
        pat["diagnosis_date"], pat["index_date"]
    ).to_numpy()
    out["line_number"] = as_float(pat["line"])
    prior = _summarise_prior_lines(treatments, index)
    out = out.join(prior, how="left")
    flag_cols = ["n_prior_lines", *PRIOR_FLAG_NAMES.values()]
    out[flag_cols] = out[flag_cols].fillna(0.0)
    # no prior PRRT -> 0 GBq; prior PRRT with unrecorded activity stays NaN
    no_prrt = out["prior_prrt"].eq(0.0)
    out.loc[no_prrt, "prior_prrt_activity_gbq"] = 0.0
    return out


def _summarise_prior_lines(treatments: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Count prior lines, flag each prior therapy class and sum prior PRRT activity."""
    tx = treatments[["patient_id", "line", "therapy", "start_date", "cumulative_activity_gbq"]]
    tx = tx.rename(columns={"line": "prior_line"})
    merged = tx.merge(index[["patient_id", "line", "index_date"]], on="patient_id", how="inner")
    keep = (merged["prior_line"] < merged["line"]) & (merged["start_date"] <= merged["index_date"])
    prior = merged.loc[keep.to_numpy()]
    if prior.empty:
        cols = ["n_prior_lines", *PRIOR_FLAG_NAMES.values(), "prior_prrt_activity_gbq"]
        return pd.DataFrame(columns=cols, index=pd.MultiIndex.from_arrays([[], []], names=KEYS))
    grouped = prior.groupby(KEYS, sort=False)
    out = pd.DataFrame({"n_prior_lines": grouped["prior_line"].nunique().astype(float)})
    flags = (
        count_by(prior, "therapy", list(PRIOR_CLASSES))
        .gt(0)
        .astype(float)
        .rename(columns=PRIOR_FLAG_NAMES)
    )
    out = out.join(flags, how="left")
    is_prrt = prior["therapy"].eq("prrt_lu177").to_numpy()
    activity = pd.Series(as_float(prior["cumulative_activity_gbq"]), index=prior.index)
    activity = activity.where(is_prrt, np.nan)
    out["prior_prrt_activity_gbq"] = (
        activity.groupby([prior["patient_id"], prior["line"]], sort=False).sum(min_count=1)
    )
    out.index.names = KEYS
    return out

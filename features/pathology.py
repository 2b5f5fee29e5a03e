"""Pathology features: latest Ki-67 on or before the index date, WHO grade, tissue markers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clinical import grade_from_ki67 as _who_grade
from features.index import KEYS, FeatureConfig, as_float, restrict_to_window

MARKERS = ("sstr2_ihc", "egfr_ihc", "cmet_ihc", "igf1r_ihc", "daxx_atrx_loss")


def grade_from_ki67(ki67: pd.Series) -> pd.Series:
    """WHO grade of a well-differentiated NET from Ki-67 (%): G1 < 3, G2 3-20, G3 > 20.

    Args:
        ki67: Ki-67 index in percent.

    Returns:
        ``G1``/``G2``/``G3`` as objects, None where Ki-67 is missing.
    """
    return pd.Series(_who_grade(as_float(ki67)), index=ki67.index, dtype=object)


def derive_pathology_features(
    pathology: pd.DataFrame, index: pd.DataFrame, config: FeatureConfig
) -> pd.DataFrame:
    """Pathology features of each prediction (samples on or before the index date).

    Ki-67, its grade and the specimen type come from the latest sample with a Ki-67 value
    (same-day ties: the higher Ki-67 wins); differentiation and each tissue marker are the
    latest non-missing value of that column.

    Args:
        pathology: validated pathology table.
        index: output of ``select_index_lines``.
        config: feature settings (``lookback_days['pathology']``, None = any time before).

    Returns:
        One row per prediction (MultiIndex ``patient_id``, ``line``).
    """
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(index[KEYS]))
    cols = ["patient_id", "sample_date", "specimen", "ki67_percent", "differentiation"]
    markers = [m for m in MARKERS if m in pathology.columns]
    rows = restrict_to_window(
        pathology[cols + markers], index, "sample_date", config.lookback("pathology")
    )
    rows["ki67_percent"] = as_float(rows["ki67_percent"])
    rows = rows.sort_values([*KEYS, "sample_date", "ki67_percent"], na_position="first")
    with_ki67 = rows.loc[rows["ki67_percent"].notna()]
    latest = with_ki67.drop_duplicates(KEYS, keep="last").set_index(KEYS)
    latest = latest[["ki67_percent", "specimen"]]
    out = out.join(latest, how="left")
    out["ki67_available"] = out["ki67_percent"].notna().astype(float)
    out["who_grade"] = grade_from_ki67(out["ki67_percent"])
    out["specimen"] = out["specimen"].astype(object)
    other = rows.groupby(KEYS, sort=False)[["differentiation", *markers]].last()
    out = out.join(other, how="left")
    for marker in MARKERS:
        out[marker] = as_float(out[marker]) if marker in out.columns else np.nan
    out["differentiation"] = out["differentiation"].astype(object)
    return out[
        ["ki67_percent", "ki67_available", "who_grade", "specimen", "differentiation", *MARKERS]
    ]

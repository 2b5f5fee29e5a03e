"""Index lines and look-back windows: the leakage guard of the feature stage.

A prediction is one patient and one therapy line (the index line); its index date is that line's
``start_date``. Every feature family reads long tables only through :func:`restrict_to_window`,
which keeps rows dated on or before the index date and, when a look-back is set, on or after
``index_date - lookback_days``. Nothing dated after the index date can reach a feature.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clinical import INDEX_THERAPIES

log = logging.getLogger(__name__)

KEYS = ["patient_id", "line"]
DAYS_PER_MONTH = 30.4375
DEFAULT_LOOKBACK_DAYS: dict[str, int | None] = {
    "labs": 90,
    "imaging": 120,
    "ct": 365,
    "pathology": None,
    "cga_series": 365,
}
DEFAULT_INDEX_THERAPIES = INDEX_THERAPIES


@dataclass(frozen=True)
class FeatureConfig:
    """Settings of the feature stage (the pipeline fills them from ``params.yaml`` ``features``).

    Attributes:
        lookback_days: window per family in days (``None`` = any time before the index date).
            Keys: ``labs``, ``imaging`` (PET), ``ct`` (CT/MRI), ``pathology``, ``cga_series``.
        index_therapies: therapies that define a prediction (index line).
        index_line_policy: ``latest`` (one row per patient: the latest index line) or ``all``.
        cga_uln: upper limit of normal of chromogranin A (ng/mL).
        alp_uln: upper limit of normal of alkaline phosphatase (U/L).
    """

    lookback_days: dict = field(default_factory=lambda: dict(DEFAULT_LOOKBACK_DAYS))
    index_therapies: tuple = DEFAULT_INDEX_THERAPIES
    index_line_policy: str = "latest"
    cga_uln: float = 100.0
    alp_uln: float = 120.0

    def __post_init__(self) -> None:
        if self.index_line_policy not in ("latest", "all"):
            raise ValueError(
                f"index_line_policy must be 'latest' or 'all', got {self.index_line_policy!r}"
            )
        if self.cga_uln <= 0 or self.alp_uln <= 0:
            raise ValueError("cga_uln and alp_uln must be > 0")
        for name, days in self.lookback_days.items():
            if days is not None and days < 0:
                raise ValueError(f"lookback_days[{name!r}] must be >= 0 or None, got {days}")

    def lookback(self, family: str) -> int | None:
        """Look-back in days for one family (defaults when the key is absent)."""
        if family in self.lookback_days:
            return self.lookback_days[family]
        return DEFAULT_LOOKBACK_DAYS[family]


def select_index_lines(
    treatments: pd.DataFrame, assessments: pd.DataFrame, config: FeatureConfig
) -> pd.DataFrame:
    """Select the index lines: predictions to make, one row per (patient_id, line).

    An index line is a treatment line whose therapy is in ``config.index_therapies`` and that
    has at least one assessment row (``assessments.treatment_line == line``). With policy
    ``latest`` only each patient's highest such line is kept.

    Args:
        treatments: validated treatments table.
        assessments: validated assessments table.
        config: feature settings.

    Returns:
        Columns ``patient_id``, ``line``, ``therapy``, ``index_date`` sorted by the keys.
    """
    tx = treatments.loc[
        treatments["therapy"].isin(config.index_therapies) & treatments["start_date"].notna(),
        ["patient_id", "line", "therapy", "start_date"],
    ]
    assessed = (
        assessments[["patient_id", "treatment_line"]]
        .dropna()
        .drop_duplicates()
        .rename(columns={"treatment_line": "line"})
    )
    assessed["line"] = assessed["line"].astype(tx["line"].dtype)
    index = tx.merge(assessed, on=KEYS, how="inner")
    # one row per (patient, line): duplicated line rows keep the earliest start
    index = index.sort_values([*KEYS, "start_date"]).drop_duplicates(KEYS, keep="first")
    if config.index_line_policy == "latest":
        index = index.drop_duplicates("patient_id", keep="last")
    index = index.rename(columns={"start_date": "index_date"}).reset_index(drop=True)
    log.info(
        "index lines: %d predictions for %d patients", len(index), index["patient_id"].nunique()
    )
    return index[["patient_id", "line", "therapy", "index_date"]]


def restrict_to_window(
    rows: pd.DataFrame,
    index: pd.DataFrame,
    date_col: str,
    lookback_days: int | None,
) -> pd.DataFrame:
    """Attach each row to the predictions of its patient and keep rows inside the window.

    Kept: ``index_date - lookback_days <= date <= index_date`` (no lower bound when
    ``lookback_days`` is None). Rows with a missing date are dropped. This is the only way a
    feature family reads a long table.

    Args:
        rows: a long table with ``patient_id`` and ``date_col``.
        index: output of :func:`select_index_lines`.
        date_col: the date column of ``rows``.
        lookback_days: window length in days, or None for any time before.

    Returns:
        The kept rows with ``line`` and ``index_date`` added (one copy per prediction).
    """
    merged = rows.merge(index[["patient_id", "line", "index_date"]], on="patient_id", how="inner")
    dates = merged[date_col]
    keep = dates.notna() & (dates <= merged["index_date"])
    if lookback_days is not None:
        keep &= dates >= merged["index_date"] - pd.Timedelta(days=int(lookback_days))
    return merged.loc[keep.to_numpy()].reset_index(drop=True)


def months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Months (days / 30.4375) from ``start`` to ``end``; NaN where either is missing."""
    days = (end - start).dt.total_seconds() / 86400.0
    return (days / DAYS_PER_MONTH).astype(float)


def empty_keyed(index: pd.DataFrame) -> pd.DataFrame:
    """An empty frame indexed by the prediction keys of ``index`` (for families to fill)."""
    return pd.DataFrame(index=pd.MultiIndex.from_frame(index[KEYS]))


def count_by(rows: pd.DataFrame, column: str, categories: list[str] | None = None) -> pd.DataFrame:
    """Rows per prediction (MultiIndex ``patient_id``, ``line``) and value of ``column``.

    A fast replacement of ``pd.crosstab``; ``categories`` fixes (and orders) the columns.
    """
    counts = rows.groupby([*KEYS, column], sort=False).size().unstack(column, fill_value=0)
    if categories is not None:
        counts = counts.reindex(columns=categories, fill_value=0)
    counts.columns.name = None
    return counts


def as_float(values: pd.Series | np.ndarray) -> np.ndarray:
    """Float array copy (nullable integer / boolean become NaN-aware floats)."""
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)

"""A user's single-table cohort: type its columns into a feature dictionary, pick evaluation times.

``evaluate-flat`` runs the pipeline's model choice on one CSV (one row per patient). The
pipeline's estimators read a feature dictionary (:class:`models.design.DesignMatrix`); this module
builds one from the table itself: numeric columns stay numeric, 0/1 and boolean columns become
``binary``, text / category columns with few levels become one-hot ``categorical``, and columns
that cannot be used (all missing, constant, free text or identifiers with many levels) are
listed as excluded with the reason. It also chooses the times at which survival is evaluated
from the observed event times, since a user's table may count days, months or years.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["MAX_LEVELS", "evaluation_times", "infer_dictionary"]

logger = logging.getLogger(__name__)

#: Text columns with more distinct values than this are not one-hot encoded (identifier-like).
MAX_LEVELS = 20


def _is_binary(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return True
    seen = pd.unique(values.dropna())
    return bool(pd.api.types.is_numeric_dtype(values) and np.isin(seen, (0, 1)).all())


def _type_column(values: pd.Series, max_levels: int) -> tuple[str | None, list[str] | None, str]:
    """(dtype, categories, reason if excluded) of one column."""
    present = values.dropna()
    if present.empty:
        return None, None, "all values missing"
    if present.nunique() < 2:
        return None, None, "constant"
    if _is_binary(values):
        return "binary", None, ""
    if pd.api.types.is_numeric_dtype(values):
        return "numeric", None, ""
    if isinstance(values.dtype, pd.CategoricalDtype):
        used = set(present.astype(str))
        cats = [str(c) for c in values.cat.categories if str(c) in used]
    else:
        as_number = pd.to_numeric(present, errors="coerce")
        if as_number.notna().all():  # numbers stored as text
            return "numeric", None, ""
        cats = sorted(map(str, pd.unique(present.astype(str))))
    if len(cats) > max_levels:
        return None, None, f"{len(cats)} distinct text values (identifier or free text?)"
    return "categorical", cats, ""


def infer_dictionary(
    frame: pd.DataFrame,
    exclude: Iterable[str] = (),
    *,
    treatment: str | None = None,
    max_levels: int = MAX_LEVELS,
) -> dict:
    """Feature dictionary of a single-table cohort, typed from the column values.

    Args:
        frame: The cohort, one row per patient (not modified).
        exclude: Columns that are not model inputs (outcome columns, identifiers).
        treatment: Column to mark with role ``treatment`` (still a model input).
        max_levels: Text columns with more levels are excluded, not one-hot encoded.

    Returns:
        ``{"version": 1, "features": [{"name", "role", "dtype", "categories"?}],
        "excluded": [{"name", "reason"}]}``; dtypes are ``numeric``, ``binary`` or
        ``categorical`` (levels sorted, or in the order of a pandas categorical).

    Raises:
        ValueError: If ``treatment`` is not a column of ``frame``.
    """
    if treatment is not None and treatment not in frame.columns:
        raise ValueError(f"treatment column {treatment!r} is not in the table")
    skip = set(exclude) - {treatment}
    features, excluded = [], []
    for name in frame.columns:
        if name in skip:
            continue
        dtype, cats, reason = _type_column(frame[name], max_levels)
        if name == treatment and dtype is not None:  # arms are categories, whatever their codes
            dtype = "categorical"
            cats = sorted(map(str, pd.unique(frame[name].dropna().astype(str))))
        if dtype is None:
            excluded.append({"name": str(name), "reason": reason})
            logger.info("column %s not used as a model input: %s", name, reason)
            continue
        entry = {"name": str(name), "role": "treatment" if name == treatment else "feature",
                 "dtype": dtype}
        if cats is not None:
            entry["categories"] = cats
        features.append(entry)
    return {"version": 1, "features": features, "excluded": excluded}


def _round_sig(values: np.ndarray, digits: int = 4) -> np.ndarray:
    """Round to ``digits`` significant digits (so ``f"{t:g}"`` names them exactly)."""
    return np.array([float(f"{v:.{digits}g}") for v in values], dtype=np.float64)


def evaluation_times(
    time: np.ndarray, event: np.ndarray, n_grid: int = 20
) -> tuple[list[float], list[float]]:
    """Horizons for the time-dependent AUC and the grid for the integrated Brier score.

    The horizons are the quartiles of the observed event times; the grid spans the 10th to
    90th percentile of the event times (as ``sksurv`` recommends for the IBS) in ``n_grid``
    steps and includes the horizons. Both depend on the outcome only, in the table's unit.

    Args:
        time: Follow-up times, shape ``(n,)``.
        event: Event indicators (bool or 0/1), shape ``(n,)``.
        n_grid: Number of evenly spaced grid times.

    Returns:
        ``(horizons, grid)``, each sorted and unique.

    Raises:
        ValueError: If fewer than two distinct event times are observed.
    """
    times = np.asarray(time, dtype=np.float64)[np.asarray(event, dtype=bool)]
    if np.unique(times).size < 2:
        raise ValueError("need at least two distinct event times to evaluate survival")
    horizons = np.unique(_round_sig(np.quantile(times, [0.25, 0.5, 0.75])))
    lo, hi = np.quantile(times, [0.1, 0.9])
    grid = np.unique(np.concatenate([_round_sig(np.linspace(lo, hi, n_grid)), horizons]))
    return horizons.tolist(), grid.tolist()

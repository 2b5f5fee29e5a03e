"""Performance per subgroup (primary site, WHO grade, therapy, centre, sex...) with intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from models.evaluation._checks import _as_rng, _check_positive_int

__all__ = ["subgroup_metrics"]


class _Resampler:
    """Row subsets of a frame built from its columns as NumPy arrays.

    ``DataFrame.iloc`` with an index array costs a block-manager copy per call, which dominates
    the bootstrap of cheap O(n log n) metrics on large subgroups. Columns with a plain NumPy dtype
    are indexed as arrays (same values, dtypes and index labels as ``frame.iloc[idx]``); columns
    with pandas extension dtypes (categorical, nullable, string) fall back to ``Series.take``.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.columns = frame.columns
        self.index = frame.index.to_numpy()
        self.index_name = frame.index.name
        self.data = []
        for j in range(frame.shape[1]):
            col = frame.iloc[:, j]
            plain = isinstance(col.dtype, np.dtype)
            self.data.append((col.to_numpy() if plain else col, plain))
        self.unique_columns = self.columns.is_unique

    def take(self, idx: np.ndarray) -> pd.DataFrame:
        if not self.unique_columns:  # duplicate names: keep pandas' own semantics
            return None
        index = pd.Index(self.index[idx], name=self.index_name)
        out = {}
        for name, (values, plain) in zip(self.columns, self.data, strict=True):
            out[name] = values[idx] if plain else values.take(idx).set_axis(index)
        return pd.DataFrame(out, index=index, columns=self.columns, copy=False)


def _metric_with_interval(sub: pd.DataFrame, metric_fn, n_boot: int, rng, level: float):
    try:
        estimate = float(metric_fn(sub))
    except ValueError:
        return np.nan, np.nan, np.nan
    if n_boot == 0:
        return estimate, np.nan, np.nan
    resampler = _Resampler(sub)
    values = []
    for idx in rng.integers(0, len(sub), size=(n_boot, len(sub))):
        boot = resampler.take(idx)
        try:
            values.append(float(metric_fn(sub.iloc[idx] if boot is None else boot)))
        except ValueError:  # undefined on this resample (e.g. one class); counted out
            continue
    if len(values) < 2:
        return estimate, np.nan, np.nan
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return estimate, float(lo), float(hi)


def subgroup_metrics(
    frame: pd.DataFrame,
    group_columns: Sequence[str],
    metric_fn: Callable[[pd.DataFrame], float],
    min_size: int = 30,
    n_boot: int = 200,
    seed: int | np.random.Generator = 0,
    event_column: str | None = "event",
    level: float = 0.95,
) -> pd.DataFrame:
    """Metric and percentile bootstrap interval per level of each grouping column.

    Args:
        frame: one row per patient with the outcome and prediction columns ``metric_fn``
            reads and the grouping columns.
        group_columns: columns to split by (each separately), e.g. ``["primary_site",
            "who_grade", "therapy", "centre", "sex"]``.
        metric_fn: ``metric_fn(sub_frame) -> float``; raises ``ValueError`` when undefined.
        min_size: levels with fewer rows get ``metric = NaN`` (reported, not dropped).
        n_boot: bootstrap resamples per level (0 = no interval).
        seed: int or ``numpy.random.Generator``.
        event_column: column counted in ``events`` (bool/0-1), or ``None``.
        level: interval coverage.

    Returns:
        Tidy DataFrame ``group``, ``level``, ``n``, ``events``, ``metric``, ``lo``, ``hi``; the
        first row is ``group="overall"``, ``level="all"``. Missing levels appear as
        ``"missing"``.
    """
    missing = [c for c in group_columns if c not in frame.columns]
    if missing:
        raise ValueError(f"group_columns not in frame: {missing}")
    if event_column is not None and event_column not in frame.columns:
        raise ValueError(f"event_column {event_column!r} not in frame")
    min_size = _check_positive_int(min_size, "min_size")
    n_boot = _check_positive_int(n_boot, "n_boot", minimum=0)
    rng = _as_rng(seed)
    parts = [("overall", "all", frame)]
    for col in group_columns:
        keys = frame[col].astype(object).where(frame[col].notna(), "missing").astype(str)
        parts.extend((col, level_, sub) for level_, sub in frame.groupby(keys, sort=True))
    rows = []
    for group, level_, sub in parts:
        events = int(sub[event_column].astype(float).sum()) if event_column else None
        if len(sub) < min_size:
            metric, lo, hi = np.nan, np.nan, np.nan
        else:
            metric, lo, hi = _metric_with_interval(sub, metric_fn, n_boot, rng, level)
        rows.append(
            {
                "group": group,
                "level": str(level_),
                "n": len(sub),
                "events": events,
                "metric": metric,
                "lo": lo,
                "hi": hi,
            }
        )
    return pd.DataFrame(rows)

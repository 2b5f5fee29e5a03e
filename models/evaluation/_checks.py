"""Private validators shared by the evaluation modules.

Each ``_check_*`` returns clean numpy arrays or raises ``ValueError`` naming the bad value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _check_survival(y: np.ndarray, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Split a structured survival array into (event bool, time float)."""
    if not isinstance(y, np.ndarray) or y.dtype.names is None or len(y.dtype.names) != 2:
        raise ValueError(
            f"{name} must be a structured array (event, time) from sksurv.util.Surv, "
            f"got {type(y).__name__} with dtype {getattr(y, 'dtype', None)}"
        )
    event_field, time_field = y.dtype.names
    event = np.asarray(y[event_field])
    time = np.asarray(y[time_field], dtype=float)
    if event.dtype != bool:
        raise ValueError(f"{name}: event field {event_field!r} must be bool, got {event.dtype}")
    if y.ndim != 1 or y.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array, got shape {y.shape}")
    if not np.all(np.isfinite(time)):
        raise ValueError(f"{name}: time contains non-finite values ({np.sum(~np.isfinite(time))})")
    if np.any(time < 0):
        raise ValueError(f"{name}: time contains negative values (min {time.min():.4g})")
    return event, time


def _check_binary(y: Sequence | np.ndarray | pd.Series, name: str = "y") -> np.ndarray:
    """Return y as a float array of 0/1, or raise."""
    arr = np.asarray(y, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"{name} must contain only 0/1, got e.g. {arr[bad][:3].tolist()}")
    return arr


def _check_both_classes(y: np.ndarray, name: str = "y") -> None:
    if np.unique(y).size < 2:
        raise ValueError(f"{name} has a single class ({np.unique(y).tolist()}); need 0 and 1")


def _check_probability(p: Sequence | np.ndarray, n: int, name: str = "p") -> np.ndarray:
    """Return p as a float array of length n with values in [0, 1], or raise."""
    arr = np.asarray(p, dtype=float).ravel()
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} values, expected {n}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values ({np.sum(~np.isfinite(arr))})")
    if arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must lie in [0, 1], got range [{arr.min():.4g}, {arr.max():.4g}]")
    return arr


def _check_score(score: Sequence | np.ndarray, n: int, name: str = "risk") -> np.ndarray:
    """Return a finite 1-d score of length n, or raise."""
    arr = np.asarray(score, dtype=float)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values ({np.sum(~np.isfinite(arr))})")
    return arr


def _check_times(times: Sequence[float] | np.ndarray | float, name: str = "times") -> np.ndarray:
    """Return sorted unique positive horizons, or raise."""
    arr = np.atleast_1d(np.asarray(times, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and > 0, got {arr.tolist()}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {arr.tolist()}")
    return arr


def _check_positive_int(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _as_rng(seed: int | np.random.Generator) -> np.random.Generator:
    """A Generator from an int seed or the Generator itself (never global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def _km_survival_at(event: np.ndarray, time: np.ndarray, t: float) -> float:
    """Kaplan-Meier survival probability at ``t`` (vectorised product-limit)."""
    if time.size == 0:
        return float("nan")
    uniq, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=event.astype(float), minlength=uniq.size)
    removed = np.bincount(inverse, minlength=uniq.size)
    at_risk = removed[::-1].cumsum()[::-1]
    keep = (uniq <= t) & (deaths > 0)
    return float(np.prod(1.0 - deaths[keep] / at_risk[keep]))

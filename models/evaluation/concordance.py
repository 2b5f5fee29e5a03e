"""Concordance counting in O(n log n): Harrell's and Uno's C for cohorts of any size.

``sksurv.metrics`` compares every event with every later subject (O(n^2) Python loops: about
45 s for 100,000 patients, 5 ms for 300). Here the subjects are swept from the latest time to
the earliest while a Fenwick tree over the risk ranks holds everyone already passed, so each
event asks "how many later subjects have a lower / an equal risk" in O(log n).

Cohorts up to ``PAIRWISE_MAX`` subjects are counted by blocked numpy broadcasting instead (no
JIT compile: numba's first compile costs seconds on a small machine, more than every small
cohort's concordance together); both paths give the same numbers.

The pair rules are those of ``sksurv.metrics`` (0.28): an event at time t is comparable with
every subject whose time is > t and with subjects censored at exactly t; a pair tied in risk
(within ``tied_tol``) counts one half; event i carries weight w_i (1 for Harrell, the squared
inverse probability of censoring for Uno). Risks are tied when consecutive sorted values differ
by at most ``tied_tol``; for chains of near-ties this can differ from sksurv's pairwise rule,
never for exact ties or well-separated scores.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PAIRWISE_MAX", "risk_ranks", "weighted_concordance"]

#: Largest cohort counted pairwise in numpy (above: the O(n log n) numba sweep).
PAIRWISE_MAX = 2000
_BLOCK_PAIRS = 2_000_000  # pairs per broadcast block (~20 MB of booleans)


def risk_ranks(risk: np.ndarray, tied_tol: float = 1e-8) -> np.ndarray:
    """Dense 0-based ranks of ``risk``; values within ``tied_tol`` of the last share a rank."""
    order = np.argsort(risk, kind="mergesort")
    step = np.diff(risk[order]) > tied_tol
    dense = np.concatenate(([0], np.cumsum(step)))
    ranks = np.empty(risk.size, dtype=np.int64)
    ranks[order] = dense
    return ranks


def _pairwise(time, event, rank, weight):
    """The sweep's counts by broadcasting, one block of events at a time."""
    events = np.flatnonzero(event)
    numerator = denominator = 0.0
    pairs = 0
    step = max(1, _BLOCK_PAIRS // max(time.size, 1))
    for lo in range(0, events.size, step):
        rows = events[lo:lo + step]
        t_i, r_i = time[rows][:, None], rank[rows][:, None]
        comparable = (time[None, :] > t_i) | ((time[None, :] == t_i) & ~event[None, :])
        less = (comparable & (rank[None, :] < r_i)).sum(axis=1)
        tied = (comparable & (rank[None, :] == r_i)).sum(axis=1)
        n_comp = comparable.sum(axis=1)
        w = weight[rows]
        numerator += float(np.sum(w * (less + 0.5 * tied)))
        denominator += float(np.sum(w * n_comp))
        pairs += int(n_comp.sum())
    return numerator, denominator, pairs


def weighted_concordance(
    event: np.ndarray,
    time: np.ndarray,
    risk: np.ndarray,
    weight: np.ndarray | None = None,
    tied_tol: float = 1e-8,
) -> tuple[float, int]:
    """Weighted concordance of ``risk`` with (``time``, ``event``).

    Args:
        event: bool, shape (n,).
        time: float, shape (n,).
        risk: higher = earlier event, shape (n,).
        weight: weight of each subject as the earlier member of a pair (None: all 1).
        tied_tol: risks closer than this are tied (count 1/2).

    Returns:
        (C, number of comparable pairs).

    Raises:
        ValueError: If no pair is comparable (or all comparable pairs have zero weight).
    """
    event = np.ascontiguousarray(event, dtype=np.bool_)
    time = np.ascontiguousarray(time, dtype=np.float64)
    risk = np.ascontiguousarray(risk, dtype=np.float64)
    w = (np.ones(time.size) if weight is None
         else np.ascontiguousarray(weight, dtype=np.float64))
    ranks = risk_ranks(risk, tied_tol)
    if time.size <= PAIRWISE_MAX:
        numerator, denominator, pairs = _pairwise(time, event, ranks, w)
    else:
        from models.evaluation._sweep import sweep  # numba, imported only for large cohorts

        numerator, denominator, pairs = sweep(time, event, ranks, w, int(ranks.max()) + 1)
    if pairs == 0 or denominator <= 0:
        raise ValueError("no comparable pairs: cannot estimate a concordance index")
    return float(numerator / denominator), int(pairs)

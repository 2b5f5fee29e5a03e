"""Concordance counting in O(n log n): Harrell's and Uno's C for cohorts of any size.

``sksurv.metrics`` compares every event with every later subject (O(n^2) Python loops: about
45 s for 100,000 patients, 5 ms for 300). Here the subjects are swept from the latest time to
the earliest while a Fenwick tree over the risk ranks holds everyone already passed, so each
event asks "how many later subjects have a lower / an equal risk" in O(log n).

The pair rules are those of ``sksurv.metrics`` (0.28): an event at time t is comparable with
every subject whose time is > t and with subjects censored at exactly t; a pair tied in risk
(within ``tied_tol``) counts one half; event i carries weight w_i (1 for Harrell, the squared
inverse probability of censoring for Uno). Risks are tied when consecutive sorted values differ
by at most ``tied_tol``; for chains of near-ties this can differ from sksurv's pairwise rule,
never for exact ties or well-separated scores.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["risk_ranks", "weighted_concordance"]


def risk_ranks(risk: np.ndarray, tied_tol: float = 1e-8) -> np.ndarray:
    """Dense 0-based ranks of ``risk``; values within ``tied_tol`` of the last share a rank."""
    order = np.argsort(risk, kind="mergesort")
    step = np.diff(risk[order]) > tied_tol
    dense = np.concatenate(([0], np.cumsum(step)))
    ranks = np.empty(risk.size, dtype=np.int64)
    ranks[order] = dense
    return ranks


@numba.njit(cache=True, nogil=True)
def _add(tree, rank):  # pragma: no cover - compiled
    r = rank + 1
    while r < tree.size:
        tree[r] += 1
        r += r & (-r)


@numba.njit(cache=True, nogil=True)
def _count_below(tree, rank):  # pragma: no cover - compiled
    """Inserted subjects with rank < ``rank``."""
    total = 0
    r = rank
    while r > 0:
        total += tree[r]
        r -= r & (-r)
    return total


@numba.njit(cache=True, nogil=True)
def _sweep(time, event, rank, weight, n_ranks):  # pragma: no cover - compiled
    order = np.argsort(time, kind="mergesort")
    tree = np.zeros(n_ranks + 1, dtype=np.int64)
    inserted = 0
    numerator = 0.0
    denominator = 0.0
    pairs = 0
    end = time.size
    while end > 0:
        start = end - 1
        while start > 0 and time[order[start - 1]] == time[order[end - 1]]:
            start -= 1
        # censored subjects at t are comparable with the events at t: insert them first
        for k in range(start, end):
            if not event[order[k]]:
                _add(tree, rank[order[k]])
                inserted += 1
        for k in range(start, end):
            i = order[k]
            if event[i] and inserted > 0:
                less = _count_below(tree, rank[i])
                tied = _count_below(tree, rank[i] + 1) - less
                numerator += weight[i] * (less + 0.5 * tied)
                denominator += weight[i] * inserted
                pairs += inserted
        for k in range(start, end):
            if event[order[k]]:
                _add(tree, rank[order[k]])
                inserted += 1
        end = start
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
    numerator, denominator, pairs = _sweep(time, event, ranks, w, int(ranks.max()) + 1)
    if pairs == 0 or denominator <= 0:
        raise ValueError("no comparable pairs: cannot estimate a concordance index")
    return float(numerator / denominator), int(pairs)

"""The numba kernel of :mod:`models.evaluation.concordance` for large cohorts (lazy import).

Subjects are swept from the latest time to the earliest while a Fenwick tree over the risk
ranks counts everyone already passed; each event asks how many later subjects have a lower or
an equal risk in O(log n).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["sweep"]


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
def sweep(time, event, rank, weight, n_ranks):  # pragma: no cover - compiled
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

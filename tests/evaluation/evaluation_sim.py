"""Simulators with known truth shared by the evaluation tests (fixed seeds, offline)."""

from __future__ import annotations

import numpy as np
from sksurv.util import Surv

BASE_RATE = 0.05  # exponential baseline hazard per month


def simulate_survival(n: int, seed: int, scale: float = 1.0):
    """Exponential PH data: returns (y, lp, S(t) function of true model)."""
    rng = np.random.default_rng(seed)
    lp = scale * rng.normal(size=n)
    event_time = rng.exponential(1.0 / (BASE_RATE * np.exp(lp)))
    censor_time = rng.uniform(6, 60, size=n)
    y = Surv.from_arrays(event_time <= censor_time, np.minimum(event_time, censor_time))
    return y, lp


def true_survival(lp: np.ndarray, t: float) -> np.ndarray:
    return np.exp(-BASE_RATE * t * np.exp(lp))


def simulate_binary(n: int, seed: int):
    """Logistic outcome with true probability p; returns (y, p, logit)."""
    rng = np.random.default_rng(seed)
    logit = -0.5 + 1.2 * rng.normal(size=n)
    p = 1 / (1 + np.exp(-logit))
    return (rng.uniform(size=n) < p).astype(int), p, logit

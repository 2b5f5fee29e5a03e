"""Fixtures for the evaluation tests: simulated cohorts with known truth."""

from __future__ import annotations

import pytest
from evaluation_sim import simulate_binary, simulate_survival


@pytest.fixture(scope="session")
def surv_train():
    return simulate_survival(600, seed=1)


@pytest.fixture(scope="session")
def surv_test():
    return simulate_survival(500, seed=2)


@pytest.fixture(scope="session")
def binary_large():
    return simulate_binary(20000, seed=3)

"""Fixtures: a small single-table cohort CSV (categoricals, NaN, treatment) and tiny params."""

from __future__ import annotations

from pathlib import Path

import pytest
from flat_cohort import TINY_PARAMS, make_cohort


@pytest.fixture(scope="session")
def cohort_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flat") / "cohort.csv"
    make_cohort().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tiny_params(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flat_params") / "params.yaml"
    path.write_text(TINY_PARAMS)
    return path

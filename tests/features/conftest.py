"""Fixtures of the feature tests: hand-made validated tables (see ``feature_tables.py``)."""

from __future__ import annotations

import pandas as pd
import pytest
from feature_tables import make_tables

from features.index import FeatureConfig


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    """Fresh fixture tables."""
    return make_tables()


@pytest.fixture
def config() -> FeatureConfig:
    """Default feature settings."""
    return FeatureConfig()


@pytest.fixture
def cohort(tables, config) -> pd.DataFrame:
    """The cohort built from the fixture tables, indexed by patient_id (policy latest)."""
    from features.build import build_features

    out, _ = build_features(tables, config)
    return out.set_index("patient_id")

"""Fixtures for the simulator tests (helpers live in simtools.py)."""

from __future__ import annotations

import pytest
import yaml

from features.simulate import DEFAULT_PARAMETERS


@pytest.fixture(scope="session")
def parameters() -> dict:
    """The default simulator parameters (tests may read YAML; library code may not)."""
    return yaml.safe_load(DEFAULT_PARAMETERS.read_text(encoding="utf-8"))

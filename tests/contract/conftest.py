"""Fixtures of the contract tests (helpers live in contract_fixtures.py: unique module name)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from contract_fixtures import KEY, make_raw, write_raw  # noqa: F401


@pytest.fixture
def raw() -> dict[str, pd.DataFrame]:
    """Fresh clean raw tables."""
    return make_raw()


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    """A folder holding the clean raw export as CSV."""
    return write_raw(make_raw(), tmp_path / "raw")

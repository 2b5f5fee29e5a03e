"""Fixtures of the explain-stage tests: a small real pipeline and the reports it yields."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))  # Chromium helpers

from explain_pipeline import PipelineFiles, build_pipeline  # noqa: E402
from explain_stage_helpers import MADE_ON, N_REPORTS  # noqa: E402

from pipeline.stages.explain import ExplainContext, explain_cohort, load_context  # noqa: E402


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> PipelineFiles:
    """Simulated cohort (300 patients), features, three tiny models, metrics and a plot."""
    return build_pipeline(tmp_path_factory.mktemp("explain_pipeline"))


@pytest.fixture(scope="session")
def ctx(files) -> ExplainContext:
    """Loaded cohort, dictionary, models, metrics and interval reference."""
    return load_context(files.features_file, files.models_dir, files.metrics_file)


@pytest.fixture(scope="session")
def cohort_run(files) -> Path:
    """The DVC stage run once: cohort report, patient reports, SHAP tables (returns reports dir)."""
    reports = files.root / "reports"
    explain_cohort(files.features_file, files.models_dir, files.metrics_file, files.plots_dir,
                   reports / "cohort.html", reports / "patients", n_patient_reports=N_REPORTS,
                   seed=3, made_on=MADE_ON)
    return reports


@pytest.fixture(scope="session")
def cohort(files) -> pd.DataFrame:
    """The cohort table the reports were made from."""
    return pd.read_parquet(files.features_file)

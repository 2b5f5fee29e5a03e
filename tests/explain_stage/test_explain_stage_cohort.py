"""The DVC stage: cohort report, patient-report links, global SHAP tables, params."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from explain_stage_helpers import N_REPORTS, read_keys, visible_text

from models.explain import global_importance
from pipeline.stages.explain import ExplainDefaults, run
from pipeline.stages.explain_shap import explain_rows


@pytest.fixture(scope="module")
def cohort_page(cohort_run) -> tuple[str, dict[str, str]]:
    html = (cohort_run / "cohort.html").read_text(encoding="utf-8")
    return html, read_keys(html)


def test_links_resolve_to_written_patient_reports(cohort_run, cohort_page, cohort):
    html, _ = cohort_page
    hrefs = re.findall(r'<a href="([^"]+)"', html)
    assert len(hrefs) == N_REPORTS
    written = sorted((cohort_run / "patients").glob("*.html"))
    assert len(written) == N_REPORTS
    for href in hrefs:
        target = (cohort_run / href).resolve()
        assert target.is_file(), href
        keys = read_keys(target.read_text(encoding="utf-8"))
        assert keys["pseudonym"] == Path(href).stem
        assert keys["pseudonym"] in set(cohort["patient_id"])


def test_global_shap_tables_match_the_page(cohort_run, cohort_page, ctx):
    _, keys = cohort_page
    for endpoint in ("response", "pfs", "os"):
        table = pd.read_csv(cohort_run / "shap" / f"{endpoint}_global.csv")
        assert list(table.columns[:3]) == ["variable", "label", "mean_abs_shap"]
        assert table["mean_abs_shap"].is_monotonic_decreasing
        expected = global_importance(explain_rows(ctx.models[endpoint], ctx.cohort))
        np.testing.assert_allclose(table["mean_abs_shap"], expected["mean_abs_shap"], rtol=1e-12)
    pfs = pd.read_csv(cohort_run / "shap" / "pfs_global.csv")
    for rank in (1, 2, 3):
        assert keys[f"importance_label_{rank}"] == pfs["label"].iloc[rank - 1]
        expected = pfs["mean_abs_shap"].iloc[rank - 1]
        assert float(keys[f"importance_{rank}"]) == pytest.approx(expected, rel=1e-12)


def test_cohort_counts_figures_and_metrics(cohort_run, cohort_page, cohort, files):
    html, keys = cohort_page
    assert int(keys["n_patients"]) == len(cohort)
    assert int(keys["n_events_progression_or_death"]) == int(cohort["pfs_event"].sum())
    assert float(keys["metric_os_c_index"]) == 0.70
    images = re.findall(r'<img src="data:image/png;base64,', html)
    assert len(images) >= 1 + 5 + 1  # beeswarm, five dependence plots, one calibration plot
    assert "Dependence:" in html
    assert "PFS: calibration at 12 months" in html
    assert "Primary tumour site" in html  # subgroup table from metrics.json, in words
    assert "primary_site" not in html
    for name in ("beeswarm.png", "bar.png"):
        assert (cohort_run / "shap" / "pfs" / name).stat().st_size > 1000


def test_no_raw_identifier_in_any_report(cohort_run, files):
    pages = [cohort_run / "cohort.html", *(cohort_run / "patients").glob("*.html")]
    for path in pages:
        text = visible_text(path.read_text(encoding="utf-8"))
        leaked = [raw for raw in files.raw_ids if raw in text]
        assert leaked == [], path.name
        assert "birth" not in text.lower()


def test_params_section_is_typed():
    cfg = ExplainDefaults.from_params({"n_patient_reports": 3, "horizons": [12, 36]})
    assert cfg.n_patient_reports == 3
    assert cfg.horizons == (12, 36)
    assert ExplainDefaults.from_params(None) == ExplainDefaults()
    with pytest.raises(ValueError, match="unknown explain params"):
        ExplainDefaults.from_params({"n_reports": 3})
    with pytest.raises(ValueError, match="horizons"):
        ExplainDefaults.from_params({"horizons": [12, 72]})
    with pytest.raises(ValueError, match="cohort_endpoint"):
        ExplainDefaults(cohort_endpoint="dfs")


def test_run_writes_the_stage_outputs(files, tmp_path):
    out = run(files.features_file, files.models_dir, files.metrics_file, files.plots_dir,
              tmp_path / "reports", {"n_patient_reports": 2, "seed": 1})
    assert out == tmp_path / "reports" / "cohort.html"
    assert out.is_file()
    assert len(list((tmp_path / "reports" / "patients").glob("*.html"))) == 2
    assert {p.name for p in (tmp_path / "reports" / "shap").glob("*.csv")} == {
        "response_global.csv", "pfs_global.csv", "os_global.csv"}


def test_cached_positivity_gives_the_same_report(files, cohort_run, ctx, tmp_path, monkeypatch):
    from pipeline.stages import explain_predict
    from pipeline.stages.explain import explain_patient, write_patient_report

    assert (cohort_run / "shap" / "positivity.json").is_file()

    def refit(*args, **kwargs):
        raise AssertionError("positivity refitted although the stage cached it")

    monkeypatch.setattr(explain_predict, "fit_positivity", refit)
    pid = str(ctx.cohort["patient_id"].iloc[5])
    cached = explain_patient(pid, files.features_file, files.models_dir, files.metrics_file,
                             tmp_path / "cached.html")
    fresh = write_patient_report(ctx, pid, tmp_path / "fresh.html")
    assert read_keys(cached.read_text(encoding="utf-8")) == read_keys(
        fresh.read_text(encoding="utf-8"))

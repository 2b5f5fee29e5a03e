"""Model card: every TRIPOD+AI software-supportable item, with the figures of the metadata."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from mlops_helpers import DICTIONARY, FEATURES, simulate_cohort

from pipeline.model_card import SECTIONS, collect_card_metadata, render_html, render_markdown


@pytest.fixture(scope="module")
def meta():
    cohort = simulate_cohort(300, seed=5)
    cohort.loc[:29, "ki67_percent"] = None
    cohort["index_date"] = pd.date_range("2015-03-01", periods=300, freq="7D")
    curve = pd.DataFrame({"threshold": [0.1, 0.2], "model": [0.312, 0.241],
                          "treat_all": [0.301, 0.198], "treat_none": [0.0, 0.0]})
    subgroups = pd.DataFrame({"group": ["overall", "sex"], "level": ["all", "F"],
                              "n": [300, 151], "events": [201, 99], "metric": [0.712, 0.698],
                              "lo": [0.671, 0.641], "hi": [0.752, 0.755]})
    out = collect_card_metadata(
        "pfs", cohort, DICTIONARY, FEATURES,
        metrics={"harrell_c": {"mean": 0.7123, "lo": 0.6712, "hi": 0.7534},
                 "calibration_slope_12m": {"mean": 0.981, "lo": 0.842, "hi": 1.121}},
        model={"type": "XGBoost Cox (survival:cox) + Breslow baseline",
               "estimator": "models.survival.XGBCoxSurvival",
               "tuning": "Optuna, 30 trials in the inner folds",
               "hyperparameters": {"max_depth": 3, "eta": 0.05}},
        validation="Repeated stratified 5-fold cross-validation, 3 repeats",
        data_source="Synthetic NET cohort (netoutcomes simulator, seed 42)",
        eligibility="Adults with advanced well-differentiated NET starting an index line",
        missing_handling="xgboost learns a default branch for missing values",
        decision_curve=curve, subgroups=subgroups)
    return {**out, "model_name": "net-pfs", "model_version": "3"}


def test_markdown_has_every_item_with_real_figures(meta):
    md = render_markdown(meta)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == list(SECTIONS)
    assert "# Model card: net-pfs version 3" in md
    for text in ("Synthetic NET cohort", "2015-03-01", "Adults with advanced",
                 "Progression-free survival: Index date to first progression",
                 "| ki67_percent | Ki-67 index | % |", "| ki67_percent | 30 | 10.000 |",
                 "Patients (predictions): 300", "Events: ", "XGBoost Cox", "max_depth = 3",
                 "Optuna, 30 trials", "Repeated stratified 5-fold",
                 "| harrell_c | 0.712 | 0.671 | 0.753 |", "| 0.100 | 0.312 | 0.301 | 0.000 |",
                 "| sex | F | 151 | 99 | 0.698 | 0.641 | 0.755 |", "Intended use",
                 "external validation"):
        assert text in md, text
    assert f"Events: {int(meta['sample_size']['events'])}" in md
    assert meta["sample_size"]["events"] > 100


def test_html_is_self_contained_and_escaped(meta):
    page = render_html({**meta, "eligibility": "Ki-67 <= 20 % & SSTR+"})
    assert page.startswith("<!doctype html>")
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page
    assert "Ki-67 &lt;= 20 % &amp; SSTR+" in page
    assert all(f"<h2>{s}</h2>" in page for s in SECTIONS)
    assert "<td>harrell_c</td><td>0.712</td><td>0.671</td><td>0.753</td>" in page


def test_missing_items_say_not_recorded():
    md = render_markdown({"endpoint": "os"})
    assert md.count("not recorded") >= 8

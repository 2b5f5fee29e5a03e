"""Targets: response NaN-vs-0 rules, PFS and OS."""

from __future__ import annotations

import pandas as pd
import pytest
from feature_tables import PA, PB, PC, PE

from features.build import build_features
from features.index import FeatureConfig


def test_response_rules(cohort):
    assert (cohort.loc[PA, "response"], cohort.loc[PA, "disease_control"]) == (1.0, 1.0)  # PR
    assert (cohort.loc[PB, "response"], cohort.loc[PB, "disease_control"]) == (0.0, 1.0)  # NE+SD
    assert (cohort.loc[PE, "response"], cohort.loc[PE, "disease_control"]) == (0.0, 0.0)  # PD
    # only NE: not evaluable -> missing, never "no response"
    assert pd.isna(cohort.loc[PC, "response"])
    assert pd.isna(cohort.loc[PC, "disease_control"])


def test_pfs_first_progression_of_the_line(cohort):
    a = cohort.loc[PA]
    assert a["pfs_months"] == pytest.approx((pd.Timestamp("2022-06-01")
                                             - pd.Timestamp("2021-01-10")).days / 30.4375)
    assert a["pfs_months"] == pytest.approx(16.657084, abs=1e-6)
    assert a["pfs_event"] == 1.0
    assert a["os_months"] == pytest.approx(29.601643, abs=1e-6)
    assert a["os_event"] == 0.0


def test_death_ends_pfs_and_os(cohort):
    b = cohort.loc[PB]
    assert b["pfs_event"] == 1.0
    assert b["os_event"] == 1.0
    assert b["pfs_months"] == pytest.approx(27.991786, abs=1e-6)
    assert b["os_months"] == pytest.approx(b["pfs_months"])


def test_censoring_at_last_contact(cohort):
    c = cohort.loc[PC]
    assert (c["pfs_event"], c["os_event"]) == (0.0, 0.0)
    assert c["pfs_months"] == pytest.approx(20.008214, abs=1e-6) == c["os_months"]


def test_targets_of_an_earlier_line_use_only_that_lines_assessments(tables):
    cohort, _ = build_features(tables, FeatureConfig(index_line_policy="all"))
    a1 = cohort.set_index(["patient_id", "line"]).loc[(PA, 1)]
    assert (a1["response"], a1["disease_control"], a1["pfs_event"]) == (0.0, 1.0, 1.0)
    assert a1["pfs_months"] == pytest.approx(21.026694, abs=1e-6)
    assert (cohort["pfs_months"] <= cohort["os_months"] + 1e-9).all()

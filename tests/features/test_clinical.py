"""Clinical and treatment-history features on hand-computed fixtures."""

from __future__ import annotations

import pandas as pd
import pytest
from feature_tables import PA, PB, PC

from features.clinical import compute_age_years


def test_age_counts_birth_at_mid_year():
    age = compute_age_years(pd.Series([1960]), pd.Series(pd.to_datetime(["2021-07-01"])))
    # 1 July 2021 (day 182) minus 1 July 1960 = 61 years exactly
    assert age.iloc[0] == pytest.approx(61.0, abs=1e-9)


def test_clinical_features_match_hand_computation(cohort):
    a, b, c = cohort.loc[PA], cohort.loc[PB], cohort.loc[PC]
    assert a["age_at_index"] == pytest.approx(60.52908966, abs=1e-6)
    assert b["age_at_index"] == pytest.approx(69.92060233, abs=1e-6)
    assert a["months_since_diagnosis"] == pytest.approx(1091 / 30.4375)
    assert (a["sex"], a["primary_site"], a["ecog"], a["functional_syndrome"]) == (
        "F", "pancreas", 1.0, 0.0)
    assert b["functional_syndrome"] == 1.0
    assert pd.isna(c["ecog"])  # missing ECOG stays missing
    assert (a["line_number"], a["n_prior_lines"]) == (3.0, 2.0)
    assert (a["prior_ssa"], a["prior_liver_directed"], a["prior_prrt"]) == (1.0, 1.0, 0.0)
    assert (b["prior_surgery"], b["prior_prrt"], b["prior_ssa"]) == (1.0, 1.0, 0.0)
    assert b["prior_prrt_activity_gbq"] == pytest.approx(22.2)
    assert a["prior_prrt_activity_gbq"] == 0.0
    assert c["n_prior_lines"] == 0.0
    assert c["prior_prrt"] == 0.0


def test_prior_prrt_with_unknown_activity_is_missing_not_zero(tables, config):
    from features.build import build_features

    t = tables["treatments"]
    t.loc[t["patient_id"].eq(PB) & t["line"].eq(2), "cumulative_activity_gbq"] = float("nan")
    cohort, _ = build_features(tables, config)
    row = cohort.set_index("patient_id").loc[PB]
    assert row["prior_prrt"] == 1.0
    assert pd.isna(row["prior_prrt_activity_gbq"])

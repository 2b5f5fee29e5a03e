"""Pathology features: latest Ki-67 before the index date and the WHO grade."""

from __future__ import annotations

import pandas as pd
import pytest
from feature_tables import PA, PB, PC

from features.pathology import grade_from_ki67


@pytest.mark.parametrize(
    ("ki67", "grade"),
    [(0.5, "G1"), (2.99, "G1"), (3.0, "G2"), (20.0, "G2"), (20.01, "G3"), (55.0, "G3")],
)
def test_who_grade_cut_points(ki67, grade):
    assert grade_from_ki67(pd.Series([ki67])).iloc[0] == grade


def test_grade_of_missing_ki67_is_missing():
    assert grade_from_ki67(pd.Series([float("nan")])).iloc[0] is None


def test_latest_sample_before_index_wins(cohort):
    a = cohort.loc[PA]
    # 2020-11-01 metastasis 12.5 %; the 40 % sample of 2021-02-01 is after the index date
    assert (a["ki67_percent"], a["who_grade"], a["specimen"]) == (12.5, "G2", "metastasis")
    assert a["differentiation"] == "well"
    assert a["ki67_available"] == 1.0
    assert a["sstr2_ihc"] == 3.0  # latest non-missing marker value (2018 sample)
    assert a["daxx_atrx_loss"] == 1.0


def test_same_day_tie_takes_higher_ki67(cohort):
    b = cohort.loc[PB]
    assert (b["ki67_percent"], b["who_grade"]) == (2.5, "G1")


def test_no_sample_gives_missing_values_and_indicator_zero(cohort):
    c = cohort.loc[PC]
    assert c["ki67_available"] == 0.0
    assert pd.isna(c["ki67_percent"])
    assert c["who_grade"] is None
    assert c["specimen"] is None

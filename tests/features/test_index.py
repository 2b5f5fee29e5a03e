"""Index lines and look-back windows (the leakage guard)."""

from __future__ import annotations

import pandas as pd
import pytest
from feature_tables import PA, PB, PC, PE

from features.index import FeatureConfig, restrict_to_window, select_index_lines


def test_latest_policy_keeps_each_patients_latest_assessed_index_line(tables, config):
    index = select_index_lines(tables["treatments"], tables["assessments"], config)
    got = dict(zip(index["patient_id"], index["line"], strict=True))
    assert got == {PA: 3, PB: 3, PC: 1, PE: 1}  # D has no assessment: no prediction
    row = index.set_index("patient_id").loc[PA]
    assert row["therapy"] == "prrt_lu177"
    assert row["index_date"] == pd.Timestamp("2021-01-10")


def test_all_policy_keeps_every_assessed_index_line(tables):
    index = select_index_lines(
        tables["treatments"], tables["assessments"], FeatureConfig(index_line_policy="all")
    )
    assert list(zip(index["patient_id"], index["line"], strict=True)) == [
        (PA, 1), (PA, 3), (PB, 2), (PB, 3), (PC, 1), (PE, 1)
    ]


def test_non_index_therapy_is_never_an_index_line(tables, config):
    # A's line 2 (liver-directed) gets an assessment: still not a prediction
    extra = pd.DataFrame(
        {"patient_id": [PA], "date": [pd.Timestamp("2020-06-01")], "treatment_line": [2],
         "recist_response": ["SD"], "progression": [0]}
    )
    tables["assessments"] = pd.concat([tables["assessments"], extra], ignore_index=True)
    index = select_index_lines(
        tables["treatments"], tables["assessments"], FeatureConfig(index_line_policy="all")
    )
    assert 2 not in index.loc[index["patient_id"].eq(PA), "line"].tolist()


def test_window_bounds_are_inclusive_and_exclude_the_day_after():
    index = pd.DataFrame(
        {"patient_id": ["P1"], "line": [1], "therapy": ["ssa"],
         "index_date": [pd.Timestamp("2021-01-10")]}
    )
    rows = pd.DataFrame(
        {
            "patient_id": ["P1"] * 5 + ["P2"],
            "date": pd.to_datetime(
                ["2020-10-11", "2020-10-12", "2021-01-10", "2021-01-11", None, "2021-01-01"]
            ),
            "value": [1, 2, 3, 4, 5, 6],
        }
    )
    kept = restrict_to_window(rows, index, "date", 90)
    assert kept["value"].tolist() == [2, 3]  # 90 days before .. index day; not after, not NaT
    assert restrict_to_window(rows, index, "date", None)["value"].tolist() == [1, 2, 3]
    assert set(kept.columns) >= {"line", "index_date"}


def test_config_rejects_bad_settings():
    with pytest.raises(ValueError, match="index_line_policy"):
        FeatureConfig(index_line_policy="first")
    with pytest.raises(ValueError, match="lookback_days"):
        FeatureConfig(lookback_days={"labs": -1})
    with pytest.raises(ValueError, match="uln"):
        FeatureConfig(cga_uln=0.0)

"""The leakage guard: rows dated one day after the index date change no feature."""

from __future__ import annotations

import pandas as pd
import pytest
from feature_tables import inject_future_rows

from features.build import build_features
from features.index import FeatureConfig, select_index_lines
from features.targets import TARGET_COLUMNS


def test_future_rows_change_nothing_latest_policy(tables, config):
    before, _ = build_features(tables, config)
    index = select_index_lines(tables["treatments"], tables["assessments"], config)
    after, _ = build_features(inject_future_rows(tables, index), config)
    pd.testing.assert_frame_equal(before, after)


def test_future_rows_change_nothing_for_each_line_all_policy(tables):
    config = FeatureConfig(index_line_policy="all")
    before, _ = build_features(tables, config)
    index = select_index_lines(tables["treatments"], tables["assessments"], config)
    for i in range(len(index)):  # one prediction at a time: later lines may legitimately change
        key = (index.loc[i, "patient_id"], index.loc[i, "line"])
        after, _ = build_features(inject_future_rows(tables, index.iloc[[i]]), config)
        got = after.set_index(["patient_id", "line"]).loc[[key]]
        want = before.set_index(["patient_id", "line"]).loc[[key]]
        pd.testing.assert_frame_equal(want, got)


def test_injection_is_not_vacuous(tables, config):
    # the same rows dated ON the index date must change features (so the test can fail)
    index = select_index_lines(tables["treatments"], tables["assessments"], config)
    before, _ = build_features(tables, config)
    same_day = index.assign(index_date=index["index_date"] - pd.Timedelta(days=1))
    after, _ = build_features(inject_future_rows(tables, same_day), config)
    changed = [c for c in before.columns if not before[c].equals(after[c])]
    for col in ["ki67_percent", "cga_log10_uln", "sstr_suvmax", "fdg_suvmax", "ct_sld_mm",
                "albumin", "hepatic_tumour_burden_pct"]:
        assert col in changed


@pytest.mark.parametrize("outcome", ["PD", "CR"])
def test_later_assessments_change_only_targets(tables, config, outcome):
    before, _ = build_features(tables, config)
    index = select_index_lines(tables["treatments"], tables["assessments"], config)
    extra = pd.DataFrame({
        "patient_id": index["patient_id"], "date": index["index_date"] + pd.Timedelta(days=1),
        "treatment_line": index["line"], "recist_response": outcome,
        "progression": int(outcome == "PD")})
    tables["assessments"] = pd.concat([tables["assessments"], extra], ignore_index=True)
    after, _ = build_features(tables, config)
    features = [c for c in before.columns if c not in TARGET_COLUMNS]
    pd.testing.assert_frame_equal(before[features], after[features])
    assert not before[list(TARGET_COLUMNS)].equals(after[list(TARGET_COLUMNS)])

"""infer_dictionary types the columns of a single table; evaluation_times follow the event times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.design import DesignMatrix
from models.flat import evaluation_times, infer_dictionary


@pytest.fixture
def table() -> pd.DataFrame:
    n = 40
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "age": rng.normal(60, 5, n),
        "nodes": rng.integers(0, 12, n),
        "flag01": np.r_[[0, 1] * 19, [np.nan, 1]],
        "smoker": np.tile([True, False], n // 2),
        "grade": pd.Categorical(rng.choice(["G3", "G1", "G2"], n), categories=["G1", "G2", "G3"]),
        "site": np.r_[rng.choice(["lung", "pancreas"], n - 2), [None, "lung"]],
        "ki67_text": [f"{v:.1f}" for v in rng.uniform(1, 30, n)],
        "id": [f"P{i:04d}" for i in range(n)],
        "empty": np.full(n, np.nan),
        "constant": np.ones(n),
        "arm": rng.choice(["prrt", "ssa", "everolimus"], n),
        "time": rng.uniform(1, 50, n),
    })


def _by_name(dictionary: dict) -> dict:
    return {f["name"]: f for f in dictionary["features"]}


def test_columns_are_typed(table):
    d = infer_dictionary(table, exclude=["time"], treatment="arm")
    f = _by_name(d)
    assert {k: v["dtype"] for k, v in f.items()} == {
        "age": "numeric", "nodes": "numeric", "flag01": "binary", "smoker": "binary",
        "grade": "categorical", "site": "categorical", "ki67_text": "numeric",
        "arm": "categorical"}
    assert f["grade"]["categories"] == ["G1", "G2", "G3"]  # pandas categorical order kept
    assert f["site"]["categories"] == ["lung", "pancreas"]  # missing is not a level
    assert f["arm"]["role"] == "treatment"
    assert f["arm"]["categories"] == ["everolimus", "prrt", "ssa"]
    assert all(v["role"] == "feature" for k, v in f.items() if k != "arm")
    assert "time" not in f


def test_unusable_columns_are_excluded_with_reason(table):
    d = infer_dictionary(table, exclude=["time"])
    reasons = {e["name"]: e["reason"] for e in d["excluded"]}
    assert set(reasons) == {"id", "empty", "constant"}
    assert reasons["empty"] == "all values missing"
    assert reasons["constant"] == "constant"
    assert "40 distinct text values" in reasons["id"]


def test_max_levels_and_input_untouched(table):
    before = table.copy()
    d = infer_dictionary(table, exclude=["time"], max_levels=2)
    assert "arm" not in _by_name(d)  # 3 levels > 2
    assert "site" in _by_name(d)
    pd.testing.assert_frame_equal(table, before)


def test_unknown_treatment_column_raises(table):
    with pytest.raises(ValueError, match="treatment column 'dose'"):
        infer_dictionary(table, treatment="dose")


def test_dictionary_drives_the_design_matrix(table):
    d = infer_dictionary(table, exclude=["time"], treatment="arm")
    X = DesignMatrix().fit_transform(table, d)
    assert "site__lung" in X.columns
    assert "grade__G3" in X.columns
    assert "arm__prrt" in X.columns
    assert X["site__lung"].iloc[-2] == 0
    assert X["site__pancreas"].iloc[-2] == 0
    assert np.isnan(X["flag01"].iloc[-2])  # missing numeric kept for the models
    assert X["smoker"].tolist()[:2] == [1.0, 0.0]
    assert X["ki67_text"].dtype == np.float64


def test_evaluation_times_follow_event_quartiles():
    rng = np.random.default_rng(1)
    time = rng.exponential(365.0, 400)
    event = rng.random(400) < 0.6
    horizons, grid = evaluation_times(time, event)
    q = np.quantile(time[event], [0.25, 0.5, 0.75])
    np.testing.assert_allclose(horizons, q, rtol=1e-3)
    assert set(horizons) <= set(grid)
    assert grid == sorted(set(grid))
    lo, hi = np.quantile(time[event], [0.1, 0.9])
    assert grid[0] == pytest.approx(lo, rel=1e-3)
    assert grid[-1] == pytest.approx(hi, rel=1e-3)
    assert all(float(f"{t:g}") == t for t in grid)  # column names surv_<t:g> parse back exactly


def test_evaluation_times_need_events():
    with pytest.raises(ValueError, match="two distinct event times"):
        evaluation_times(np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]))

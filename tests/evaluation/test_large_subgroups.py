"""``subgroup_metrics`` with ``metric_columns`` (cheap bootstrap at scale) gives the same table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.evaluation import harrell_c, roc_auc, subgroup_metrics


def _frame(n: int = 900, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lp = rng.normal(size=n)
    return pd.DataFrame(
        {
            "score": lp + rng.normal(size=n),
            "time": rng.exponential(np.exp(-lp)),
            "event": rng.random(n) < 0.7,
            "count": rng.integers(0, 5, n),
            "site": rng.choice(["pancreas", "small_bowel", "lung"], n, p=[0.45, 0.5, 0.05]),
            "grade": pd.Categorical(rng.choice(["G1", "G2", "G3"], n)),
            "sex": pd.Series(rng.choice(["F", "M", None], n), dtype=object),
            "ecog": pd.array(rng.choice([0, 1, 2], n), dtype="Int64"),
        },
        index=pd.Index(np.arange(n)[::-1] * 3 + 7, name="row"),
    )


def _reference(frame, groups, fn, n_boot, seed, min_size=30, level=0.95):
    """The previous implementation (``sub.iloc[idx]`` per resample), for comparison."""
    rng = np.random.default_rng(seed)
    parts = [("overall", "all", frame)]
    for col in groups:
        keys = frame[col].astype(object).where(frame[col].notna(), "missing").astype(str)
        parts.extend((col, lv, sub) for lv, sub in frame.groupby(keys, sort=True))
    out = []
    for _, _, sub in parts:
        if len(sub) < min_size:
            out.append((np.nan, np.nan, np.nan))
            continue
        try:
            est = float(fn(sub))
        except ValueError:
            out.append((np.nan, np.nan, np.nan))
            continue
        vals = []
        for idx in rng.integers(0, len(sub), size=(n_boot, len(sub))):
            try:
                vals.append(float(fn(sub.iloc[idx])))
            except ValueError:
                continue
        if len(vals) < 2:
            out.append((est, np.nan, np.nan))
            continue
        lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
        out.append((est, float(lo), float(hi)))
    return np.array(out)


def _c_index(d: pd.DataFrame) -> float:
    y = np.empty(len(d), dtype=[("event", bool), ("time", float)])
    y["event"], y["time"] = d["event"].to_numpy(), d["time"].to_numpy()
    return harrell_c(y, d["score"].to_numpy())


def _auc_rare(d: pd.DataFrame) -> float:  # undefined on some resamples of small groups
    return roc_auc((d["count"] == 4).to_numpy(dtype=float), d["score"].to_numpy())


@pytest.mark.parametrize("fn", [_c_index, _auc_rare])
@pytest.mark.parametrize("metric_columns", [None, ["score", "time", "event", "count"]])
def test_subgroup_metrics_unchanged(fn, metric_columns):
    frame = _frame()
    groups = ["site", "grade", "sex", "ecog"]
    table = subgroup_metrics(frame, groups, fn, min_size=30, n_boot=40, seed=11, event_column=None,
                             metric_columns=metric_columns)
    expected = _reference(frame, groups, fn, n_boot=40, seed=11)
    np.testing.assert_array_equal(table[["metric", "lo", "hi"]].to_numpy(dtype=float), expected)
    assert table["n"].iloc[0] == len(frame)


def test_metric_columns_checked():
    with pytest.raises(ValueError, match=r"metric_columns not in frame: \['risk'\]"):
        subgroup_metrics(_frame(60), ["site"], _c_index, metric_columns=["risk"])

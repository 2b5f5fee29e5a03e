"""Subgroup table and plots/DVC tables written to tmp_path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from evaluation_sim import simulate_binary, simulate_survival, true_survival

from models.evaluation import (
    calibration_points,
    km_by_risk_group,
    net_benefit,
    plot_calibration,
    plot_decision_curve,
    plot_km_by_risk_group,
    plot_subgroup_forest,
    plot_survival_calibration,
    plot_time_dependent_auc,
    roc_auc,
    roc_points,
    subgroup_metrics,
    survival_calibration_by_decile,
    time_dependent_auc,
    write_dvc_plot_csv,
)


@pytest.fixture(scope="module")
def response_frame():
    y, p, _ = simulate_binary(600, seed=9)
    rng = np.random.default_rng(9)
    site = rng.choice(["pancreas", "small_bowel", "lung"], size=600, p=[0.45, 0.5, 0.05])
    grade = pd.Series(rng.choice(["G1", "G2", None], size=600), dtype=object)
    return pd.DataFrame({"event": y, "p": p, "primary_site": site, "who_grade": grade})


def _auc(frame):
    return roc_auc(frame["event"], frame["p"])


def test_subgroup_metrics_table(response_frame):
    table = subgroup_metrics(
        response_frame, ["primary_site", "who_grade"], _auc, min_size=40, n_boot=50, seed=0
    )
    assert list(table.columns) == ["group", "level", "n", "events", "metric", "lo", "hi"]
    assert table.iloc[0][["group", "level", "n"]].tolist() == ["overall", "all", 600]
    assert table.iloc[0]["metric"] == pytest.approx(_auc(response_frame))
    site = table[table["group"] == "primary_site"].set_index("level")
    assert site["n"].sum() == 600
    assert np.isnan(site.loc["lung", "metric"])  # below min_size: reported, not dropped
    ok = table.dropna(subset=["metric"])
    assert ((ok["lo"] <= ok["metric"]) & (ok["metric"] <= ok["hi"])).all()
    assert "missing" in table[table["group"] == "who_grade"]["level"].tolist()
    assert table["events"].iloc[0] == response_frame["event"].sum()
    with pytest.raises(ValueError, match=r"not in frame: \['centre'\]"):
        subgroup_metrics(response_frame, ["centre"], _auc)


def _is_png(path):
    return path.exists() and path.stat().st_size > 1000 and path.read_bytes()[:4] == b"\x89PNG"


def test_plots_write_png_files(tmp_path, response_frame):
    y, lp = simulate_survival(400, seed=10)
    y_b, p = response_frame["event"].to_numpy(), response_frame["p"].to_numpy()
    sub = subgroup_metrics(response_frame, ["primary_site"], _auc, min_size=20, n_boot=20)
    paths = [
        plot_calibration(y_b, p, tmp_path / "calibration.png"),
        plot_survival_calibration(
            survival_calibration_by_decile(y, true_survival(lp, 12.0), 12.0),
            tmp_path / "surv_cal.png",
        ),
        plot_km_by_risk_group(km_by_risk_group(y, lp), tmp_path / "km.png"),
        plot_decision_curve(net_benefit(y_b, p, np.linspace(0.05, 0.8, 16)), tmp_path / "dca.png"),
        plot_time_dependent_auc(
            time_dependent_auc(y, y, lp, [6.0, 12.0, 24.0, 36.0]), tmp_path / "td_auc.png"
        ),
        plot_subgroup_forest(sub, tmp_path / "sub" / "forest.png", reference=0.5),
    ]
    assert all(_is_png(p_) for p_ in paths), paths


def test_dvc_plot_tables(tmp_path, response_frame):
    y, p = response_frame["event"], response_frame["p"]
    roc = roc_points(y, p, max_points=50)
    assert len(roc) <= 50
    assert roc["fpr"].is_monotonic_increasing
    assert roc.iloc[0][["fpr", "tpr"]].tolist() == [0, 0]
    assert roc.iloc[-1]["tpr"] == 1
    path = write_dvc_plot_csv(calibration_points(y, p), tmp_path / "plots" / "calibration.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == ["predicted", "observed"]
    assert 10 < len(back) <= 50
    with pytest.raises(ValueError, match="empty plot table"):
        write_dvc_plot_csv(pd.DataFrame(), tmp_path / "x.csv")

"""Plots and subgroup table of one endpoint from its pooled out-of-fold predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clinical import Endpoint
from models.evaluation import (
    calibration_points,
    harrell_c,
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
from pipeline.params import EvaluateParams


def _thresholds(params: EvaluateParams) -> np.ndarray:
    lo, hi, step = params.dca_thresholds
    return np.round(np.arange(lo, hi + step / 2, step), 6)


def _subgroups(frame: pd.DataFrame, y: Any, pooled: pd.DataFrame, endpoint: Endpoint,
               params: EvaluateParams, seed: int) -> pd.DataFrame:
    rows = pooled["row"].to_numpy()
    sub = frame.iloc[rows][[c for c in params.subgroup_columns if c in frame.columns]].copy()
    sub["score"] = pooled["score"].to_numpy()
    if endpoint.kind == "binary":
        sub["event"] = np.asarray(y)[rows]
        fn = lambda d: roc_auc(d["event"].to_numpy(), d["score"].to_numpy())  # noqa: E731
    else:
        sub["event"], sub["time"] = y["event"][rows], y["time"][rows]

        def fn(d: pd.DataFrame) -> float:
            surv = np.empty(len(d), dtype=y.dtype)
            surv["event"], surv["time"] = d["event"].to_numpy(), d["time"].to_numpy()
            return harrell_c(surv, d["score"].to_numpy())

    read = ["event", "score"] if endpoint.kind == "binary" else ["event", "time", "score"]
    return subgroup_metrics(sub.reset_index(drop=True), list(params.subgroup_columns[:]), fn,
                            min_size=params.subgroup_min_size, n_boot=params.subgroup_n_boot,
                            seed=seed, metric_columns=read)


def endpoint_plots(frame: pd.DataFrame, y: Any, pooled: pd.DataFrame, endpoint: Endpoint,
                   plots_dir: Path, params: EvaluateParams, seed: int) -> list[dict]:
    """Write the endpoint's PNG plots and DVC plot tables; return the subgroup table rows."""
    out = plots_dir / endpoint.name
    out.mkdir(parents=True, exist_ok=True)
    rows = pooled["row"].to_numpy()
    score = pooled["score"].to_numpy()
    name = endpoint.name.upper() if endpoint.kind == "survival" else "Objective response"
    if endpoint.kind == "binary":
        y_b = np.asarray(y)[rows]
        plot_calibration(y_b, score, out / "calibration.png", title=f"{name}: calibration")
        write_dvc_plot_csv(calibration_points(y_b, score), out / "calibration.csv")
        write_dvc_plot_csv(roc_points(y_b, score), out / "roc.csv")
        nb = net_benefit(y_b, score, _thresholds(params))
    else:
        y_s = y[rows]
        km = km_by_risk_group(y_s, score, 3)
        plot_km_by_risk_group(km, out / "km_by_risk_tertile.png",
                              title=f"{name}: Kaplan-Meier by predicted risk tertile")
        write_dvc_plot_csv(km, out / "km_by_risk_tertile.csv")
        td = time_dependent_auc(y_s, y_s, score, params.td_auc_times)
        plot_time_dependent_auc(td, out / "time_dependent_auc.png", title=f"{name}: td-AUC")
        for t in params.calibration_horizons:
            col = f"surv_{t:g}"
            if col in pooled.columns and t < y_s["time"].max():
                cal = survival_calibration_by_decile(y_s, pooled[col].to_numpy(), t)
                plot_survival_calibration(cal, out / f"calibration_{t:g}m.png",
                                          title=f"{name}: calibration at {t:g} months")
                write_dvc_plot_csv(cal["table"], out / f"calibration_{t:g}m.csv")
        h = params.dca_horizon
        nb = net_benefit(y_s, 1.0 - pooled[f"surv_{h:g}"].to_numpy(), _thresholds(params),
                         horizon=h)
    plot_decision_curve(nb, out / "decision_curve.png", title=f"{name}: decision curve")
    write_dvc_plot_csv(nb, out / "decision_curve.csv")
    table = _subgroups(frame, y, pooled, endpoint, params, seed)
    plot_subgroup_forest(table, out / "subgroups.png", title=f"{name}: subgroups")
    return table.replace({np.nan: None}).to_dict(orient="records")

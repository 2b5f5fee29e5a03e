"""Validation of response and survival models: resampling, discrimination, calibration,
decision curves, subgroups, oracle ratio, bootstrap intervals and plots.

All functions are pure (numpy/pandas in, numbers/DataFrames out) except ``plots`` (writes the
files it is given). Survival outcomes are structured arrays from ``sksurv.util.Surv``.
"""

from models.evaluation.bootstrap import (
    bootstrap_ci,
    optimism_corrected,
    paired_bootstrap_difference,
    summarise,
)
from models.evaluation.calibration import (
    brier,
    calibration_curve,
    calibration_intercept_slope,
    integrated_calibration_index,
    km_by_risk_group,
    survival_calibration_by_decile,
)
from models.evaluation.decision import net_benefit
from models.evaluation.discrimination import (
    brier_at,
    harrell_c,
    integrated_brier,
    roc_auc,
    time_dependent_auc,
    uno_c,
    usable_times,
)
from models.evaluation.oracle import oracle_auc, oracle_c_index, oracle_comparison, oracle_ratio
from models.evaluation.plots import (
    calibration_points,
    plot_calibration,
    plot_decision_curve,
    plot_km_by_risk_group,
    plot_subgroup_forest,
    plot_survival_calibration,
    plot_time_dependent_auc,
    roc_points,
    write_dvc_plot_csv,
)
from models.evaluation.resampling import repeated_stratified_kfold, stratification_labels
from models.evaluation.subgroups import subgroup_metrics

__all__ = [
    "bootstrap_ci",
    "brier",
    "brier_at",
    "calibration_curve",
    "calibration_intercept_slope",
    "calibration_points",
    "harrell_c",
    "integrated_brier",
    "integrated_calibration_index",
    "km_by_risk_group",
    "net_benefit",
    "optimism_corrected",
    "oracle_auc",
    "oracle_c_index",
    "oracle_comparison",
    "oracle_ratio",
    "paired_bootstrap_difference",
    "plot_calibration",
    "plot_decision_curve",
    "plot_km_by_risk_group",
    "plot_subgroup_forest",
    "plot_survival_calibration",
    "plot_time_dependent_auc",
    "repeated_stratified_kfold",
    "roc_auc",
    "roc_points",
    "stratification_labels",
    "subgroup_metrics",
    "summarise",
    "survival_calibration_by_decile",
    "time_dependent_auc",
    "uno_c",
    "usable_times",
    "write_dvc_plot_csv",
]

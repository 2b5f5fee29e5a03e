"""Evaluation figures (PNG, matplotlib Agg canvas, no pyplot state) and DVC plot tables.

Every ``plot_*`` takes tables produced by the other evaluation modules, writes one PNG and
returns its path. ``write_dvc_plot_csv`` writes a small CSV DVC renders offline
(``dvc plots show``); ``calibration_points`` and ``roc_points`` build such tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from clinical.therapies import therapy_colour, therapy_label
from models.evaluation._checks import _check_binary, _check_probability, _check_score
from models.evaluation.calibration import calibration_curve

__all__ = [
    "calibration_points",
    "plot_benefit_calibration",
    "plot_overlap",
    "plot_calibration",
    "plot_decision_curve",
    "plot_km_by_risk_group",
    "plot_subgroup_forest",
    "plot_survival_calibration",
    "plot_time_dependent_auc",
    "roc_points",
    "write_dvc_plot_csv",
]


def _new_axes(figsize=(5.0, 4.5)):
    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}")


def plot_calibration(y, p, path: str | Path, n_bins: int = 10, title: str = "") -> Path:
    """Calibration plot of a binary outcome: lowess curve, decile points, ideal line."""
    y = _check_binary(y)
    p = _check_probability(p, y.size)
    curve = calibration_curve(y, p)
    bins = np.minimum((np.argsort(np.argsort(p, kind="stable")) * n_bins) // p.size, n_bins - 1)
    binned = pd.DataFrame({"p": p, "y": y, "bin": bins}).groupby("bin").mean()
    fig, ax = _new_axes()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="ideal")
    ax.plot(curve["predicted"], curve["observed"], color="C0", label="lowess")
    ax.scatter(binned["p"], binned["y"], color="C1", zorder=3, label=f"{n_bins} risk groups")
    ax.set(
        xlabel="Predicted probability",
        ylabel="Observed proportion",
        xlim=(0, 1),
        ylim=(0, 1),
        title=title or "Calibration",
    )
    ax.legend(loc="upper left")
    return _save(fig, path)


def plot_survival_calibration(calibration: dict, path: str | Path, title: str = "") -> Path:
    """Predicted vs KM observed risk at the horizon, from ``survival_calibration_by_decile``."""
    table = calibration["table"]
    _require(table, ["predicted", "observed", "observed_lo", "observed_hi"], "table")
    fig, ax = _new_axes()
    top = float(max(table[["predicted", "observed_hi"]].max().max(), 0.05)) * 1.05
    ax.plot([0, top], [0, top], ls="--", color="grey")
    yerr = np.vstack(
        [table["observed"] - table["observed_lo"], table["observed_hi"] - table["observed"]]
    ).clip(0)
    ax.errorbar(table["predicted"], table["observed"], yerr=yerr, fmt="o", capsize=3)
    ax.set(
        xlabel=f"Predicted risk at t={calibration['t']:g}",
        ylabel="Observed (Kaplan-Meier)",
        xlim=(0, top),
        ylim=(0, top),
        title=title or f"slope {calibration['slope']:.2f}, CITL {calibration['citl']:+.3f}",
    )
    return _save(fig, path)


def plot_km_by_risk_group(km_table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Kaplan-Meier step curves with 95% bands per risk group (``km_by_risk_group``)."""
    _require(km_table, ["group", "label", "time", "survival", "lo", "hi"], "km_table")
    fig, ax = _new_axes((6.0, 4.5))
    for i, (_, g) in enumerate(km_table.groupby("group", sort=True)):
        ax.step(
            g["time"],
            g["survival"],
            where="post",
            color=f"C{i}",
            label=f"{g['label'].iloc[0]} (n={int(g['n'].iloc[0])})",
        )
        ax.fill_between(g["time"], g["lo"], g["hi"], step="post", alpha=0.15, color=f"C{i}")
    p = km_table.attrs.get("logrank_p")
    ax.set(
        xlabel="Time",
        ylabel="Survival probability",
        ylim=(0, 1.02),
        title=title or ("KM by predicted risk" + (f" (log-rank p={p:.2g})" if p else "")),
    )
    ax.legend(loc="lower left")
    return _save(fig, path)


def plot_decision_curve(nb_table: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """Net benefit of model, treat-all and treat-none (``net_benefit``)."""
    _require(nb_table, ["threshold", "model", "treat_all", "treat_none"], "nb_table")
    fig, ax = _new_axes((6.0, 4.5))
    ax.plot(nb_table["threshold"], nb_table["model"], label="model")
    ax.plot(nb_table["threshold"], nb_table["treat_all"], label="treat all")
    ax.plot(nb_table["threshold"], nb_table["treat_none"], color="k", label="treat none")
    top = float(np.nanmax(nb_table[["model", "treat_all"]].to_numpy()))
    ax.set(
        xlabel="Threshold probability",
        ylabel="Net benefit",
        ylim=(-0.05 * max(top, 0.01), max(top, 0.01) * 1.1),
        title=title or "Decision curve",
    )
    ax.legend(loc="upper right")
    return _save(fig, path)


def plot_time_dependent_auc(td_auc: dict, path: str | Path, title: str = "") -> Path:
    """Cumulative/dynamic AUC by horizon (``time_dependent_auc`` output)."""
    fig, ax = _new_axes()
    ax.plot(td_auc["times"], td_auc["auc"], marker="o")
    ax.axhline(td_auc["mean_auc"], ls="--", color="grey", label=f"mean {td_auc['mean_auc']:.3f}")
    ax.axhline(0.5, ls=":", color="k")
    ax.set(xlabel="Time", ylabel="AUC(t)", ylim=(0.4, 1.0), title=title or "Time-dependent AUC")
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_subgroup_forest(
    subgroup_table: pd.DataFrame, path: str | Path, reference: float | None = None, title: str = ""
) -> Path:
    """Forest plot of a metric with intervals per subgroup (``subgroup_metrics`` output)."""
    _require(subgroup_table, ["group", "level", "n", "metric", "lo", "hi"], "subgroup_table")
    table = subgroup_table.reset_index(drop=True)
    ypos = np.arange(len(table))[::-1]
    fig, ax = _new_axes((6.0, 0.35 * len(table) + 1.2))
    xerr = np.vstack([table["metric"] - table["lo"], table["hi"] - table["metric"]])
    ax.errorbar(table["metric"], ypos, xerr=np.nan_to_num(xerr.clip(0)), fmt="s", capsize=2)
    labels = [
        f"{g}: {lv} (n={n})"
        for g, lv, n in zip(table["group"], table["level"], table["n"], strict=True)
    ]
    ax.set_yticks(ypos, labels, fontsize=8)
    if reference is not None:
        ax.axvline(reference, ls="--", color="grey")
    ax.set(xlabel="Metric (95% CI)", title=title or "Subgroups")
    return _save(fig, path)


def calibration_points(y, p) -> pd.DataFrame:
    """Lowess calibration points (``predicted``, ``observed``) for a DVC linear plot."""
    return calibration_curve(y, p, n_points=50).round(6)


def roc_points(y, p, max_points: int = 200) -> pd.DataFrame:
    """ROC curve points (``fpr``, ``tpr``, ``threshold``), thinned to ``max_points`` rows."""
    y = _check_binary(y)
    p = _check_score(p, y.size, "p")
    fpr, tpr, thr = roc_curve(y, p)
    keep = np.unique(np.linspace(0, fpr.size - 1, min(max_points, fpr.size)).astype(int))
    return pd.DataFrame(
        {"fpr": fpr[keep], "tpr": tpr[keep], "threshold": np.clip(thr[keep], -1e12, 1e12)}
    ).round(6)


def write_dvc_plot_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a small table as CSV (no index) for ``dvc.yaml`` ``plots:``; returns the path."""
    if table.empty:
        raise ValueError(f"refusing to write an empty plot table to {Path(path).name}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return path


def plot_benefit_calibration(tables: dict[str, pd.DataFrame], path: str | Path, *,
                             reference: str, outcome: str, title: str = "") -> Path:
    """Observed vs predicted benefit by group, one panel per candidate therapy vs ``reference``.

    Args:
        tables: Therapy code -> ``calibration_for_benefit`` table (``predicted``, ``observed``,
            ``lo``, ``hi``).
        outcome: What the benefit is a difference of, in words (axis labels).
    """
    if not tables:
        raise ValueError("no therapy pair to plot")
    k = len(tables)
    fig = Figure(figsize=(3.6 * k, 3.8), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, k, squeeze=False)[0]
    for ax, (code, table) in zip(axes, tables.items(), strict=True):
        _require(table, ["predicted", "observed", "lo", "hi"], f"benefit table of {code}")
        lo = float(np.nanmin(table[["predicted", "observed", "lo"]].to_numpy()))
        hi = float(np.nanmax(table[["predicted", "observed", "hi"]].to_numpy()))
        pad = 0.05 * max(hi - lo, 1e-3)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], ls="--", color="grey", label="ideal")
        ax.axhline(0, color="lightgrey", lw=0.8)
        err = np.vstack([table["observed"] - table["lo"], table["hi"] - table["observed"]])
        ax.errorbar(table["predicted"], table["observed"], yerr=np.clip(err, 0, None), fmt="o",
                    color=therapy_colour(code), capsize=3, label="groups (95% bootstrap)")
        ax.set_title(f"{therapy_label(code, short=True)} vs {therapy_label(reference, short=True)}",
                     fontsize=10)
        ax.set_xlabel(f"Predicted benefit ({outcome})", fontsize=8)
        ax.set_ylabel(f"Observed benefit ({outcome})", fontsize=8)
    axes[0].legend(loc="upper left", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def plot_overlap(propensity: pd.DataFrame, received, path: str | Path, *,
                 threshold: float) -> Path:
    """Propensity of each therapy among those who received it and among those who did not."""
    received = np.asarray(received, dtype=object)
    k = propensity.shape[1]
    fig = Figure(figsize=(3.0 * k, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, k, squeeze=False)[0]
    bins = np.linspace(0, 1, 21)
    for ax, code in zip(axes, propensity.columns, strict=True):
        p = propensity[code].to_numpy(dtype=float)
        got = received == code
        ax.hist(p[~got], bins=bins, color="lightgrey", label="other therapy", density=True)
        ax.hist(p[got], bins=bins, color=therapy_colour(code), alpha=0.7,
                label=f"received (n={int(got.sum())})", density=True)
        ax.axvline(threshold, color="black", ls=":", lw=1)
        ax.set_title(therapy_label(code, short=True), fontsize=10)
        ax.set_xlabel("Propensity (probability of this therapy)", fontsize=8)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("Density of patients", fontsize=8)
    return _save(fig, path)

"""What ``evaluate-flat`` writes beside ``metrics.json``: models, predictions, plots, report.

Per endpoint (``survival``, ``response``) under ``<out>/<endpoint>/``: the selected model refit
(and tuned) on every row, in its native format (``model/``: xgboost UBJ or the linear model's
JSON, with the design), and the out-of-fold predictions of every candidate
(``cv_predictions.parquet``: candidate, repeat, fold, ``csv_row`` = the data row of the CSV,
1-based, score, predicted survival / probability; no other column of the table). Plots of the
selected model's out-of-fold predictions (first repeat: each row once) under ``<out>/plots/``,
and ``<out>/report.html``: one self-contained page (inline CSS, plots embedded as data URIs, no
script and no external asset).
"""

from __future__ import annotations

import base64
import html
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.crossval import Candidate, CVResult, TuningConfig, fit_candidate
from models.design import DesignMatrix
from models.evaluation.calibration import km_by_risk_group, survival_calibration_by_decile
from models.evaluation.plots import (
    plot_calibration,
    plot_km_by_risk_group,
    plot_survival_calibration,
)
from models.evaluation.summary import surv_columns
from pipeline.io import write_parquet, write_text_atomic

log = logging.getLogger(__name__)

#: Column of the out-of-fold predictions: the row's 1-based data-row number in the CSV.
CSV_ROW = "csv_row"


def save_selected(frame: pd.DataFrame, dictionary: dict, y: Any, kind: str, chosen: Candidate,
                  tuning: TuningConfig, seed: int, out_dir: Path) -> dict[str, Any]:
    """Tune and fit the selected candidate on every row; save it natively with its design."""
    design = DesignMatrix().fit(frame, dictionary)
    model, final_params = fit_candidate(chosen, kind, design.transform(frame), y, tuning=tuning,
                                        seed=seed)
    path = model.save(Path(out_dir) / "model", design=design)
    return {"dir": path.relative_to(out_dir.parent).as_posix(),
            "class": type(model).__name__, "params": final_params}


def write_predictions(cv: CVResult, csv_rows: np.ndarray, out_dir: Path) -> str:
    """Out-of-fold predictions of every candidate, keyed by the CSV's data-row number."""
    preds = cv.predictions.copy()
    preds.insert(preds.columns.get_loc("row"), CSV_ROW, np.asarray(csv_rows)[preds["row"]])
    path = write_parquet(preds.drop(columns="row"), Path(out_dir) / "cv_predictions.parquet")
    return path.relative_to(out_dir.parent).as_posix()


def _first_repeat(cv: CVResult, selected: str) -> pd.DataFrame:
    p = cv.predictions
    return p[(p["candidate"] == selected) & (p["repeat"] == 0)].sort_values("row")


def survival_plots(cv: CVResult, selected: str, y: np.ndarray, horizons: list[float],
                   plots_dir: Path) -> list[str]:
    """KM by tertile of out-of-fold risk, and calibration at the middle horizon."""
    oof = _first_repeat(cv, selected)
    y_oof = y[oof["row"].to_numpy()]
    written = [plot_km_by_risk_group(km_by_risk_group(y_oof, oof["score"].to_numpy()),
                                     plots_dir / "survival_km_by_risk_tertile.png",
                                     title=f"{selected}: KM by tertile of out-of-fold risk")]
    cols = surv_columns(oof)
    h = horizons[len(horizons) // 2] if horizons else None
    if h in cols:
        try:
            cal = survival_calibration_by_decile(y_oof, oof[cols[h]].to_numpy(), h)
        except ValueError as err:  # e.g. too few events for the groups
            log.warning("survival calibration plot left out: %s", err)
        else:
            written.append(plot_survival_calibration(
                cal, plots_dir / "survival_calibration.png",
                title=f"{selected}: calibration at t={h:g} (slope {cal['slope']:.2f})"))
    return [p.name for p in written]


def response_plots(cv: CVResult, selected: str, y: np.ndarray, plots_dir: Path) -> list[str]:
    """Calibration of the out-of-fold response probabilities."""
    oof = _first_repeat(cv, selected)
    path = plot_calibration(np.asarray(y)[oof["row"].to_numpy()], oof["p"].to_numpy(),
                            plots_dir / "response_calibration.png",
                            title=f"{selected}: out-of-fold calibration")
    return [path.name]


# --- the HTML report ------------------------------------------------------------------------

_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
        "td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}"
        "th:first-child,td:first-child{text-align:left}.sel{font-weight:bold}"
        "img{max-width:48%;margin:.5%}")
_HEADLINE = {"survival": ("harrell_c", "uno_c", "ibs"), "response": ("auc", "brier", "ici")}


def _cell(summary: dict | None) -> str:
    if not summary:
        return "-"
    return f"{summary['mean']:.3f} ({summary['lo']:.3f}-{summary['hi']:.3f})"


def _models_table(block: dict, names: tuple[str, ...]) -> str:
    head = "".join(f"<th>{n}</th>" for n in ("model", *names))
    rows = []
    for model, metrics in block["models"].items():
        mark = ' class="sel"' if model == block["selected"] else ""
        cells = "".join(f"<td>{_cell(metrics.get(n))}</td>" for n in names)
        rows.append(f"<tr{mark}><td>{html.escape(model)}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _endpoint_section(name: str, block: dict, plots_dir: Path) -> str:
    sel = block["selected"]
    parts = [f"<h2>{name}: selected <code>{html.escape(sel)}</code></h2>",
             f"<p>n={block['n']}, events={block['events']}; {html.escape(block['validation'])}; "
             f"selection by mean fold {block['selection_metric']} (mean and 2.5-97.5 percentile "
             "interval over the outer folds).</p>",
             _models_table(block, _HEADLINE[name])]
    tr = block.get("ipcw_truncation")
    if tr:
        parts.append(f"<p>Uno's C, time-dependent AUC and IBS use follow-up up to "
                     f"tau={tr['tau']:g} (censoring survival just before tau "
                     f"{tr['censoring_survival_before_tau']:.2f}; minimum "
                     f"{tr['min_censoring_survival']:g}); Harrell's C uses every row.</p>")
    parts += [_image(plots_dir / p) for p in block.get("outputs", {}).get("plots", [])]
    return "\n".join(parts)


def write_report(metrics: dict, out_dir: Path) -> Path:
    """``<out>/report.html``: inputs, screen, every candidate's metrics, the plots; no assets."""
    plots_dir = Path(out_dir) / "plots"
    inp = metrics["input"]
    features = ", ".join(html.escape(f["name"]) for f in metrics["features"])
    excluded = ", ".join(f"{html.escape(e['name'])} ({html.escape(e['reason'])})"
                         for e in metrics["excluded"]) or "none"
    allowed = ", ".join(f"{html.escape(a['column'])} ({html.escape(a['problem'])})"
                        for a in metrics["screen"]["allowed"]) or "none"
    body = [f"<h1>evaluate-flat: {html.escape(inp['file'])}</h1>",
            f"<p>{inp['rows']} rows; time <code>{html.escape(inp['time'])}</code>, event "
            f"<code>{html.escape(inp['event'])}</code>. Model inputs: {features}. Not used: "
            f"{excluded}. Flagged by the leakage screen but kept (--allow-column): "
            f"{allowed}.</p>",
            _endpoint_section("survival", metrics, plots_dir)]
    if "response" in metrics:
        body.append(_endpoint_section("response", metrics["response"], plots_dir))
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>evaluate-flat {html.escape(inp['file'])}</title><style>{_CSS}</style>"
            f"</head><body>{''.join(body)}</body></html>\n")
    return write_text_atomic(page, Path(out_dir) / "report.html")


# --- MLflow ---------------------------------------------------------------------------------

#: The MLflow experiment of ``evaluate-flat`` runs (the pipeline's runs go to ``netoutcomes``).
EXPERIMENT = "netoutcomes-flat"


def _headline(metrics: dict) -> dict[str, float]:
    """Mean of every metric of the selected models, ``survival.*`` and ``response.*``."""
    out = {}
    for name, block in (("survival", metrics), ("response", metrics.get("response"))):
        if not block:
            continue
        for key, value in block["selected_model"].items():
            if isinstance(value, dict) and value.get("mean") is not None:
                out[f"{name}.{key}"] = float(value["mean"])
    tr = metrics.get("ipcw_truncation")
    if tr:
        out["survival.ipcw_tau"] = float(tr["tau"])
    return out


def log_mlflow_run(metrics: dict, out_dir: Path, csv: Path, options: dict[str, Any],
                   train: dict[str, Any]) -> str:
    """One MLflow run: options and ``train`` settings as params, the selected models' metrics,
    the table as a dataset (schema and digest, no values), ``<out>`` as artifacts.

    The store is ``MLFLOW_TRACKING_URI``, else ``./mlflow.db`` (artifacts in ``./mlartifacts``).
    Returns the run id.
    """
    import mlflow
    import mlflow.data

    from pipeline import tracking

    tracking.configure(EXPERIMENT)
    selected = {"survival": metrics["selected"]}
    if "response" in metrics:
        selected["response"] = metrics["response"]["selected"]
    name = f"{metrics['input']['file']} n={metrics['input']['rows']} seed={options['seed']}"
    tags = {**tracking.lineage_tags(data_file=Path(csv)),
            **{f"selected.{k}": v for k, v in selected.items()},
            "input.file": metrics["input"]["file"], "command": "evaluate-flat"}
    with tracking.run(name, parent=True, tags=tags) as active:
        params = {**options, **{f"train.{k}": v for k, v in tracking.flatten(train).items()}}
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        mlflow.log_metrics(_headline(metrics))
        frame = pd.read_csv(csv, nrows=0)  # the schema only: column names, never values
        with warnings.catch_warnings():  # source-type hints, not problems
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(frame, source=Path(csv).name, name="cohort",
                                              digest=tracking.file_md5(Path(csv))[:16])
        mlflow.log_input(dataset, context="evaluation")
        mlflow.log_artifacts(str(out_dir))
        return active.info.run_id

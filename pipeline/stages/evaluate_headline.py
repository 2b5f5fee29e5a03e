"""The headline metrics of a run: about a dozen numbers DVC compares across experiments.

``reports/metrics.json`` is the full evaluation (hundreds of numbers, a cached DVC output).
``metrics/headline.json`` holds a few per endpoint, rounded to four decimals, and is the file
``dvc.yaml`` declares under ``metrics:`` (``cache: false``, committed to git), so that
``dvc exp show`` and ``dvc metrics diff`` compare runs in a table that fits a screen:

- ``auc`` (response) or ``harrell_c`` (PFS, OS): out-of-fold discrimination, mean of the outer
  folds of the nested cross-validation;
- ``cal_slope`` (response) or ``cal_slope_<h>m``: calibration slope, at the first calibration
  horizon for survival endpoints;
- ``oracle_ratio``: the model's C (AUC) over the simulator's true risk on the same patients
  (synthetic data only);
- ``prrt_c_benefit[_<h>m]``: c-for-benefit of PRRT against the reference therapy at the first
  benefit horizon (does the model rank who gains from PRRT?);
- ``regret[_<h>m]``: true regret of the model's treatment rule against the oracle rule at the
  first benefit horizon (synthetic data only; 0 is perfect).

A figure that cannot be computed (no truth, too few patients on PRRT) is left out, not written
as a placeholder. The file is written relative to the working folder (the project root, where
``dvc.yaml`` is); the same numbers are logged on the pipeline's parent MLflow run.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from clinical.endpoints import ENDPOINTS
from clinical.therapies import THERAPIES
from pipeline import tracking
from pipeline.io import write_json

log = logging.getLogger(__name__)

HEADLINE_FILE = Path("metrics") / "headline.json"
DIGITS = 4
BENEFIT_THERAPY = THERAPIES["prrt_lu177"]


def _mean(stat: Any) -> float | None:
    if isinstance(stat, Mapping):
        stat = stat.get("mean")
    return float(stat) if isinstance(stat, int | float) else None


def _first_horizon_slope(metrics: Mapping[str, Any]) -> tuple[str, float | None]:
    """Key suffix and value of the calibration slope at the smallest horizon present."""
    horizons = sorted(float(m.group(1)) for k in metrics
                      if (m := re.fullmatch(r"calibration_slope_([0-9.]+)", k)))
    if not horizons:
        return "", None
    h = horizons[0]
    return f"_{h:g}m", _mean(metrics[f"calibration_slope_{h:g}"])


def _benefit_figures(benefit: Mapping[str, Any], survival: bool) -> dict[str, float | None]:
    """c-for-benefit of PRRT and the model rule's true regret, at the first benefit horizon."""
    if not benefit:
        return {}
    label, block = next(iter(benefit.items()))
    suffix = f"_{label}" if survival else ""
    out: dict[str, float | None] = {}
    pair = block.get("pairs", {}).get(BENEFIT_THERAPY.code)
    if pair is not None:
        out[f"{BENEFIT_THERAPY.short.lower()}_c_benefit{suffix}"] = _mean(
            pair.get("c_for_benefit", {}).get("c"))
    regret = block.get("truth", {}).get("policy_regret", {}).get("model")
    if regret is not None:
        out[f"regret{suffix}"] = _mean(regret.get("regret"))
    return out


def endpoint_headline(name: str, block: Mapping[str, Any]) -> dict[str, float]:
    """The headline numbers of one endpoint's ``metrics.json`` block (rounded, finite only)."""
    survival = ENDPOINTS[name].is_survival
    metrics = block.get("metrics", {})
    row: dict[str, float | None] = {}
    if survival:
        row["harrell_c"] = _mean(metrics.get("harrell_c"))
        suffix, slope = _first_horizon_slope(metrics)
        row[f"cal_slope{suffix}"] = slope
    else:
        row["auc"] = _mean(metrics.get("auc"))
        row["cal_slope"] = _mean(metrics.get("calibration_slope"))
    if "oracle" in block:
        row["oracle_ratio"] = _mean(block["oracle"].get("ratio"))
    row.update(_benefit_figures(block.get("benefit") or {}, survival))
    return {k: round(v, DIGITS) for k, v in row.items() if v is not None and math.isfinite(v)}


def headline_metrics(metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Headline numbers of every endpoint of a ``metrics.json`` mapping, in its order."""
    return {name: endpoint_headline(name, block) for name, block in metrics.items()}


def flat_headline(headline: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``{"pfs.harrell_c": 0.73, ...}``: the names DVC shows and MLflow logs."""
    return {f"{ep}.{k}": v for ep, row in headline.items() for k, v in row.items()}


def record_headline(metrics: Mapping[str, Mapping[str, Any]], models_dir: Path,
                    path: Path = HEADLINE_FILE) -> dict[str, dict[str, float]]:
    """Write ``metrics/headline.json`` (the DVC metrics file) and log the same numbers on the
    parent MLflow run of the train run that wrote ``models_dir``; return the headline."""
    headline = headline_metrics(metrics)
    write_json(headline, path)
    tracking.configure()
    runs = tracking.pipeline_runs(models_dir)
    if runs is None:
        log.warning("no MLflow run of train for %s: headline not logged to MLflow", models_dir)
    else:
        tracking.log_run_metrics(runs["parent_run_id"], flat_headline(headline))
    log.info("headline metrics: %s", path)
    return headline

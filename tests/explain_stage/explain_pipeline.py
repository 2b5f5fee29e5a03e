"""A small real pipeline for the explain-stage tests and benchmark.

Simulated raw export -> validated-like tables (dates parsed, ids pseudonymised with an HMAC) ->
``build_features`` -> tiny models of three kinds (logistic response, xgboost Cox PFS, penalised
Cox OS) saved with their designs -> minimal ``selection.json`` / ``metrics.json`` and one plot.
The MLflow train stage is not run.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from features.build import build_features
from features.index import FeatureConfig
from features.simulate import DEFAULT_PARAMETERS, simulate_cohort
from models import LogisticResponseClassifier, PenalisedCoxSurvival, XGBCoxSurvival, make_surv
from models.design import DesignMatrix

PSEUDONYM_KEY = b"explain-stage-test-key"
DATE_COLUMNS = {"diagnosis_date", "last_contact_date", "death_date", "sample_date", "start_date",
                "end_date", "date"}


@dataclass(frozen=True)
class PipelineFiles:
    """Paths of the fixture pipeline's artefacts and the raw identifiers to keep out."""

    root: Path
    features_file: Path
    models_dir: Path
    metrics_file: Path
    plots_dir: Path
    raw_ids: tuple[str, ...]
    birth_years: tuple[int, ...]


def pseudonymise(raw_id: object) -> str:
    """Keyed HMAC pseudonym (the validation stage's scheme, test key)."""
    text = str(raw_id).strip().upper().encode()
    return "P" + hmac.new(PSEUDONYM_KEY, text, hashlib.sha256).hexdigest()[:16]


def to_validated(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Parse dates and replace patient identifiers by pseudonyms."""
    out = {}
    for name, frame in raw.items():
        frame = frame.copy()
        for col in frame.columns.intersection(list(DATE_COLUMNS)):
            frame[col] = pd.to_datetime(frame[col], errors="coerce").astype("datetime64[ns]")
        if "patient_id" in frame.columns:
            codes, uniques = pd.factorize(frame["patient_id"])
            frame["patient_id"] = np.array([pseudonymise(u) for u in uniques], dtype=object)[codes]
        out[name] = frame
    return out


TARGETS = {"response": ("response", None), "pfs": ("pfs_months", "pfs_event"),
           "os": ("os_months", "os_event")}


def small_models() -> dict[str, tuple[str, object]]:
    """Endpoint -> (candidate name, unfitted model): one model of each explainable kind."""
    return {
        "response": ("logistic", LogisticResponseClassifier()),
        "pfs": ("xgb_cox", XGBCoxSurvival(n_estimators=50, early_stopping_rounds=None)),
        "os": ("penalised_cox", PenalisedCoxSurvival(alpha=0.05)),
    }


def _fit_models(cohort: pd.DataFrame, dictionary: dict, models_dir: Path,
                specs: dict[str, tuple[str, object]]) -> dict[str, dict]:
    summaries = {}
    for endpoint, (name, model) in specs.items():
        target, event = TARGETS[endpoint]
        keep = cohort[target].notna()
        if event:
            keep &= cohort[event].notna() & (cohort[target] > 0)
        frame = cohort.loc[keep].reset_index(drop=True)
        if event:
            y = make_surv(frame[target].to_numpy(float), frame[event].to_numpy(bool))
            n_events = int(frame[event].sum())
        else:
            y = frame[target].to_numpy(float)
            n_events = int(y.sum())
        design = DesignMatrix().fit(frame, dictionary)
        model.fit(design.transform(frame), y)
        model.save(models_dir / endpoint / "model", design=design)
        summaries[endpoint] = {"endpoint": endpoint, "selected": name,
                               "n_rows": len(frame), "n_events": n_events,
                               "model_class": type(model).__name__}
        (models_dir / endpoint / "selection.json").write_text(json.dumps(summaries[endpoint]))
    return summaries


def _metrics(summaries: dict[str, dict]) -> dict:
    def m(mean, lo, hi):
        return {"mean": mean, "lo": lo, "hi": hi}

    subgroup = [{"group": "primary_site", "level": "pancreas", "n": 80, "events": 40,
                 "metric": 0.66, "lo": 0.58, "hi": 0.74}]
    blocks = {
        "response": {"auc": m(0.71, 0.66, 0.76), "calibration_slope": m(0.92, 0.78, 1.06)},
        "pfs": {"harrell_c": m(0.68, 0.65, 0.71), "uno_c": m(0.67, 0.63, 0.71),
                "calibration_slope_12": m(0.95, 0.80, 1.10)},
        "os": {"harrell_c": m(0.70, 0.66, 0.74), "uno_c": m(0.69, 0.64, 0.74),
               "calibration_slope_12": m(1.02, 0.85, 1.19)},
    }
    return {ep: {"selected_model": s["selected"], "n": s["n_rows"], "events": s["n_events"],
                 "validation": "nested cross-validation 5x3", "metrics": blocks[ep],
                 "subgroups": subgroup} for ep, s in summaries.items()}


def _png() -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def build_pipeline(root: Path, n_patients: int = 300, seed: int = 0,
                   specs: dict[str, tuple[str, object]] | None = None) -> PipelineFiles:
    """Simulate, build features, train and write every artefact the explain stage reads.

    Args:
        root: Project root for ``data/`` and ``reports/``.
        n_patients: Simulated patients.
        seed: Simulation seed.
        specs: Endpoint -> (candidate name, unfitted model); default :func:`small_models`.
    """
    parameters = yaml.safe_load(DEFAULT_PARAMETERS.read_text())
    sim = simulate_cohort(parameters, n_patients, np.random.default_rng(seed))
    cohort, dictionary = build_features(to_validated(sim.tables), FeatureConfig())
    features_file = root / "data" / "features" / "cohort.parquet"
    features_file.parent.mkdir(parents=True, exist_ok=True)
    cohort.to_parquet(features_file, index=False)
    (features_file.parent / "dictionary.json").write_text(json.dumps(dictionary))
    models_dir = root / "data" / "models"
    summaries = _fit_models(cohort, dictionary, models_dir, specs or small_models())
    metrics_file = root / "reports" / "metrics.json"
    metrics_file.parent.mkdir(parents=True, exist_ok=True)
    metrics_file.write_text(json.dumps(_metrics(summaries)))
    plots_dir = root / "reports" / "plots"
    (plots_dir / "pfs").mkdir(parents=True, exist_ok=True)
    (plots_dir / "pfs" / "calibration_12m.png").write_bytes(_png())
    patients = sim.tables["patients"]
    return PipelineFiles(root, features_file, models_dir, metrics_file, plots_dir,
                         tuple(map(str, patients["patient_id"])),
                         tuple(int(y) for y in patients["birth_year"]))

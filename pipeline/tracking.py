"""MLflow tracking: embedded SQLite by default, a tracking server by ``MLFLOW_TRACKING_URI``.

Run ids never enter a DVC output (they are random, so ``dvc.lock`` would change on every fresh
run): ``train`` tags its parent and endpoint runs with a fingerprint of the files it wrote
(:func:`record_runs`), and ``evaluate`` and ``register`` find the runs of the models they read by
that tag (:func:`pipeline_runs`). Identical models (a rerun, or a DVC run-cache restore) map to
the newest run that produced them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import os
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import mlflow.data
import yaml
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from pipeline.params import merged_tree

log = logging.getLogger(__name__)

DEFAULT_URI = "sqlite:///mlflow.db"
MODELS_TAG = "netoutcomes.models_fingerprint"  # on the parent and endpoint runs of train
# MLflow 3's experiment type; "custom_model_development" is the UI's "Machine learning" (the
# other kinds: genai_development, and *_inferred guesses the UI makes when the tag is absent)
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
TRUTH_FILE = Path("data") / "truth" / "truth.csv"  # the simulator's truth: a synthetic cohort
PARENT_TAG = "mlflow.parentRunId"
DEFAULT_EXPERIMENT = "netoutcomes"
TRACKED_PACKAGES = (
    "netoutcomes", "numpy", "pandas", "scikit-learn", "scikit-survival", "xgboost", "shap",
    "mlflow", "dvc", "pandera", "optuna",
)


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the embedded ``sqlite:///mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_URI


def configure(experiment: str = DEFAULT_EXPERIMENT, artifact_root: Path | None = None) -> str:
    """Point MLflow at the tracking store and select (or create) ``experiment``.

    With the local SQLite default, artifacts go to ``./mlartifacts`` (not MLflow's ``./mlruns``).
    The experiment is tagged as classic machine learning (:data:`EXPERIMENT_KIND`), so the UI
    opens it on its runs, not on the GenAI traces page. Returns the experiment id.
    """
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        exp_id = existing.experiment_id
        kind = existing.tags.get(EXPERIMENT_KIND_TAG)
        if kind is None or kind.endswith("_inferred") or kind == "no_inferred_type":
            _tag_experiment_kind(exp_id)
    else:
        location = None
        if uri.startswith("sqlite:") or uri.startswith("file:"):
            location = (artifact_root or Path("mlartifacts")).resolve().as_uri()
        exp_id = mlflow.create_experiment(experiment, artifact_location=location,
                                          tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def _tag_experiment_kind(exp_id: str) -> None:
    """Tag an existing experiment as classic ML; a user who may only read it just gets a note."""
    try:
        mlflow.MlflowClient().set_experiment_tag(exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    except MlflowException as err:  # e.g. PERMISSION_DENIED on a shared tracking server
        log.warning("experiment %s not tagged %s=%s (%s): the MLflow UI may open it on its "
                    "GenAI pages", exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND, err.error_code)


def git_commit(root: Path = Path(".")) -> str:
    """Current git commit (``+dirty`` when the tree has uncommitted changes), or ``unknown``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def file_md5(path: Path) -> str:
    """MD5 of a file's bytes (the hash DVC uses for a single-file output)."""
    digest = hashlib.md5()  # noqa: S324 - content fingerprint, not security
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def dvc_data_hash(stage: str = "features", lock_file: Path = Path("dvc.lock")) -> str | None:
    """The md5 of the first output of ``stage`` as recorded in ``dvc.lock`` (None if absent)."""
    if not lock_file.exists():
        return None
    lock = yaml.safe_load(lock_file.read_text(encoding="utf-8")) or {}
    outs = lock.get("stages", {}).get(stage, {}).get("outs", [])
    return outs[0].get("md5") if outs else None


def params_hash(params: dict[str, Any]) -> str:
    """A short stable hash of a params mapping."""
    text = yaml.safe_dump(params, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that decide the results."""
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def lineage_tags(data_file: Path | None = None,
                 params: dict[str, Any] | None = None) -> dict[str, str]:
    """Tags every run and model version carries: code, data and params lineage, package versions."""
    tags = {"git_commit": git_commit()}
    data_hash = dvc_data_hash() or (
        file_md5(data_file) if data_file and data_file.exists() else None)
    if data_hash:
        tags["dvc_data_hash"] = data_hash
    if params is not None:
        tags["params_hash"] = params_hash(params)
    tags.update({f"version.{k}": v for k, v in package_versions().items()})
    return tags


@contextmanager
def run(name: str, *, parent: bool = False, tags: dict[str, str] | None = None) -> Iterator[Any]:
    """Start a run; nested under the active run unless ``parent`` is True."""
    nested = mlflow.active_run() is not None and not parent
    with mlflow.start_run(run_name=name, nested=nested, tags=tags) as active:
        yield active


def models_fingerprint(models_dir: Path) -> str:
    """SHA-256 of the relative paths and bytes of every file under ``models_dir`` (train's output).

    Raises:
        FileNotFoundError: ``models_dir`` holds no file (train has not run).
    """
    files = sorted(p for p in Path(models_dir).rglob("*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"{models_dir}: no trained models (run train first)")
    digest = hashlib.sha256()
    for path in files:  # loop over files
        digest.update(path.relative_to(models_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(file_md5(path).encode("ascii"))
    return digest.hexdigest()


def record_runs(models_dir: Path, parent_id: str, run_ids: dict[str, str]) -> str:
    """Tag train's parent and endpoint runs with the fingerprint of ``models_dir``; return it."""
    fingerprint = models_fingerprint(models_dir)
    client = mlflow.MlflowClient()
    for run_id in (parent_id, *run_ids.values()):
        client.set_tag(run_id, MODELS_TAG, fingerprint)
    return fingerprint


def pipeline_runs(models_dir: Path, experiment: str = DEFAULT_EXPERIMENT) -> dict[str, Any] | None:
    """The newest train runs that wrote exactly these models, or None.

    Returns ``{"parent_run_id": id, "runs": {endpoint: id}}`` from ``experiment`` of the
    tracking store :func:`configure` selected (call it first).
    """
    try:
        fingerprint = models_fingerprint(models_dir)
    except FileNotFoundError:
        return None
    found_experiment = mlflow.get_experiment_by_name(experiment)
    if found_experiment is None:
        return None
    found = mlflow.search_runs(
        experiment_ids=[found_experiment.experiment_id], output_format="list",
        filter_string=f"tags.`{MODELS_TAG}` = '{fingerprint}'",
        order_by=["attributes.start_time DESC"])
    parents = [r for r in found if PARENT_TAG not in r.data.tags]
    if not parents:
        return None
    parent_id = parents[0].info.run_id
    runs = {r.data.tags["endpoint"]: r.info.run_id for r in found
            if r.data.tags.get(PARENT_TAG) == parent_id and "endpoint" in r.data.tags}
    return {"parent_run_id": parent_id, "runs": runs}


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"simulate.n_patients": 1000, ...}`` from a nested params mapping."""
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: tree}


def run_params(train: dict[str, Any], seed: int,
               params_file: Path = Path("params.yaml")) -> dict[str, str]:
    """Every knob of the run as MLflow params: ``params.yaml`` (with the overlay, if set) for
    simulate, features, evaluate ...; ``train`` and ``seed`` as the stage actually used them."""
    tree = merged_tree(params_file) if Path(params_file).is_file() else {}
    tree = {**tree, "seed": seed, "train": train}
    return {k: str(v)[:500] for k, v in flatten(tree).items()}


def cohort_source(params: dict[str, str]) -> str:
    """``simulated`` when the simulator's truth is beside the data, else ``export``.

    A ``source`` key in the params (``simulate | export``) takes precedence.
    """
    declared = params.get("source")
    if declared:
        return "simulated" if declared == "simulate" else declared
    return "simulated" if TRUTH_FILE.is_file() else "export"


@contextmanager
def pipeline_run(cohort: Any, seed: int, train: dict[str, Any], tags: dict[str, str],
                 features_file: Path) -> Iterator[Any]:
    """The parent run of one pipeline run, named after its cohort (``simulated n=987 seed=42``).

    Logs every param (``simulate.*`` included) and the cohort as an MLflow dataset (its digest
    is the DVC hash of the features output when known) before yielding the active run.
    """
    params = run_params(train, seed)
    source = cohort_source(params)
    n_patients = int(cohort["patient_id"].nunique())
    name = f"{source} n={n_patients} seed={seed}"
    tags = {**tags, "cohort.source": source, "cohort.n_patients": str(n_patients),
            "cohort.n_rows": str(len(cohort))}
    with run(name, parent=True, tags=tags) as active:
        mlflow.log_params(params)
        with warnings.catch_warnings():  # source-type and integer-column hints, not problems
            warnings.simplefilter("ignore", UserWarning)
            dataset = mlflow.data.from_pandas(cohort, source=str(features_file), name="cohort",
                                              digest=tags.get("dvc_data_hash"))
        mlflow.log_input(dataset, context="training")
        yield active


def log_run_metrics(run_id: str, values: dict[str, float]) -> None:
    """Log finished metrics (e.g. evaluate's headline) on an existing run."""
    now = int(time.time() * 1000)
    mlflow.MlflowClient().log_batch(
        run_id, metrics=[Metric(k, float(v), now, 0) for k, v in values.items()])

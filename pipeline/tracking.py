"""MLflow tracking: embedded SQLite by default, a tracking server by ``MLFLOW_TRACKING_URI``."""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import yaml

log = logging.getLogger(__name__)

DEFAULT_URI = "sqlite:///mlflow.db"
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
    Returns the experiment id.
    """
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        exp_id = existing.experiment_id
    else:
        location = None
        if uri.startswith("sqlite:") or uri.startswith("file:"):
            location = (artifact_root or Path("mlartifacts")).resolve().as_uri()
        exp_id = mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


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


def lineage_tags(data_file: Path | None = None, params: dict[str, Any] | None = None) -> dict[str, str]:
    """Tags every run and model version carries: code, data and params lineage, package versions."""
    tags = {"git_commit": git_commit()}
    data_hash = dvc_data_hash() or (file_md5(data_file) if data_file and data_file.exists() else None)
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

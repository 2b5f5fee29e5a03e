"""MLflow model registry: register selected models, move aliases, record promotion decisions.

Registered names are ``net-response``, ``net-pfs``, ``net-os``. A new version becomes
``@challenger``; only ``apply_promotion`` (called by ``pipeline.promote`` after the gates, or
forced with a recorded reason) moves ``@champion`` and keeps the former one as ``@previous``.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from clinical.endpoints import ENDPOINTS as CLINICAL_ENDPOINTS
from pipeline import tracking
from pipeline.serving import build_input_spec, hash_tree, log_serving_model

log = logging.getLogger(__name__)

ENDPOINTS = tuple(CLINICAL_ENDPOINTS)  # response, pfs, os (the vocabulary)
CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous"
DECISION_TAG = "promotion_decision"
PROMOTION_EXPERIMENT = "netoutcomes-promotions"
TAG_VALUE_MAX = 5000


def model_name(endpoint: str) -> str:
    """Registered model name of an endpoint: ``net-pfs`` for ``pfs``."""
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {ENDPOINTS}, got {endpoint!r}")
    return f"net-{endpoint}"


def current_user() -> str:
    """Who acts: ``MLFLOW_TRACKING_USERNAME`` when set (team mode), else the OS user."""
    return os.environ.get("MLFLOW_TRACKING_USERNAME") or getpass.getuser()


def _flatten(prefix: str, value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        out: dict[str, str] = {}
        for k, v in value.items():
            out.update(_flatten(f"{prefix}.{k}" if prefix else str(k), v))
        return out
    if isinstance(value, float):
        return {prefix: f"{value:.6g}"}
    return {prefix: str(value)[:TAG_VALUE_MAX]}


def version_tags(endpoint: str, estimator: str, model_dir: Path,
                 metrics: Mapping[str, Any] | None, lineage: Mapping[str, str] | None
                 ) -> dict[str, str]:
    """Tags every registered version carries: lineage, metrics with intervals, file hashes."""
    tags = {"endpoint": endpoint, "estimator": estimator, "registered_by": current_user()}
    tags.update({k: str(v) for k, v in (lineage or {}).items()})
    tags.update(_flatten("metric", dict(metrics or {})))
    tags.update({f"sha256.{rel}": digest for rel, digest in hash_tree(model_dir).items()})
    return tags


def model_inputs(model_dir: Path) -> list[str]:
    """The clinical input variables of a saved model (its ``design.json``)."""
    path = Path(model_dir) / "design.json"
    if not path.exists():
        raise ValueError(f"{path} not found: pass feature_names explicitly")
    return list(json.loads(path.read_text(encoding="utf-8"))["variables"])


def register_model(endpoint: str, model_dir: Path, estimator: str,
                   feature_names: Sequence[str] | None, dictionary: Mapping[str, Any], *,
                   horizons_months: Sequence[float] = (12, 24),
                   metrics: Mapping[str, Any] | None = None,
                   lineage: Mapping[str, str] | None = None,
                   card_metadata: Mapping[str, Any] | None = None,
                   required_fields: Sequence[str] = ("therapy",),
                   client: MlflowClient | None = None) -> Any:
    """Log the serving model, register it, tag it, attach its model card, alias ``@challenger``.

    Runs inside the active MLflow run (e.g. the train stage's endpoint run), else in a new run
    ``register-<endpoint>``.

    Args:
        endpoint: ``response``, ``pfs`` or ``os``.
        model_dir: folder written by the estimator's ``save`` (native files only).
        estimator: dotted class with ``load(dir)``, e.g. ``models.survival.XGBCoxSurvival``.
        feature_names: the clinical inputs a request carries, in order; None = the
            variables of the saved ``design.json`` (what the estimators write).
        dictionary: the feature dictionary (``{"features": [...]}``).
        horizons_months: survival horizons served (12 must be among them for the gates).
        metrics: validation metrics, e.g. ``{"c_index": {"mean": .., "lo": .., "hi": ..}}``.
        lineage: tags from ``tracking.lineage_tags`` (git commit, DVC hash, params hash, ...);
            None = ``tracking.lineage_tags()`` (no params hash).
        card_metadata: model-card metadata (see ``pipeline.model_card``); None = no card.
        required_fields: inputs a request must carry.
        client: MLflow client (default: one for the configured tracking URI).

    Returns:
        The registered ``ModelVersion`` (now ``@challenger``).
    """
    name = model_name(endpoint)
    client = client or MlflowClient()
    names = list(feature_names) if feature_names is not None else model_inputs(model_dir)
    spec = build_input_spec(dictionary, names, required=required_fields)
    started = mlflow.active_run() is None
    run = mlflow.start_run(run_name=f"register-{endpoint}") if started else mlflow.active_run()
    try:
        info = log_serving_model(endpoint, Path(model_dir), estimator, spec, horizons_months)
        lineage = tracking.lineage_tags() if lineage is None else lineage
        tags = version_tags(endpoint, estimator, Path(model_dir), metrics, lineage)
        mv = mlflow.register_model(info.model_uri, name, tags=tags)
        if card_metadata is not None:
            _attach_model_card(client, name, mv.version, card_metadata, metrics)
    finally:
        if started:
            mlflow.end_run()
    client.set_registered_model_alias(name, CHALLENGER, mv.version)
    log.info("registered %s version %s as @%s (run %s)", name, mv.version, CHALLENGER,
             run.info.run_id)
    return client.get_model_version(name, mv.version)


def _attach_model_card(client: MlflowClient, name: str, version: str,
                       metadata: Mapping[str, Any], metrics: Mapping[str, Any] | None) -> None:
    from pipeline.model_card import render_html, render_markdown

    meta = {**dict(metadata), "model_name": name, "model_version": str(version)}
    if metrics and "metrics" not in meta:
        meta["metrics"] = dict(metrics)
    md, html = render_markdown(meta), render_html(meta)
    folder = f"model_card/{name}-v{version}"
    mlflow.log_text(md, f"{folder}/model_card.md")
    mlflow.log_text(html, f"{folder}/model_card.html")
    client.set_model_version_tag(name, version, "model_card", f"{folder}/model_card.md")
    client.update_model_version(name, version, description=md[:TAG_VALUE_MAX])


def alias_version(name: str, alias: str, client: MlflowClient | None = None) -> str | None:
    """The version behind ``name@alias``, or None when the alias is not set."""
    client = client or MlflowClient()
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as err:
        if "RESOURCE_DOES_NOT_EXIST" in str(err.error_code) or "not found" in str(err).lower():
            return None
        raise


def apply_promotion(name: str, version: str, client: MlflowClient | None = None
                    ) -> dict[str, str | None]:
    """Move ``@champion`` to ``version``; the former champion becomes ``@previous``.

    The first call that needs a permission this user lacks fails before anything moved
    (``@previous`` is set before ``@champion``; it only points at the still-current champion).
    """
    client = client or MlflowClient()
    version = str(version)
    before = alias_version(name, CHAMPION, client)
    if before is not None and before != version:
        client.set_registered_model_alias(name, PREVIOUS, before)
    client.set_registered_model_alias(name, CHAMPION, version)
    if alias_version(name, CHALLENGER, client) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
    return {"champion": version, "previous": before if before != version else None}


def _jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    return obj


def build_decision(name: str, version: str, champion_before: str | None, gates: Sequence[Any],
                   promoted: bool, forced: bool = False, reason: str | None = None,
                   held_out: Mapping[str, Any] | None = None,
                   config: Any = None) -> dict[str, Any]:
    """The decision record: who, when, what, the gate figures, forced or not and why."""
    return {
        "model": name,
        "version": str(version),
        "champion_before": champion_before,
        "decision": "promoted" if promoted else "rejected",
        "gates_passed": all(bool(getattr(g, "passed", False)) for g in gates),
        "forced": bool(forced),
        "reason": reason,
        "who": current_user(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "tracking_uri": tracking.tracking_uri().split("@")[-1],
        "held_out": _jsonable(dict(held_out or {})),
        "gate_config": _jsonable(config) if config is not None else None,
        "gates": _jsonable(list(gates)),
    }


def record_decision(decision: Mapping[str, Any], client: MlflowClient | None = None) -> str:
    """Store a decision as a model-version tag and as a JSON artifact of a promotion run.

    The artifact goes to a run of the ``netoutcomes-promotions`` experiment (owned by the
    promoting user, so it works under basic-auth); the tag points at it. Returns the run id.
    """
    client = client or MlflowClient()
    name, version = decision["model"], decision["version"]
    text = json.dumps(decision, indent=2, sort_keys=True)
    exp = client.get_experiment_by_name(PROMOTION_EXPERIMENT)
    exp_id = exp.experiment_id if exp else client.create_experiment(PROMOTION_EXPERIMENT)
    run = client.create_run(exp_id, run_name=f"promote-{name}-v{version}",
                            tags={"model": name, "version": str(version),
                                  "decision": decision["decision"],
                                  "forced": str(decision["forced"]).lower()})
    artifact = f"decisions/{name}-v{version}.json"
    client.log_text(run.info.run_id, text, artifact)
    client.set_terminated(run.info.run_id)
    summary = {k: decision[k] for k in ("decision", "forced", "reason", "who", "when",
                                        "champion_before")}
    summary["record"] = f"runs:/{run.info.run_id}/{artifact}"
    summary["gates"] = {g["name"]: g["passed"] for g in decision["gates"]}
    client.set_model_version_tag(name, version, DECISION_TAG, json.dumps(summary)[:TAG_VALUE_MAX])
    return run.info.run_id


def write_decision_file(decision: Mapping[str, Any], folder: Path) -> Path:
    """Also keep the decision locally (``reports/promotions/<name>-v<N>-<when>.json``)."""
    from pipeline.io import write_text_atomic

    stamp = decision["when"].replace(":", "").replace("-", "")
    path = folder / f"{decision['model']}-v{decision['version']}-{stamp}.json"
    return write_text_atomic(json.dumps(decision, indent=2, sort_keys=True), path)


def verify_version_files(name: str, alias_or_version: str, client: MlflowClient | None = None
                         ) -> str:
    """Check the served native files against the SHA-256 tags recorded at registration.

    The tags live in the registry database, the files in the artifact store: a file swapped in
    the artifact store after registration is caught here. Returns the version checked.

    Raises:
        ValueError: if a file is missing, extra or different.
    """
    client = client or MlflowClient()
    ref = str(alias_or_version)
    mv = (client.get_model_version(name, ref) if ref.isdigit()
          else client.get_model_version_by_alias(name, ref))
    expected = {k.removeprefix("sha256."): v for k, v in mv.tags.items()
                if k.startswith("sha256.")}
    if not expected:
        raise ValueError(f"{name} v{mv.version} has no sha256 tags; register it with "
                         "pipeline.registry.register_model")
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{name}/{mv.version}"))
    actual = hash_tree(local / "artifacts" / "native")
    if actual != expected:
        bad = sorted(set(actual) ^ set(expected) | {k for k in actual
                                                    if expected.get(k) != actual[k]})
        raise ValueError(f"{name} v{mv.version}: native files differ from their registered "
                         f"SHA-256: {bad}")
    return str(mv.version)

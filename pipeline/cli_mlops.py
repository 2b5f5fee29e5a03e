"""MLOps subcommands ``register``, ``promote`` and ``serve`` (wired in ``pipeline/cli.py``).

Plain functions with typer ``Annotated`` options: ``app.command()(promote)`` etc.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

log = logging.getLogger(__name__)
console = Console()

DEFAULT_DICTIONARY = Path("data/features/dictionary.json")
DECISIONS_DIR = Path("reports/promotions")

EndpointOpt = Annotated[str, typer.Option("--endpoint", help="response, pfs or os.")]
ParamsOpt = Annotated[Path, typer.Option("--params", help="The params.yaml to read.")]


def promote_params(params: Path) -> dict[str, Any]:
    """Gate settings: the keys ``registry.promote`` in params.yaml sets (the rest: defaults)."""
    from pipeline.params import load_params

    return load_params(params).registry.promote.given()


def promote(
    endpoint: EndpointOpt,
    version: Annotated[str | None, typer.Option(
        "--version", help="Registered version to promote (default: the @challenger).")] = None,
    data: Annotated[Path | None, typer.Option(
        "--data", help="Held-out Parquet with features, subgroups and outcomes [default: the "
        "holdout stage's cohort; with source: export, the patients train set aside].")
    ] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Promote even if a gate fails (needs --reason; recorded).")] = False,
    reason: Annotated[str | None, typer.Option(
        "--reason", help="Why the promotion is forced (recorded with the decision).")] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Gate the challenger against @champion on held-out data; move @champion only on pass."""
    from pipeline import tracking
    from pipeline.promote import PromotionError, gate_config_from
    from pipeline.promote import promote as run_promotion

    gate_params = promote_params(params)
    if data is None:
        from pipeline.params import load_params
        from pipeline.stages.holdout import holdout_file

        data = holdout_file(load_params(params))
    tracking.configure()
    try:
        outcome = run_promotion(endpoint, data, version=version, force=force, reason=reason,
                                config=gate_config_from(gate_params),
                                seed=int(gate_params.get("seed", 0)),
                                decisions_dir=DECISIONS_DIR, console=console)
    except (PromotionError, ValueError) as err:
        console.print(f"[bold red]error:[/] {err}")
        raise typer.Exit(2) from None
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def serve(
    endpoint: EndpointOpt,
    alias: Annotated[str, typer.Option("--alias", help="Registry alias to serve.")] = "champion",
    port: Annotated[int, typer.Option("--port", help="Local port.")] = 5001,
    host: Annotated[str, typer.Option(
        "--host", help="Bind address (keep 127.0.0.1; put TLS/auth in front to share).")
    ] = "127.0.0.1",
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Worker processes (default: serving.workers in params.yaml).")
    ] = None,
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Serve models:/net-<endpoint>@<alias> behind the strict request checks (uvicorn).

    This process becomes the server (exec): `kill PID` stops it and its workers.
    """
    from mlflow.exceptions import MlflowException

    from pipeline import tracking
    from pipeline.params import load_params
    from pipeline.registry import model_name, verify_version_files
    from pipeline.serving import serve_command, server_env

    cfg = load_params(params).serving
    tracking.configure()
    name = model_name(endpoint)
    try:
        version = verify_version_files(name, alias)
    except (ValueError, MlflowException) as err:
        console.print(f"[bold red]error:[/] refusing to serve: {err}")
        raise typer.Exit(2) from None
    console.print(f"native files of {name} v{version} match their SHA-256 tags")
    settings = serving_settings(name, str(version), alias, cfg)
    cmd = serve_command(port, host, workers or cfg.workers)
    env = server_env({"MLFLOW_TRACKING_URI": tracking.tracking_uri()}, settings)
    console.print(f"serving [bold]{name}@{alias}[/] (version {version}) on "
                  f"http://{host}:{port}/invocations")
    console.file.flush()
    os.execve(cmd[0], cmd, env)  # no child left behind: signals reach uvicorn itself


def serving_settings(name: str, version: str, alias: str, cfg: Any) -> Any:
    """``ServingSettings`` for ``name`` version ``version`` from the ``serving`` params."""
    from pipeline.serving_app import ServingSettings

    return ServingSettings(
        model_uri=f"models:/{name}/{version}", name=name, version=version, alias=alias,
        required=tuple(cfg.required), max_body_bytes=cfg.max_body_bytes,
        max_depth=cfg.max_depth, max_rows=cfg.max_rows, open_bound=cfg.open_bound,
        warn_missing_fraction=cfg.warn_missing_fraction, timeout_s=cfg.timeout_s)


def register(
    endpoint: EndpointOpt,
    model_dir: Annotated[Path, typer.Option(
        "--model-dir", help="Folder written by the estimator's save (native files).")],
    estimator: Annotated[str, typer.Option(
        "--estimator", help="Estimator class, e.g. models.survival.XGBCoxSurvival.")],
    features: Annotated[Path | None, typer.Option(
        "--features", help="JSON list of the inputs (default: the model's design.json).")
    ] = None,
    dictionary: Annotated[Path, typer.Option(
        "--dictionary", help="Feature dictionary JSON.")] = DEFAULT_DICTIONARY,
    metrics: Annotated[Path | None, typer.Option(
        "--metrics", help="JSON of this endpoint's validated metrics (with intervals).")
    ] = None,
    horizons: Annotated[str, typer.Option(
        "--horizons", help="Comma-separated survival horizons in months.")] = "12,24",
    params: ParamsOpt = Path("params.yaml"),
) -> None:
    """Register a saved model as the new @challenger of net-<endpoint> (with lineage tags)."""
    from pipeline import tracking
    from pipeline.params import load_params
    from pipeline.registry import register_model

    lineage = tracking.lineage_tags(params=load_params(params).model_dump(mode="json"))
    tracking.configure()
    mv = register_model(
        endpoint, model_dir, estimator,
        feature_names=json.loads(features.read_text(encoding="utf-8")) if features else None,
        dictionary=json.loads(dictionary.read_text(encoding="utf-8")),
        horizons_months=[float(h) for h in horizons.split(",") if h.strip()],
        metrics=json.loads(metrics.read_text(encoding="utf-8")) if metrics else None,
        lineage=lineage,
    )
    console.print(f"registered [bold]{mv.name}[/] version {mv.version} as @challenger")

"""Promotion: score challenger and champion on the same held-out data, run the gates, decide.

Moves ``@champion`` only when every gate passes (or with ``force`` and a recorded reason); a
failing gate changes nothing in the registry and returns a non-zero exit code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from rich.console import Console
from rich.table import Table
from sksurv.util import Surv

from models.promotion import GateConfig, GateResult, Predictions, run_gates
from pipeline import registry
from pipeline.serving import (
    MAX_ROWS,
    RESPONSE_OUTPUT,
    RISK_OUTPUT,
    as_model_inputs,
    survival_column,
)

log = logging.getLogger(__name__)

EXIT_OK, EXIT_GATE_FAILED = 0, 1


class PromotionError(RuntimeError):
    """A promotion that cannot even be evaluated (no challenger, missing data, ...)."""


@dataclass(frozen=True)
class PromotionOutcome:
    """What happened: the gates, the decision record, the exit code."""

    exit_code: int
    gates: list[GateResult]
    decision: dict[str, Any]
    aliases: dict[str, str | None] = field(default_factory=dict)


def gate_config_from(params: Mapping[str, Any] | None) -> GateConfig:
    """``GateConfig`` from the ``promote`` section of params.yaml (missing keys: defaults)."""
    p = dict(params or {})
    base = GateConfig()
    thresholds = p.get("nb_thresholds")
    if isinstance(thresholds, Mapping):  # {start, stop, step}
        thresholds = np.round(np.arange(thresholds["start"], thresholds["stop"] + 1e-9,
                                        thresholds["step"]), 6).tolist()
    return GateConfig(
        min_delta=float(p.get("min_delta", base.min_delta)),
        n_boot=int(p.get("n_boot", base.n_boot)),
        level=float(p.get("level", base.level)),
        slope_range=tuple(p.get("slope_range", base.slope_range)),
        citl_max=float(p.get("citl_max", base.citl_max)),
        horizon=float(p.get("horizon_months", base.horizon)),
        nb_thresholds=tuple(thresholds or base.nb_thresholds),
        nb_tolerance=float(p.get("nb_tolerance", base.nb_tolerance)),
        max_subgroup_loss=float(p.get("max_subgroup_loss", base.max_subgroup_loss)),
        min_subgroup_size=int(p.get("min_subgroup_size", base.min_subgroup_size)),
        subgroup_columns=tuple(p.get("subgroup_columns", base.subgroup_columns)),
        first_champion_min=float(p.get("first_champion_min", base.first_champion_min)),
        first_champion_subgroup_min=float(p.get("first_champion_subgroup_min",
                                                base.first_champion_subgroup_min)),
    )


def outcome_of(endpoint: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    """Held-out rows with a known outcome, and the outcome (0/1 vector or survival array)."""
    if endpoint == "response":
        if "response" not in frame.columns:
            raise PromotionError("held-out data lack the column 'response'")
        kept = frame.loc[frame["response"].notna()].reset_index(drop=True)
        return kept, kept["response"].to_numpy(float)
    time_col, event_col = f"{endpoint}_months", f"{endpoint}_event"
    missing = [c for c in (time_col, event_col) if c not in frame.columns]
    if missing:
        raise PromotionError(f"held-out data lack the columns {missing}")
    kept = frame.loc[frame[time_col].notna() & frame[event_col].notna()].reset_index(drop=True)
    return kept, Surv.from_arrays(kept[event_col].to_numpy(float) == 1.0,
                                  kept[time_col].to_numpy(float))


def score_version(model_uri: str, frame: pd.DataFrame, endpoint: str, horizon: float
                  ) -> Predictions:
    """Load a registered version (pyfunc, native files) and score the held-out rows."""
    import mlflow

    model = mlflow.pyfunc.load_model(model_uri)
    schema = model.metadata.get_input_schema()
    inputs = as_model_inputs(frame, schema)
    chunks = [model.predict(inputs.iloc[i:i + MAX_ROWS]) for i in range(0, len(frame), MAX_ROWS)]
    out = pd.concat(chunks, ignore_index=True)
    if endpoint == "response":
        p = out[RESPONSE_OUTPUT].to_numpy(float)
        return Predictions(score=p, prob=p)
    col = survival_column(horizon)
    if col not in out.columns:
        raise PromotionError(f"{model_uri} does not serve the {horizon:g}-month horizon")
    return Predictions(score=out[RISK_OUTPUT].to_numpy(float), prob=out[col].to_numpy(float))


def gates_table(name: str, challenger: str, champion: str | None, gates: list[GateResult]
                ) -> Table:
    """A rich table: one row per gate with its rule, figures and verdict."""
    title = f"{name}: challenger v{challenger} vs champion " + (f"v{champion}" if champion
                                                                  else "(none)")
    table = Table(title=title, show_lines=True)
    for col in ("gate", "rule", "figures", "result"):
        table.add_column(col)
    for g in gates:
        figs = "\n".join(f"{k} = {v:.4f}" if isinstance(v, float) else f"{k} = {v}"
                         for k, v in g.figures.items())
        table.add_row(g.name, g.threshold, figs,
                      "[green]PASS[/]" if g.passed else "[bold red]FAIL[/]")
    return table


def _held_out_summary(path: Path, frame: pd.DataFrame, y: Any) -> dict[str, Any]:
    from pipeline.tracking import file_md5

    arr = np.asarray(y)
    events = arr[arr.dtype.names[0]].sum() if arr.dtype.names else np.nansum(arr)
    return {"path": str(path), "md5": file_md5(path) if path.exists() else None,
            "n": int(len(frame)), "events": int(events)}


def promote(endpoint: str, data: Path, version: str | None = None, force: bool = False,
            reason: str | None = None, config: GateConfig | None = None, seed: int = 0,
            decisions_dir: Path | None = None, console: Console | None = None,
            client: MlflowClient | None = None) -> PromotionOutcome:
    """Run the promotion of ``version`` (default ``@challenger``) of ``net-<endpoint>``.

    Args:
        endpoint: ``response``, ``pfs`` or ``os``.
        data: held-out Parquet (features, subgroup columns and outcome columns).
        version: registered version to promote; default the ``@challenger``.
        force: promote even if a gate fails (needs ``reason``; recorded).
        reason: why the promotion is forced.
        config: gate thresholds.
        seed: bootstrap seed.
        decisions_dir: also write the decision JSON here (e.g. ``reports/promotions``).
        console: where the gate table is printed.
        client: MLflow client.
    """
    if force and not (reason and reason.strip()):
        raise PromotionError("--force needs --reason (the reason is recorded)")
    client = client or MlflowClient()
    console = console or Console()
    cfg = config or GateConfig()
    name = registry.model_name(endpoint)
    version = str(version) if version else registry.alias_version(name, registry.CHALLENGER,
                                                                   client)
    if version is None:
        raise PromotionError(f"{name} has no @challenger; give --version")
    champion = registry.alias_version(name, registry.CHAMPION, client)
    if champion == version:
        raise PromotionError(f"{name} version {version} is already @champion")
    if not Path(data).exists():
        raise PromotionError(f"held-out data not found: {data}")
    frame, y = outcome_of(endpoint, pd.read_parquet(data))
    kind = "response" if endpoint == "response" else "survival"
    chall = score_version(f"models:/{name}/{version}", frame, endpoint, cfg.horizon)
    champ = (score_version(f"models:/{name}/{champion}", frame, endpoint, cfg.horizon)
             if champion else None)
    groups = frame[[c for c in cfg.subgroup_columns if c in frame.columns]]
    gates = run_gates(kind, y, chall, champ, groups, cfg, seed=seed)
    console.print(gates_table(name, version, champion, gates))
    passed = all(g.passed for g in gates)
    promote_now = passed or force
    decision = registry.build_decision(name, version, champion, gates, promote_now,
                                       forced=force and not passed, reason=reason,
                                       held_out=_held_out_summary(Path(data), frame, y),
                                       config=cfg)
    if decisions_dir is not None:
        registry.write_decision_file(decision, Path(decisions_dir))
    if not promote_now:
        console.print(f"[bold red]not promoted[/]: {name} v{version} failed "
                      f"{[g.name for g in gates if not g.passed]}; registry unchanged")
        return PromotionOutcome(EXIT_GATE_FAILED, gates, decision)
    aliases = registry.apply_promotion(name, version, client)
    registry.record_decision(decision, client)
    forced = " (FORCED: " + str(reason) + ")" if decision["forced"] else ""
    console.print(f"[bold green]promoted[/]: {name} v{version} is @champion{forced}; "
                  f"@previous = {aliases['previous']}")
    return PromotionOutcome(EXIT_OK, gates, decision, aliases)

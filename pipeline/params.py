"""Typed ``params.yaml``: one pydantic model per stage section, so a typo fails at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimulateParams(_Section):
    n_patients: int = Field(1000, ge=10)
    mode: Literal["real_world", "rct"] = "real_world"
    population: str | None = None
    messy: bool = False


class FeaturesParams(_Section):
    lookback_days: dict[str, int | None] = Field(
        default_factory=lambda: {
            "labs": 90,
            "imaging": 120,
            "ct": 365,
            "pathology": None,
            "cga_series": 365,
        }
    )
    index_therapies: list[str] = Field(
        default_factory=lambda: ["prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy"]
    )
    index_line_policy: Literal["latest", "all"] = "latest"
    cga_uln: float = 100.0
    alp_uln: float = 120.0


class Params(BaseModel):
    """The whole ``params.yaml``. Sections not modelled yet are kept as plain dicts."""

    model_config = ConfigDict(extra="allow")

    seed: int = 42
    simulate: SimulateParams = Field(default_factory=SimulateParams)
    features: FeaturesParams = Field(default_factory=FeaturesParams)
    train: dict[str, Any] = Field(default_factory=dict)
    evaluate: dict[str, Any] = Field(default_factory=dict)
    explain: dict[str, Any] = Field(default_factory=dict)
    registry: dict[str, Any] = Field(default_factory=dict)


def load_params(path: Path | str = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; defaults when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return Params()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Params.model_validate(data)


def load_yaml(path: Path | str) -> dict[str, Any]:
    """Read a YAML mapping (used for the simulator's parameter file)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return data

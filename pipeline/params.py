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
    holdout_n_patients: int = Field(500, ge=10)  # independent cohort for the promotion gates
    holdout_seed_offset: int = 1000


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


class ModelSpec(_Section):
    params: dict[str, Any] = Field(default_factory=dict)
    space: dict[str, Any] = Field(default_factory=dict)
    tuning_overrides: dict[str, Any] = Field(default_factory=dict)
    inner_folds: int | None = Field(None, ge=1)
    n_trials: int | None = Field(None, ge=0)  # None: train.tuning.n_trials


class CVParams(_Section):
    n_splits: int = Field(5, ge=2)
    n_repeats: int = Field(3, ge=1)


class TuningParams(_Section):
    n_trials: int = Field(6, ge=0)
    timeout_s: float | None = 60.0
    validation_fraction: float = Field(0.25, gt=0, lt=1)
    inner_folds: int = Field(1, ge=1)


class TrainParams(_Section):
    endpoints: list[Literal["response", "pfs", "os"]] = Field(
        default_factory=lambda: ["response", "pfs", "os"]
    )
    cv: CVParams = Field(default_factory=CVParams)
    tuning: TuningParams = Field(default_factory=TuningParams)
    horizons_months: list[float] = Field(default_factory=lambda: [12.0, 24.0, 36.0])
    n_jobs: int = Field(2, ge=1)
    one_se: bool = False
    holdout_fraction: float = Field(0.0, ge=0, lt=1)
    candidates: dict[Literal["binary", "survival"], list[str]] = Field(
        default_factory=lambda: {
            "binary": ["logistic", "xgb"],
            "survival": ["penalised_cox", "xgb_cox", "xgb_aft"],
        }
    )
    models: dict[str, ModelSpec] = Field(default_factory=dict)


class BenefitParams(_Section):
    """Treatment-benefit evaluation (``evaluate.benefit``): pairs vs the reference therapy."""

    enabled: bool = True
    reference: str = "ssa"                       # every candidate therapy is compared with it
    horizons_months: list[float] = Field(default_factory=lambda: [12.0, 24.0])
    min_patients_per_arm: int = Field(30, ge=2)  # a pair needs this many on each therapy
    n_boot: int = Field(100, ge=0)               # bootstrap resamples of c-for-benefit etc.
    n_groups: int = Field(5, ge=2)               # calibration-for-benefit quantile groups
    matching: Literal["benefit", "covariates"] = "benefit"
    positivity_threshold: float = Field(0.05, gt=0, lt=1)
    propensity_clip: float = Field(0.01, gt=0, lt=0.5)
    randomised: bool = False                     # true: also the unadjusted randomised estimate
    plots: bool = True


class EvaluateParams(_Section):
    bootstrap_below_n: int = Field(500, ge=0)  # smaller cohorts: bootstrap optimism correction
    n_boot: int = Field(200, ge=1)
    calibration_horizons: list[float] = Field(default_factory=lambda: [12.0, 24.0])
    td_auc_times: list[float] = Field(default_factory=lambda: [12.0, 24.0, 36.0])
    dca_horizon: float = 12.0
    dca_thresholds: tuple[float, float, float] = (0.05, 0.6, 0.05)
    subgroup_columns: list[str] = Field(
        default_factory=lambda: ["primary_site", "who_grade", "therapy", "centre_id", "sex"]
    )
    subgroup_min_size: int = 30
    subgroup_n_boot: int = 100
    benefit: BenefitParams = Field(default_factory=BenefitParams)


class Params(BaseModel):
    """The whole ``params.yaml``. Sections not modelled yet are kept as plain dicts."""

    model_config = ConfigDict(extra="allow")

    seed: int = 42
    simulate: SimulateParams = Field(default_factory=SimulateParams)
    features: FeaturesParams = Field(default_factory=FeaturesParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
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

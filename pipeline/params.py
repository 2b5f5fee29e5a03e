"""Typed ``params.yaml``: one model per stage section, so a typo stops every command at start-up.

Every level of the tree is typed (pydantic models, dataclasses, typed dicts); a key the types do
not know is an error naming its dotted path and the nearest valid key. A missing params file is an
error too. The large-cohort settings are an overlay (``params-large.yaml``) holding only what
differs: ``NETOUTCOMES_PARAMS_OVERLAY=params-large.yaml`` makes the loader deep-merge it over the
base file (every overlay key must exist in the base). ``python -m pipeline.params --merged`` prints
the merged tree.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import inspect
import os
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import (
    Annotated,
    Any,
    Literal,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from typing_extensions import TypedDict, is_typeddict  # pydantic needs this TypedDict on 3.11

from clinical import ENDPOINTS
from pipeline.errors import InputError

OVERLAY_ENV = "NETOUTCOMES_PARAMS_OVERLAY"
DEFAULT_PARAMS = Path("params.yaml")


class ParamsError(InputError):
    """A params file that cannot be used (missing, not YAML, unknown key, wrong value)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimulateParams(_Section):
    n_patients: int = Field(1000, ge=10)
    mode: Literal["real_world", "rct"] = "real_world"
    population: str | None = None
    messy: bool = False
    world: Literal["published", "equipoise"] = "published"  # simulator world (features/simulate)
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


class SearchRange(TypedDict, total=False):
    """One dimension of a search space (:mod:`models.tuning`); stays a plain dict when loaded."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    type: Literal["int", "float", "categorical"]
    low: int | float
    high: int | float
    log: bool
    step: int | float
    choices: list[Any]


class ModelSpec(_Section):
    params: dict[str, Any] = Field(default_factory=dict)  # the estimator's own arguments
    space: dict[str, SearchRange | bool | int | float | str] = Field(default_factory=dict)
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

    def config(self):
        """The search budget as :class:`models.crossval.TuningConfig`."""
        from models.crossval import TuningConfig

        return TuningConfig(self.n_trials, self.timeout_s, self.validation_fraction,
                            self.inner_folds)


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

    @model_validator(mode="after")
    def _candidates_are_configured(self) -> TrainParams:
        if not self.models:  # nothing configured: the estimators' own defaults
            return self
        for kind, names in self.candidates.items():
            for name in names:
                if name not in self.models:
                    raise ValueError(
                        f"candidate '{name}' of train.candidates.{kind} has no entry in "
                        f"train.models{_did_you_mean(name, self.models)}")
        return self


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
    bootstrap_retune: bool = True  # repeat each model's tuning inside every resample
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


class ThresholdRange(_Section):
    start: float
    stop: float
    step: float = Field(gt=0)


class PromoteParams(_Section):
    """Gates of ``netoutcomes promote`` (unset: the defaults of ``models.promotion.GateConfig``)."""

    min_delta: float | None = None
    n_boot: int | None = Field(None, ge=1)
    level: float | None = Field(None, gt=0, lt=1)
    slope_range: tuple[float, float] | None = None
    citl_max: float | None = Field(None, ge=0)
    horizon_months: float | None = Field(None, gt=0)
    nb_thresholds: ThresholdRange | list[float] | None = None
    nb_tolerance: float | None = Field(None, ge=0)
    max_subgroup_loss: float | None = Field(None, ge=0)
    min_subgroup_size: int | None = Field(None, ge=1)
    subgroup_columns: list[str] | None = None
    first_champion_min: float | None = Field(None, ge=0, le=1)
    first_champion_subgroup_min: float | None = Field(None, ge=0, le=1)
    seed: int | None = None

    def given(self) -> dict[str, Any]:
        """The keys the params file sets (what ``pipeline.promote.gate_config_from`` reads)."""
        return self.model_dump(exclude_unset=True)


class RegistryParams(_Section):
    promote: PromoteParams = Field(default_factory=PromoteParams)


class RegisterParams(_Section):
    """The ``register`` stage: whether a run moves the registry's ``@challenger`` alias.

    ``auto``: ``dvc repro`` / ``make run`` / ``netoutcomes register`` register, a ``dvc exp run``
    does not (DVC marks its stage commands with ``DVC_EXP_NAME``); ``true``: always, experiments
    too; ``false``: never.
    """

    enabled: Literal["auto"] | bool = "auto"


class ServingParams(_Section):
    """``netoutcomes serve``: required inputs and request limits (``pipeline.serving_app``)."""

    required: list[str] = Field(default_factory=lambda: ["therapy"])
    max_body_bytes: int = Field(1_000_000, ge=1_000)
    max_depth: int = Field(6, ge=4, le=64)
    max_rows: int = Field(1000, ge=1)
    open_bound: float = Field(1.0e6, gt=0)
    warn_missing_fraction: float = Field(0.5, ge=0, le=1)
    timeout_s: float = Field(60.0, gt=0)
    workers: int = Field(1, ge=1, le=64)


@dataclass(frozen=True)
class ExplainParams:
    """Knobs of the ``explain`` stage (``params.yaml`` section ``explain``; these are the defaults).

    Attributes:
        horizons: Months with PFS/OS estimates in the patient report.
        n_patient_reports: Patient reports written by the DVC stage (random sample).
        top_k: Drivers shown per endpoint in a patient report.
        cohort_endpoint: Endpoint of the cohort importance, beeswarm and dependence plots.
        importance_top_k: Variables in the cohort importance chart.
        max_beeswarm_points: Patients drawn in the beeswarm.
        seed: Seed of the patient sample.
    """

    horizons: tuple[int, ...] = (12, 24)
    n_patient_reports: int = 20
    top_k: int = 5
    cohort_endpoint: str = "pfs"
    importance_top_k: int = 15
    max_beeswarm_points: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if not all(1 <= int(h) <= 60 for h in self.horizons):
            raise ValueError(f"explain.horizons must be months in 1..60, got {self.horizons}")
        if self.cohort_endpoint not in ENDPOINTS:
            raise ValueError(f"explain.cohort_endpoint must be one of {sorted(ENDPOINTS)}")
        if self.n_patient_reports < 0 or self.top_k < 1:
            raise ValueError("explain.n_patient_reports must be >= 0 and top_k >= 1")

    @classmethod
    def from_params(cls, section: Mapping[str, Any] | ExplainParams | None) -> ExplainParams:
        """Build from the ``explain`` params section; unknown keys are an error."""
        if isinstance(section, ExplainParams):
            return section
        section = dict(section or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(section) - set(known))
        if unknown:
            hints = "; ".join(f"'{k}'{_did_you_mean(k, known)}" for k in unknown)
            raise ValueError(f"unknown explain params: {hints}; known: {sorted(known)}")
        if "horizons" in section:
            section["horizons"] = tuple(int(h) for h in section["horizons"])
        return cls(**section)


# `register` is also the name of ABCMeta.register (pydantic models are ABCs); nothing calls that
# on Params, and the section keeps the name users type (`register.enabled`)
warnings.filterwarnings("ignore", message='Field name "register" in "Params" shadows',
                        category=UserWarning)


#: Knobs the top-level ``horizons_months`` sets (dotted path -> which horizons): all of them,
#: the first two (the reports' horizons) or the first (the landmark horizon).
DERIVED_HORIZONS: dict[str, str] = {
    "train.horizons_months": "all",
    "evaluate.td_auc_times": "all",
    "evaluate.calibration_horizons": "first two",
    "evaluate.benefit.horizons_months": "first two",
    "explain.horizons": "first two",
    "evaluate.dca_horizon": "first",
    "registry.promote.horizon_months": "first",
}


def _derive_horizons(data: dict[str, Any]) -> dict[str, Any]:
    """Copy of the raw tree with every derived horizon knob set from ``horizons_months``."""
    for dotted in DERIVED_HORIZONS:
        node: Any = data
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is not None:
            raise ValueError(f"'{dotted}' is set by the top-level 'horizons_months' (it uses "
                             f"{DERIVED_HORIZONS[dotted]}): remove it and set horizons_months")
    months = [float(h) for h in data.get("horizons_months", [12.0, 24.0, 36.0])]
    if not months or any(b <= a for a, b in zip(months, months[1:], strict=False)) or \
            months[0] <= 0:
        raise ValueError(f"horizons_months must be increasing positive months, got {months}")
    pick = {"all": months, "first two": months[:2], "first": months[0]}
    out = copy.deepcopy(data)
    out["horizons_months"] = months
    for dotted, which in DERIVED_HORIZONS.items():
        *parents, leaf = dotted.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        value = pick[which]
        node[leaf] = [int(h) for h in value] if dotted == "explain.horizons" else value
    return out


class Params(_Section):
    """The whole ``params.yaml``.

    ``horizons_months`` is the one list of survival horizons: the training grid and the
    time-dependent AUC use all of them, calibration, the benefit figures and the patient reports
    the first two, the decision curve and the promotion gates the first (``DERIVED_HORIZONS``).
    """

    seed: int = 42
    horizons_months: list[float] = Field(default_factory=lambda: [12.0, 24.0, 36.0])
    #: Where the raw export comes from: the simulator (synthetic default) or a centre's export
    #: folder (``export_dir``, the CSV tables of docs/data-contract.md; never overwritten).
    source: Literal["simulate", "export"] = "simulate"
    export_dir: str | None = None
    simulate: SimulateParams = Field(default_factory=SimulateParams)
    features: FeaturesParams = Field(default_factory=FeaturesParams)
    train: TrainParams = Field(default_factory=TrainParams)
    evaluate: EvaluateParams = Field(default_factory=EvaluateParams)
    explain: ExplainParams = Field(default_factory=ExplainParams)
    registry: RegistryParams = Field(default_factory=RegistryParams)
    register: RegisterParams = Field(default_factory=RegisterParams)
    serving: ServingParams = Field(default_factory=ServingParams)

    @model_validator(mode="before")
    @classmethod
    def _one_list_of_horizons(cls, data: Any) -> Any:
        return _derive_horizons(data) if isinstance(data, Mapping) else data

    @model_validator(mode="after")
    def _an_export_is_complete(self) -> Params:
        if self.source != "export":
            return self
        if not self.export_dir:
            raise ValueError("source: export needs export_dir (the folder of the CSV export)")
        if not self.train.holdout_fraction > 0:
            raise ValueError("source: export needs train.holdout_fraction > 0 (e.g. 0.2): the "
                             "promotion gates need patients the models never saw")
        return self


# --- unknown keys, from the types -----------------------------------------------------------


def _did_you_mean(key: str, valid: Sequence[str] | Mapping[str, Any], prefix: str = "") -> str:
    """`` (did you mean 'prefix.nearest'?)`` or nothing when no valid key is close."""
    close = difflib.get_close_matches(str(key), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean '{_join(prefix, close[0])}'?)" if close else ""


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _fields_of(tp: Any) -> dict[str, Any] | None:
    """Field name -> annotation of a structured type (model, dataclass, typed dict), else None."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {name: f.annotation for name, f in tp.model_fields.items()}
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or is_typeddict(tp)):
        hints = get_type_hints(tp)
        names = [f.name for f in fields(tp)] if dataclasses.is_dataclass(tp) else list(hints)
        return {name: hints[name] for name in names}
    return None


def _is_mapping_type(tp: Any) -> bool:
    return _fields_of(tp) is not None or get_origin(tp) in (dict, Mapping)


def _is_sequence_type(tp: Any) -> bool:
    return get_origin(tp) in (list, tuple, Sequence)


def _narrow(tp: Any, data: Any) -> Any:
    """The member of a union (or the type under ``Annotated``) that fits the shape of ``data``."""
    if get_origin(tp) is Annotated:
        return _narrow(get_args(tp)[0], data)
    if get_origin(tp) in (Union, types.UnionType):
        fits = _is_mapping_type if isinstance(data, Mapping) else _is_sequence_type
        return next((m for m in get_args(tp) if fits(m)), Any)
    return tp


def unknown_keys(data: Any, tp: Any = None, path: str = "") -> list[tuple[str, list[str]]]:
    """Every key of ``data`` its type does not declare: (dotted path, valid keys at that level)."""
    tp = _narrow(Params if tp is None else tp, data)
    found: list[tuple[str, list[str]]] = []
    declared = _fields_of(tp)
    if declared is not None and isinstance(data, Mapping):
        for key, value in data.items():
            if key in declared:
                found += unknown_keys(value, declared[key], _join(path, key))
            else:
                found.append((_join(path, key), list(declared)))
    elif get_origin(tp) in (dict, Mapping) and isinstance(data, Mapping):
        key_type, value_type = get_args(tp) or (Any, Any)
        allowed = list(get_args(key_type)) if get_origin(key_type) is Literal else None
        for key, value in data.items():
            if allowed is not None and key not in allowed:
                found.append((_join(path, key), allowed))
            else:
                found += unknown_keys(value, value_type, _join(path, key))
    elif _is_sequence_type(tp) and isinstance(data, list):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        for i, value in enumerate(data):
            element = args[0] if len(args) == 1 else (args[i] if i < len(args) else Any)
            found += unknown_keys(value, element, _join(path, i))
    return found


def _unknown_key_error(file: Path, found: list[tuple[str, list[str]]]) -> ParamsError:
    hints = []
    for dotted, valid in found:
        parent, _, key = dotted.rpartition(".")
        hints.append(f"'{dotted}'{_did_you_mean(key, valid, parent)}")
    dotted, valid = found[0]
    level = dotted.rpartition(".")[0] or "the top level"
    return ParamsError(
        file, problem=f"unknown key{'s' if len(found) > 1 else ''} {', '.join(hints)}",
        fix=f"correct or remove it; valid keys at {level}: {', '.join(map(str, valid))}")


def _clean_loc(tree: Any, loc: Sequence[Any]) -> tuple[str, bool]:
    """Dotted path of an error location; union member tags (not keys of the data) are dropped.

    Returns the path and whether the location ended on such a tag (a union member's own error).
    """
    dotted, node, tagged = "", tree, False
    for part in loc:
        present = (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node))
        tagged = not present
        if present:
            dotted, node = _join(dotted, part), node[part]
    return dotted, tagged


def _validation_error(file: Path | str, err: ValidationError, tree: Any) -> ParamsError:
    located = [(*_clean_loc(tree, e["loc"]), e["msg"].removeprefix("Value error, "))
               for e in err.errors()]
    deeper = {dotted for dotted, tagged, _ in located if not tagged}
    problems = []
    for dotted, tagged, message in located:
        if tagged and any(d.startswith(f"{dotted}.") for d in deeper):
            continue  # another member of the union fits the shape; its error is the one
        text = f"'{dotted}': {message}" if dotted else message
        if text not in problems:
            problems.append(text)
    return ParamsError(file, problem="; ".join(problems),
                       fix="correct the value (types and ranges: pipeline/params.py)")


def check_model_arguments(train: TrainParams, factories: Mapping[str, Callable[..., Any]],
                          file: Path | str = DEFAULT_PARAMS) -> None:
    """Model families and estimator arguments of ``train.models`` against the estimators.

    The tree leaves ``train.models.<family>.params`` open (its keys are the estimator's own
    arguments); the commands that build estimators (train, evaluate, evaluate-flat) call this
    with their factories so a misspelt family or argument stops them before any fit.

    Raises:
        ParamsError: naming the dotted key and the nearest valid one.
    """
    found: list[tuple[str, list[str]]] = []
    for family, spec in train.models.items():
        if family not in factories:
            found.append((f"train.models.{family}", list(factories)))
            continue
        accepted = list(inspect.signature(factories[family]).parameters)
        for part in ("params", "space", "tuning_overrides"):
            found += [(f"train.models.{family}.{part}.{key}", accepted)
                      for key in getattr(spec, part) if key not in accepted]
    if found:
        raise _unknown_key_error(Path(file), found)


# --- files, overlay, loader -----------------------------------------------------------------


def read_tree(path: Path | str) -> dict[str, Any]:
    """The YAML mapping of a params file; a missing file or a non-mapping is a ``ParamsError``."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(path, problem="params file not found",
                          fix="run from the project folder (where params.yaml is) or pass "
                              "--params PATH")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParamsError(path, problem=f"not valid YAML{where}",
                          fix="correct the YAML syntax") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(path, problem="expected a YAML mapping at the top level",
                          fix="write one `key: value` section per stage")
    return data


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any], *, overlay_file: Path | str,
               path: str = "") -> dict[str, Any]:
    """``overlay`` over ``base``: mappings merge key by key, anything else replaces.

    Every overlay key must exist in ``base`` (an overlay only changes values), else
    ``ParamsError`` naming the dotted key and the nearest base key.
    """
    out = dict(base)
    for key, value in overlay.items():
        dotted = _join(path, key)
        if key not in base:
            level = path or "the top level"
            raise ParamsError(overlay_file,
                              problem=f"key '{dotted}' is not in the base params"
                                      f"{_did_you_mean(key, base, path)}",
                              fix=f"an overlay only changes keys the base sets; keys at {level}: "
                                  f"{', '.join(map(str, base))}")
        both = isinstance(value, Mapping) and isinstance(base[key], Mapping)
        out[key] = (deep_merge(base[key], value, overlay_file=overlay_file, path=dotted)
                    if both else value)
    return out


def overlay_from_env() -> Path | None:
    """The overlay named by ``NETOUTCOMES_PARAMS_OVERLAY`` (relative: to the working folder)."""
    value = os.environ.get(OVERLAY_ENV, "").strip()
    return Path(value) if value else None


def _checked_tree(path: Path) -> dict[str, Any]:
    tree = read_tree(path)
    found = unknown_keys(tree)
    if found:
        raise _unknown_key_error(path, found)
    return tree


def merged_tree(path: Path | str = DEFAULT_PARAMS,
                overlay: Path | str | None = None) -> dict[str, Any]:
    """The base params tree with ``overlay`` (default: ``NETOUTCOMES_PARAMS_OVERLAY``) merged in."""
    path = Path(path)
    tree = _checked_tree(path)
    overlay = Path(overlay) if overlay is not None else overlay_from_env()
    if overlay is None:
        return tree
    return deep_merge(tree, _checked_tree(overlay), overlay_file=overlay)


def load_params(path: Path | str = DEFAULT_PARAMS, overlay: Path | str | None = None) -> Params:
    """Read, merge (overlay from the argument or ``NETOUTCOMES_PARAMS_OVERLAY``) and validate.

    Raises:
        ParamsError: missing file, invalid YAML, unknown key (with the nearest valid key) or an
            invalid value; the message names the file and the dotted key.
    """
    overlay = Path(overlay) if overlay is not None else overlay_from_env()
    tree = merged_tree(path, overlay)
    try:
        return Params.model_validate(tree)
    except ValidationError as err:
        named = f"{path} + {overlay}" if overlay else Path(path)
        raise _validation_error(named, err, tree) from None


def load_yaml(path: Path | str) -> dict[str, Any]:
    """Read a YAML mapping (used for the simulator's parameter file)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a YAML mapping at the top level")
    return data


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.params --merged``: print the merged, validated params tree."""
    ap = argparse.ArgumentParser(prog="python -m pipeline.params", description=main.__doc__)
    ap.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="the base params file")
    ap.add_argument("--overlay", type=Path, default=None,
                    help=f"overlay file (default: ${OVERLAY_ENV}, if set)")
    ap.add_argument("--merged", action="store_true", help="print the merged tree as YAML")
    args = ap.parse_args(argv)
    if not args.merged:
        ap.print_help()
        return 2
    try:
        tree = merged_tree(args.params, args.overlay)
        load_params(args.params, args.overlay)  # the merged tree must validate too
    except ParamsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump(tree, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Every DVC stage reads only what dvc.yaml declares and writes only its declared outputs.

A small project runs once; then each stage's command runs again in an empty sandbox that holds
only params.yaml and the stage's declared data dependencies (copied from the first run). A stage
that reads an undeclared file fails there; a file it writes outside its declared outputs is found
by listing the sandbox afterwards. The MLflow store is shared (it is external state by design).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DATA_ROOTS = ("data/", "reports/", "metrics/")
SMALL = {
    "seed": 5,
    "simulate": {"n_patients": 160, "messy": True, "holdout_n_patients": 80},
    "train": {"cv": {"n_splits": 2, "n_repeats": 1}, "tuning": {"n_trials": 1},
              "n_jobs": 1, "candidates": {"binary": ["logistic"], "survival": ["penalised_cox"]}},
    "evaluate": {"bootstrap_below_n": 0, "subgroup_n_boot": 5,
                 "benefit": {"min_patients_per_arm": 10, "n_boot": 5}},
    "explain": {"n_patient_reports": 1},
    "register": {"enabled": True},
}
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
#: Stages whose outputs are byte-identical given the same inputs (no clock, no registry counter).
DETERMINISTIC = ("validate", "features", "train", "evaluate")


def _params() -> dict:
    base = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in SMALL.items():
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, dict) and isinstance(base[section].get(key), dict):
                    base[section][key] = {**base[section][key], **value}
                else:
                    base[section][key] = value
        else:
            base[section] = values
    return base


def _data_paths(entries) -> list[str]:
    out = []
    for entry in entries or []:
        path = next(iter(entry)) if isinstance(entry, dict) else entry
        if str(path).startswith(DATA_ROOTS):
            out.append(str(path))
    return out


def _run_stage(name: str, cwd: Path, monkeypatch) -> None:
    args = shlex.split(STAGES[name]["cmd"])
    assert args[0] == "scripts/netoutcomes"
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(app, args[1:], catch_exceptions=True)
    if result.exit_code != 0:
        raise AssertionError(f"stage {name} failed in its sandbox: {result.output[-2000:]}"
                             f"{result.exception!r}")


@pytest.fixture(scope="module")
def full(tmp_path_factory, monkeypatch_module) -> Path:
    root = tmp_path_factory.mktemp("full")
    (root / "params.yaml").write_text(yaml.safe_dump(_params()))
    monkeypatch_module.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    for name in STAGES:  # dvc.yaml lists the stages in an order that runs
        _run_stage(name, root, monkeypatch_module)
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _sandbox(full: Path, tmp: Path, deps: list[str]) -> Path:
    box = tmp / "box"
    box.mkdir()
    shutil.copy2(full / "params.yaml", box / "params.yaml")
    for dep in deps:
        src = full / dep
        assert src.exists(), f"declared dependency {dep} was never written"
        if src.is_dir():
            shutil.copytree(src, box / dep)
        else:
            (box / dep).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, box / dep)
    return box


def _written(box: Path, before: set[Path]) -> list[str]:
    return sorted(str(p.relative_to(box)) for p in box.rglob("*")
                  if p.is_file() and p not in before)


@pytest.mark.parametrize("name", [n for n in STAGES if n != "simulate"])
def test_stage_reads_and_writes_only_what_dvc_yaml_declares(name, full, tmp_path,
                                                            monkeypatch):
    stage = STAGES[name]
    deps = _data_paths(stage.get("deps"))
    outs = _data_paths(stage.get("outs")) + _data_paths(stage.get("metrics"))
    box = _sandbox(full, tmp_path, deps)
    before = {p for p in box.rglob("*") if p.is_file()}
    _run_stage(name, box, monkeypatch)
    stray = [p for p in _written(box, before)
             if not any(p == o or p.startswith(o.rstrip("/") + "/") for o in outs)]
    assert not stray, f"{name} wrote undeclared files: {stray[:5]}"
    if name in DETERMINISTIC:  # the same declared inputs give the same bytes: none was missing
        for out in outs:
            for got in sorted((box / out).rglob("*")) if (box / out).is_dir() else [box / out]:
                if got.is_file():
                    ref = full / got.relative_to(box)
                    assert got.read_bytes() == ref.read_bytes(), f"{name}: {got.name} differs"


def test_the_sandbox_catches_an_undeclared_dependency(full, tmp_path, monkeypatch):
    """The check can fail: evaluate without its declared data/models cannot run."""
    deps = [d for d in _data_paths(STAGES["evaluate"]["deps"]) if d != "data/models"]
    box = _sandbox(full, tmp_path, deps)
    with pytest.raises(AssertionError, match="failed in its sandbox"):
        _run_stage("evaluate", box, monkeypatch)

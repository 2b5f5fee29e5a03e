"""Run ids stay out of DVC outputs: train tags its runs, evaluate and register find them by tag."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from pipeline import tracking
from pipeline.errors import InputError
from pipeline.stages import register


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    tracking.configure()
    yield tmp_path
    while mlflow.active_run():
        mlflow.end_run()


def _models(root: Path, content: str = "booster") -> Path:
    models = root / "data" / "models"
    for ep in ("response", "pfs"):
        (models / ep / "model").mkdir(parents=True, exist_ok=True)
        (models / ep / "model" / "model.json").write_text(f"{content}-{ep}")
        (models / ep / "selection.json").write_text('{"selected": "xgb"}')
    return models


def _train_runs(models: Path) -> tuple[str, dict[str, str]]:
    """What train does: a parent run, one nested run per endpoint, then record_runs."""
    with tracking.run("pipeline", parent=True) as parent:
        children = {}
        for ep in ("response", "pfs"):
            with tracking.run(ep) as child:
                mlflow.set_tag("endpoint", ep)
                children[ep] = child.info.run_id
    tracking.record_runs(models, parent.info.run_id, children)
    return parent.info.run_id, children


def test_runs_are_found_by_the_fingerprint_of_the_models(store):
    models = _models(store)
    parent, children = _train_runs(models)
    assert tracking.pipeline_runs(models) == {"parent_run_id": parent, "runs": children}
    assert not list(models.rglob("tracking.json"))  # nothing random written into the output


def test_other_models_have_no_runs(store):
    models = _models(store)
    _train_runs(models)
    (models / "pfs" / "model" / "model.json").write_text("a different booster")
    assert tracking.pipeline_runs(models) is None
    assert tracking.pipeline_runs(store / "nothing") is None


def test_identical_models_map_to_the_newest_run(store):
    models = _models(store)
    _train_runs(models)
    newest, children = _train_runs(models)  # a rerun writing the same bytes
    assert tracking.pipeline_runs(models)["parent_run_id"] == newest
    assert tracking.pipeline_runs(models)["runs"] == children


def test_fingerprint_depends_on_names_and_bytes(tmp_path):
    a = _models(tmp_path / "a")
    b = _models(tmp_path / "b")
    assert tracking.models_fingerprint(a) == tracking.models_fingerprint(b)
    (b / "pfs" / "selection.json").rename(b / "pfs" / "selected.json")
    assert tracking.models_fingerprint(a) != tracking.models_fingerprint(b)


def test_register_without_a_train_run_names_the_fix(store):
    models = _models(store)
    with pytest.raises(InputError, match="no MLflow run of train.*netoutcomes train"):
        register._train_runs(models)

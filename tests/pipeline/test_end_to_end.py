"""End to end through the real CLI on a small simulated cohort, MLflow in a temporary SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app

pytestmark = pytest.mark.slow

SMALL = {
    "seed": 7,
    "simulate": {"n_patients": 260, "mode": "real_world", "messy": True,
                 "holdout_n_patients": 120},
    "train": {
        "cv": {"n_splits": 3, "n_repeats": 1},
        "tuning": {"n_trials": 2, "timeout_s": 60},
        "n_jobs": 1,
        "candidates": {"binary": ["logistic", "xgb"], "survival": ["penalised_cox", "xgb_cox"]},
        "models": {
            # as params.yaml: therapy practically unpenalised, strong shrinkage elsewhere
            "logistic": {"params": {"C": 0.02, "treatment_weight": 5.0}, "inner_folds": 3,
                         "space": {"C": {"type": "float", "low": 0.003, "high": 0.3,
                                         "log": True}}},
            "xgb": {"params": {"n_estimators": 60, "calibration_folds": 2},
                    "tuning_overrides": {"calibration": "none"},
                    "space": {"max_depth": {"type": "int", "low": 2, "high": 3}}},
            "penalised_cox": {"params": {"alpha": 0.05},
                              "space": {"alpha": {"type": "float", "low": 0.02, "high": 0.3,
                                                  "log": True}}},
            "xgb_cox": {"params": {"n_estimators": 60},
                        "space": {"max_depth": {"type": "int", "low": 1, "high": 3}}},
        },
    },
    "evaluate": {"bootstrap_below_n": 0, "subgroup_n_boot": 10,
                 "benefit": {"min_patients_per_arm": 15, "n_boot": 20}},
}


def _invoke(runner: CliRunner, *args: str) -> None:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    (root / "params.yaml").write_text(yaml.safe_dump(SMALL))
    return root


def _run_pipeline(root: Path, monkeypatch, tag: str) -> Path:
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    runner = CliRunner()
    p = ["--params", "params.yaml"]
    _invoke(runner, "simulate", "--out", "data/raw", *p)
    _invoke(runner, "validate", "--raw", "data/raw", "--out", "data/validated", "--demo-key")
    _invoke(runner, "features", "--validated", "data/validated", "--out",
            "data/features/cohort.parquet", *p)
    _invoke(runner, "train", "--out", f"data/models_{tag}", *p)
    _invoke(runner, "evaluate", "--models", f"data/models_{tag}", "--out",
            f"reports/metrics_{tag}.json", "--plots", f"reports/plots_{tag}", *p)
    return root / "reports" / f"metrics_{tag}.json"


def test_pipeline_runs_end_to_end_and_is_reproducible(project, monkeypatch):
    first = _run_pipeline(project, monkeypatch, "a")
    metrics = json.loads(first.read_text())
    assert set(metrics) == {"response", "pfs", "os"}
    pfs = metrics["pfs"]
    for key in ("harrell_c", "uno_c", "ibs", "td_auc_12", "calibration_slope_12"):
        m = pfs["metrics"][key]
        assert m["lo"] <= m["mean"] <= m["hi"], key
    assert 0.6 < pfs["metrics"]["harrell_c"]["mean"] < 0.9
    assert 0.6 < pfs["oracle"]["ratio"]["mean"] < 1.1
    assert 0.5 < metrics["response"]["metrics"]["auc"]["mean"] < 0.9
    assert (project / "reports" / "plots_a" / "pfs" / "km_by_risk_tertile.png").stat().st_size > 5000
    assert (project / "data" / "models_a" / "pfs" / "model" / "model.json").exists()
    assert not list((project / "data" / "models_a").rglob("*.pkl"))
    _check_benefit(metrics, project / "data" / "models_a", project)
    # same data + params + seed: identical metrics (benefit figures included)
    second = _run_pipeline(project, monkeypatch, "b")
    assert first.read_text() == second.read_text()


def test_register_makes_challengers(project, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    if not (project / "data" / "models_a").exists():
        pytest.skip("pipeline fixture did not run")
    runner = CliRunner()
    _invoke(runner, "register", "--models", "data/models_a", "--metrics",
            "reports/metrics_a.json", "--plots", "reports/plots_a", "--out",
            "data/registry/registered.json", "--params", "params.yaml")
    registered = json.loads((project / "data/registry/registered.json").read_text())["registered"]
    assert {v["name"] for v in registered.values()} == {"net-response", "net-pfs", "net-os"}
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    mv = client.get_model_version_by_alias("net-pfs", "challenger")
    assert mv.tags.get("git_commit")
    with pytest.raises(Exception, match="(?i)alias|not found|champion"):
        client.get_model_version_by_alias("net-pfs", "champion")


def _check_benefit(metrics: dict, models: Path, project: Path) -> None:
    """The benefit block of every endpoint, the out-of-fold what-if and the MLflow metrics."""
    import pandas as pd
    from mlflow import MlflowClient

    assert set(metrics["pfs"]["benefit"]) == {"12m", "24m"}
    assert set(metrics["response"]["benefit"]) == {"response"}
    pfs = metrics["pfs"]["benefit"]["12m"]
    assert pfs["reference"] == "ssa"
    assert "prrt_lu177" in pfs["pairs"]
    c = pfs["pairs"]["prrt_lu177"]["c_for_benefit"]
    assert 0.0 <= c["lo"] <= c["hi"] <= 1.0
    effect = pfs["pairs"]["prrt_lu177"]["average_effect"]
    assert effect["model"]["hr"] < 1.0  # PRRT lengthens PFS in the simulated world
    assert effect["iptw_cox"]["hr"] < 1.0
    regret = pfs["truth"]["policy_regret"]
    assert regret["model"]["regret"] < regret["all_ssa"]["regret"]  # better than SSA for all
    assert min(r["regret"] for r in regret.values()) >= -1e-12  # nothing beats the oracle
    assert 0 <= pfs["truth"]["model_picks_truly_best"] <= 1
    what_if = pd.read_parquet(models / "pfs" / "cv_what_if.parquet")
    cv = pd.read_parquet(models / "pfs" / "cv_predictions.parquet")
    assert what_if.groupby("row")["therapy"].nunique().eq(5).all()
    assert what_if["row"].nunique() == cv.loc[cv["repeat"] == 0, "row"].nunique()
    from pipeline import tracking

    tracking.configure()  # MLFLOW_TRACKING_URI: the test's own store
    runs = tracking.pipeline_runs(models)["runs"]
    logged = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}").get_run(
        runs["pfs"]).data.metrics
    assert "benefit.12m.prrt_lu177.c_for_benefit" in logged
    assert "benefit.12m.regret.model" in logged

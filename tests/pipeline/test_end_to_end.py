"""End to end through the real CLI on a small simulated cohort, MLflow in a temporary SQLite."""

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
    km = project / "reports" / "plots_a" / "pfs" / "km_by_risk_tertile.png"
    assert km.stat().st_size > 5000
    assert (project / "data" / "models_a" / "pfs" / "model" / "model.json").exists()
    assert not list((project / "data" / "models_a").rglob("*.pkl"))
    _check_benefit(metrics, project / "data" / "models_a", project)
    # same data + params + seed: identical metrics (benefit figures included)
    second = _run_pipeline(project, monkeypatch, "b")
    assert first.read_text() == second.read_text()


def test_register_makes_challengers(project, monkeypatch):
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    if not (project / "data" / "models_a").exists():  # run alone: build what it registers
        _run_pipeline(project, monkeypatch, "a")
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


def test_behaviour_of_the_models_the_pipeline_trains(project, monkeypatch):
    """Clinical sanity of the trained models (not of hand-made ones): direction of the strongest
    known effects, row-order invariance and a favourable vs an unfavourable patient."""
    import numpy as np
    import pandas as pd

    from models.counterfactual import predict_what_if
    from pipeline.stages.explain import load_models

    monkeypatch.chdir(project)
    if not (project / "data" / "models_a" / "pfs" / "model").exists():
        _run_pipeline(project, monkeypatch, "a")
    models = load_models(project / "data" / "models_a")
    cohort = pd.read_parquet(project / "data" / "features" / "cohort.parquet")
    cohort = cohort.reset_index(drop=True)
    pfs, response = models["pfs"], models["response"]
    risk = pfs.model.predict_risk(pfs.design.transform(cohort))
    higher = cohort.assign(ki67_percent=np.clip(cohort["ki67_percent"] * 2 + 1, 0, 100))
    assert (pfs.model.predict_risk(pfs.design.transform(higher)) >= risk - 1e-9).all()
    prrt = cohort.assign(therapy="prrt_lu177")
    stronger = prrt.assign(sstr_tlr=cohort["sstr_tlr"] * 2)
    p = predict_what_if(response.model, response.design, prrt, ["prrt_lu177"])["response_prob"]
    q = predict_what_if(response.model, response.design, stronger, ["prrt_lu177"])["response_prob"]
    ok = p.notna() & q.notna()
    assert (q[ok].to_numpy() >= p[ok].to_numpy() - 1e-6).all()
    order = np.random.default_rng(0).permutation(len(cohort))
    shuffled = pfs.model.predict_risk(pfs.design.transform(cohort.iloc[order]))
    np.testing.assert_allclose(shuffled, risk[order])
    base = cohort.iloc[[0]]
    good = base.assign(ki67_percent=1.5, ecog=0, hepatic_tumour_burden_pct=2.0, alp_x_uln=0.7,
                       albumin=44.0)
    bad = base.assign(ki67_percent=40.0, ecog=2, hepatic_tumour_burden_pct=70.0, alp_x_uln=3.0,
                      albumin=30.0)
    for em in (pfs, models["os"]):
        r_good, r_bad = (em.model.predict_risk(em.design.transform(f))[0] for f in (good, bad))
        assert r_bad > r_good + 0.5, em.endpoint


def test_no_raw_identifier_in_any_artifact(project, monkeypatch):
    """The audit's grep, kept as a test: after a full run, no patient id, name or MRN of the raw
    export appears in any file but data/raw and the simulator's truth (kept apart by design)."""
    import pandas as pd

    monkeypatch.chdir(project)
    if not (project / "reports" / "metrics_a.json").exists():
        _run_pipeline(project, monkeypatch, "a")
    raw = pd.read_csv(project / "data" / "raw" / "patients.csv", dtype=str)
    secrets = set(raw["patient_id"].dropna())
    for column in ("patient_name", "mrn"):
        if column in raw.columns:
            secrets |= set(raw[column].dropna())
    secrets = {s for s in secrets if len(s) >= 6}
    assert len(secrets) > 200
    allowed = {project / "data" / "raw", project / "data" / "truth"}
    leaks = []
    for path in project.rglob("*"):
        if not path.is_file() or any(a in path.parents for a in allowed):
            continue
        text = path.read_bytes().decode("latin-1")
        hits = [s for s in secrets if s in text]
        if hits:
            leaks.append((str(path.relative_to(project)), len(hits)))
    assert not leaks, leaks[:10]

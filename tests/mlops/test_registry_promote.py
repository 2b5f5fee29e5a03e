"""Register -> @challenger, gated promotion -> @champion/@previous, decision records."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlops_helpers import DICTIONARY, FEATURES, save_booster_model
from rich.console import Console

from models.promotion import GateConfig
from pipeline import registry
from pipeline.promote import EXIT_GATE_FAILED, EXIT_OK, PromotionError, gate_config_from, promote
from pipeline.serving import as_model_inputs

CFG = GateConfig(n_boot=100)
LINEAGE = {"git_commit": "abc123", "dvc_data_hash": "d41d8cd9", "params_hash": "feedbeef"}
METRICS = {"auc": {"mean": 0.71, "lo": 0.66, "hi": 0.76}}


def _register(tmp_path, cohort, kind="response", tag="good", **kw):
    endpoint = "response" if kind == "response" else "pfs"
    rounds = 30 if kind == "response" else 100
    folder = save_booster_model(tmp_path / f"native-{endpoint}-{tag}", kind, cohort,
                                rounds=rounds, **kw)
    return registry.register_model(endpoint, folder, "xgboost.Booster", FEATURES, DICTIONARY,
                                   metrics=METRICS, lineage=LINEAGE, required_fields=())


@pytest.fixture
def holdout_file(tmp_path, holdout):
    path = tmp_path / "holdout.parquet"
    holdout.to_parquet(path)
    return path


def _quiet():
    return Console(file=open("/dev/null", "w"), width=200)  # noqa: SIM115


def test_register_sets_challenger_lineage_tags_and_hashes(tracking_store, tmp_path, cohort):
    mv = _register(tmp_path, cohort)
    client = MlflowClient()
    assert mv.name == "net-response"
    assert str(mv.version) == "1"
    assert registry.alias_version("net-response", "challenger") == "1"
    assert registry.alias_version("net-response", "champion") is None
    assert mv.tags["git_commit"] == "abc123"
    assert mv.tags["params_hash"] == "feedbeef"
    assert mv.tags["metric.auc.lo"] == "0.66"
    assert mv.tags["estimator"] == "xgboost.Booster"
    assert len(mv.tags["sha256.model.ubj"]) == 64
    model = mlflow.pyfunc.load_model("models:/net-response@challenger")
    ints = pd.DataFrame({"age_at_index": [63], "ki67_percent": [12], "krenning_score": [3]})
    schema = model.metadata.get_input_schema()
    assert [c.type.name for c in schema.inputs] == ["double"] * 3  # typed, not `any`
    out = model.predict(as_model_inputs(ints, schema))
    assert list(out.columns) == ["p_response"]
    assert 0 < out["p_response"].iloc[0] < 1
    local = Path(mlflow.artifacts.download_artifacts("models:/net-response/1"))
    example = json.loads((local / "input_example.json").read_text())
    row = dict(zip(example["columns"], example["data"][0], strict=True))
    assert row == {"age_at_index": 60.0, "ki67_percent": 50.0, "krenning_score": 2.0}
    assert client.get_registered_model("net-response").name == "net-response"


def test_survival_model_serves_horizons_and_shap(tracking_store, tmp_path, cohort, holdout):
    _register(tmp_path, cohort, kind="survival")
    model = mlflow.pyfunc.load_model("models:/net-pfs@challenger")
    out = model.predict(holdout[FEATURES].head(5), params={"explain": True})
    assert {"risk_score", "survival_12m", "survival_24m", "shap_base"} <= set(out.columns)
    assert (out["survival_12m"] >= out["survival_24m"]).all()
    shap_sum = out[[f"shap_{f}" for f in FEATURES] + ["shap_base"]].sum(axis=1)
    np.testing.assert_allclose(shap_sum, out["risk_score"], atol=1e-5)


def test_promotion_path_pass_fail_force(tracking_store, tmp_path, cohort, holdout_file):
    client = MlflowClient()
    _register(tmp_path, cohort, tag="v1")
    first = promote("response", holdout_file, config=CFG, console=_quiet(),
                    decisions_dir=tmp_path / "decisions")
    assert first.exit_code == EXIT_OK, [(g.name, g.figures) for g in first.gates]
    assert registry.alias_version("net-response", "champion") == "1"
    assert registry.alias_version("net-response", "challenger") is None
    tag = json.loads(client.get_model_version("net-response", "1").tags[registry.DECISION_TAG])
    assert tag["decision"] == "promoted"
    assert tag["forced"] is False
    assert tag["who"]

    _register(tmp_path, cohort, tag="v2", noise=1.5)
    failed = promote("response", holdout_file, config=CFG, console=_quiet(),
                     decisions_dir=tmp_path / "decisions")
    assert failed.exit_code == EXIT_GATE_FAILED
    assert not all(g.passed for g in failed.gates)
    assert registry.alias_version("net-response", "champion") == "1"
    assert registry.alias_version("net-response", "challenger") == "2"
    assert registry.DECISION_TAG not in client.get_model_version("net-response", "2").tags
    rejected = [json.loads(p.read_text()) for p in (tmp_path / "decisions").glob("*-v2-*")]
    assert rejected
    assert rejected[0]["decision"] == "rejected"

    with pytest.raises(PromotionError, match="--reason"):
        promote("response", holdout_file, force=True, config=CFG, console=_quiet())
    forced = promote("response", holdout_file, force=True, reason="clinical sign-off #42",
                     config=CFG, console=_quiet())
    assert forced.exit_code == EXIT_OK
    assert forced.decision["forced"] is True
    assert registry.alias_version("net-response", "champion") == "2"
    assert registry.alias_version("net-response", "previous") == "1"
    tag = json.loads(client.get_model_version("net-response", "2").tags[registry.DECISION_TAG])
    assert tag["forced"] is True
    assert tag["reason"] == "clinical sign-off #42"
    record = json.loads(open(mlflow.artifacts.download_artifacts(tag["record"])).read())
    assert record["gate_config"]["min_delta"] == -0.01
    assert record["who"] == registry.current_user()
    assert record["champion_before"] == "1"
    assert record["held_out"]["n"] == 500
    disc = next(g for g in record["gates"] if g["name"] == "discrimination")
    assert disc["figures"]["champion_auc"] > disc["figures"]["challenger_auc"]


def test_promote_survival_against_champion(tracking_store, tmp_path, cohort, holdout_file):
    _register(tmp_path, cohort, kind="survival", tag="a")
    assert promote("pfs", holdout_file, config=CFG, console=_quiet()).exit_code == EXIT_OK
    _register(tmp_path, cohort, kind="survival", tag="b", seed=1)
    second = promote("pfs", holdout_file, config=CFG, console=_quiet())
    assert second.exit_code == EXIT_OK, [(g.name, g.figures) for g in second.gates]
    assert [g.name for g in second.gates] == ["discrimination", "calibration", "net_benefit",
                                              "subgroups"]
    assert registry.alias_version("net-pfs", "champion") == "2"
    assert registry.alias_version("net-pfs", "previous") == "1"


def test_promote_refuses_without_challenger_or_data(tracking_store, tmp_path, cohort):
    with pytest.raises(Exception, match="net-os"):
        promote("os", tmp_path / "none.parquet", console=_quiet())
    _register(tmp_path, cohort, tag="x")
    with pytest.raises(PromotionError, match="held-out data not found"):
        promote("response", tmp_path / "none.parquet", console=_quiet())


def test_gate_config_from_params():
    cfg = gate_config_from({"min_delta": -0.02, "nb_thresholds": {"start": 0.1, "stop": 0.3,
                                                                   "step": 0.1},
                            "slope_range": [0.7, 1.3], "horizon_months": 24})
    assert cfg.min_delta == -0.02
    assert cfg.nb_thresholds == (0.1, 0.2, 0.3)
    assert cfg.slope_range == (0.7, 1.3)
    assert cfg.horizon == 24.0
    assert cfg.citl_max == 0.1


def test_model_name_rejects_unknown_endpoint():
    with pytest.raises(ValueError, match="endpoint must be one of"):
        registry.model_name("recist")


def test_registered_version_carries_its_model_card(tracking_store, tmp_path, cohort):
    folder = save_booster_model(tmp_path / "carded", "response", cohort, rounds=30)
    card = {"endpoint": "response", "eligibility": "Adults starting an index line",
            "metrics": {"auc": {"mean": 0.7012, "lo": 0.6543, "hi": 0.7489}}}
    mv = registry.register_model("response", folder, "xgboost.Booster", FEATURES, DICTIONARY,
                                 card_metadata=card, required_fields=())
    path = mv.tags["model_card"]
    assert path == "model_card/net-response-v1/model_card.md"
    local = Path(mlflow.artifacts.download_artifacts(run_id=mv.run_id, artifact_path=path))
    text = local.read_text()
    assert "# Model card: net-response version 1" in text
    assert "| auc | 0.701 | 0.654 | 0.749 |" in text
    page = mlflow.artifacts.download_artifacts(run_id=mv.run_id,
                                               artifact_path=path.replace(".md", ".html"))
    assert Path(page).read_text().startswith("<!doctype html>")
    assert "Adults starting an index line" in mv.description

"""The register / promote / serve commands as the lead wires them (`app.command()(fn)`)."""

from __future__ import annotations

import json
import sys

import pytest
import typer
from mlops_helpers import DICTIONARY, FEATURES, save_booster_model
from typer.testing import CliRunner

from pipeline import cli_mlops, registry
from pipeline.params import ParamsError


@pytest.fixture
def app():
    app = typer.Typer()
    for fn in (cli_mlops.register, cli_mlops.promote, cli_mlops.serve):
        app.command()(fn)
    return app


def _register_args(tmp_path, folder):
    (tmp_path / "features.json").write_text(json.dumps(FEATURES))
    (tmp_path / "dictionary.json").write_text(json.dumps(DICTIONARY))
    (tmp_path / "params.yaml").write_text(
        "registry:\n  promote:\n    n_boot: 50\n    min_delta: -0.01\n")
    return ["register", "--endpoint", "response", "--model-dir", str(folder),
            "--estimator", "xgboost.Booster", "--features", str(tmp_path / "features.json"),
            "--dictionary", str(tmp_path / "dictionary.json"),
            "--params", str(tmp_path / "params.yaml")]


def test_register_then_promote_then_failing_gate(app, tracking_store, tmp_path, cohort,
                                                 holdout):
    runner = CliRunner()
    holdout.to_parquet(tmp_path / "holdout.parquet")
    promote_args = ["promote", "--endpoint", "response", "--data",
                    str(tmp_path / "holdout.parquet"), "--params", str(tmp_path / "params.yaml")]
    good = save_booster_model(tmp_path / "good", "response", cohort, rounds=30)
    result = runner.invoke(app, _register_args(tmp_path, good))
    assert result.exit_code == 0, result.output
    assert "version 1 as @challenger" in result.output
    result = runner.invoke(app, promote_args)
    assert result.exit_code == 0, result.output
    assert "promoted" in result.output
    assert "PASS" in result.output
    assert registry.alias_version("net-response", "champion") == "1"

    bad = save_booster_model(tmp_path / "bad", "response", cohort, rounds=30, noise=1.5)
    assert runner.invoke(app, _register_args(tmp_path, bad)).exit_code == 0
    result = runner.invoke(app, promote_args)
    words = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "FAIL" in words
    assert "registry unchanged" in words
    assert registry.alias_version("net-response", "champion") == "1"
    assert list((tmp_path / "reports" / "promotions").glob("net-response-v2-*.json"))
    result = runner.invoke(app, [*promote_args, "--force"])
    assert result.exit_code == 2
    assert "--reason" in " ".join(result.output.split())


def test_serve_checks_hashes_then_execs_the_server(app, monkeypatch, tracking_store,
                                                  tmp_path, cohort):
    seen = {}

    def fake_exec(path, cmd, env):
        seen["path"], seen["cmd"], seen["env"] = path, cmd, env

    monkeypatch.setattr(cli_mlops.os, "execve", fake_exec)
    folder = save_booster_model(tmp_path / "native", "survival", cohort, rounds=20)
    registry.register_model("pfs", folder, "xgboost.Booster", FEATURES, DICTIONARY,
                            required_fields=())
    (tmp_path / "params.yaml").write_text("serving:\n  required: [age_at_index]\n"
                                          "  workers: 2\n")
    result = CliRunner().invoke(app, ["serve", "--endpoint", "pfs", "--alias", "challenger",
                                      "--port", "5077"])
    assert result.exit_code == 0, result.output
    assert seen["path"] == seen["cmd"][0] == sys.executable
    assert seen["cmd"][1:5] == ["-m", "uvicorn", "--factory",
                                "pipeline.serving_app:create_app_from_env"]
    assert seen["cmd"][seen["cmd"].index("--port") + 1] == "5077"
    assert seen["cmd"][seen["cmd"].index("--workers") + 1] == "2"
    assert seen["env"]["MLFLOW_TRACKING_URI"] == tracking_store
    settings = json.loads(seen["env"]["NETOUTCOMES_SERVING"])
    assert settings["model_uri"] == "models:/net-pfs/1"  # the alias pinned to its version
    assert (settings["name"], settings["version"], settings["alias"]) == ("net-pfs", "1",
                                                                          "challenger")
    assert settings["required"] == ["age_at_index"]

    seen.clear()
    stored = next((tmp_path / "mlartifacts").rglob("model.ubj"))
    stored.write_bytes(stored.read_bytes() + b"tampered")
    result = CliRunner().invoke(app, ["serve", "--endpoint", "pfs", "--alias", "challenger"])
    assert result.exit_code == 2
    assert "refusing to serve" in result.output
    assert "model.ubj" in result.output
    assert not seen


def test_gate_params_read_from_registry_section(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("registry:\n  promote:\n    min_delta: -0.02\n    n_boot: 99\n")
    assert cli_mlops.promote_params(path) == {"min_delta": -0.02, "n_boot": 99,
                                              "horizon_months": 12.0}  # horizons_months[0]
    with pytest.raises(ParamsError, match="absent.yaml: params file not found"):
        cli_mlops.promote_params(tmp_path / "absent.yaml")

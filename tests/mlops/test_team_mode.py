"""Team mode: a shared `mlflow server --app-name basic-auth`; only MLOps can move @champion."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException
from mlops_helpers import DICTIONARY, FEATURES, save_booster_model, simulate_cohort
from rich.console import Console

from models.promotion import GateConfig
from pipeline import registry, serving
from pipeline.promote import EXIT_OK, promote

pytestmark = pytest.mark.slow

ADMIN_PW = secrets.token_urlsafe(16)
USERS = {"mlops": secrets.token_urlsafe(16), "reader": secrets.token_urlsafe(16)}


def _auth_server(tmp: Path, empty_store_db: Path, port: int) -> subprocess.Popen:
    shutil.copyfile(empty_store_db, tmp / "mlflow.db")
    ini = tmp / "basic_auth.ini"
    ini.write_text("[mlflow]\ndefault_permission = READ\n"
                   f"database_uri = sqlite:///{tmp / 'basic_auth.db'}\n"
                   "admin_username = admin\n"
                   "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                   "auth_cache_ttl_seconds = 60\n",
                   encoding="utf-8")
    env = serving.server_env({
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(32),
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PW,
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
    })
    cmd = [str(Path(sys.executable).with_name("mlflow")), "server", "--app-name", "basic-auth",
           "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
           "--artifacts-destination", str(tmp / "mlartifacts"),
           "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = open(tmp / "server.log", "ab")  # noqa: SIM115
    return subprocess.Popen(cmd, env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _as(monkeypatch, user: str) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PW if user == "admin" else USERS[user])


def test_mlops_promotes_reader_gets_403(tmp_path, monkeypatch, empty_store_db, cohort):
    import mlflow
    from mlflow.server import get_app_client

    port = serving.free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _auth_server(tmp_path, empty_store_db, port)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    try:
        serving.wait_ready(f"{url}/health", proc, timeout_s=120)
        assert (tmp_path / "basic_auth.db").exists()
        status, _ = serving.post_json(f"{url}/api/2.0/mlflow/experiments/search",
                                      {"max_results": 1})
        assert status == 401
        _as(monkeypatch, "admin")
        auth = get_app_client("basic-auth", tracking_uri=url)
        for user, pw in USERS.items():
            auth.create_user(username=user, password=pw)
        MlflowClient().create_registered_model("net-response")
        auth.grant_user_permission(username="mlops", resource_type="registered_model",
                                   resource_id="net-response", permission="MANAGE")

        _as(monkeypatch, "mlops")
        from pipeline import tracking

        tracking.configure("team-mode")
        holdout = tmp_path / "holdout.parquet"
        simulate_cohort(500, 2).to_parquet(holdout)
        for tag in ("v1", "v2"):
            folder = save_booster_model(tmp_path / tag, "response", cohort, rounds=30,
                                        seed=int(tag[1]))
            registry.register_model("response", folder, "xgboost.Booster", FEATURES,
                                    DICTIONARY, required_fields=())
            if tag == "v1":
                quiet = Console(file=open(os.devnull, "w"))  # noqa: SIM115
                outcome = promote("response", holdout, config=GateConfig(n_boot=50),
                                  console=quiet)
                assert outcome.exit_code == EXIT_OK
                assert outcome.decision["who"] == "mlops"
        assert registry.alias_version("net-response", "champion") == "1"
        assert registry.alias_version("net-response", "challenger") == "2"

        _as(monkeypatch, "reader")
        client = MlflowClient()
        assert client.get_model_version_by_alias("net-response", "champion").version in ("1", 1)
        with pytest.raises((MlflowException, RestException)) as err:
            client.set_registered_model_alias("net-response", "champion", "2")
        assert "PERMISSION_DENIED" in str(err.value) or "403" in str(err.value)
        with pytest.raises((MlflowException, RestException)):
            registry.apply_promotion("net-response", "2", client)
        assert registry.alias_version("net-response", "champion") == "1"
        assert registry.alias_version("net-response", "previous") is None
    finally:
        serving.stop_server(proc)
        mlflow.set_tracking_uri(None)

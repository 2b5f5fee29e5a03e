"""Pseudonym keys: no default key, no short key, the demo key for the simulator's export only,
the key never logged or written, never passed to child processes."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pandas as pd
import pytest
from contract_fixtures import KEY, make_raw, write_raw
from typer.testing import CliRunner

from features.simulate.export import MANIFEST, check_manifest
from pipeline.cli import app
from pipeline.errors import InputError
from pipeline.secrets import (
    DEMO_KEY,
    KEY_ENV,
    KEY_FILE_ENV,
    child_env,
    load_pseudonym_key,
)
from pipeline.stages import simulate as simulate_stage
from pipeline.stages.validate import run

SECRET_HEX = "3f" * 32  # a 32-byte key as 64 hex digits


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """A small simulated export (with the simulator's manifest.json)."""
    root = tmp_path_factory.mktemp("simkeys")
    simulate_stage.run(root / "raw", root / "truth", n_patients=40, seed=3)
    return root / "raw"


@pytest.fixture
def no_key_env(monkeypatch):
    for name in (KEY_ENV, KEY_FILE_ENV):
        monkeypatch.delenv(name, raising=False)


def _validate_cli(raw_dir: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["validate", "--raw", str(raw_dir), "--out", str(out), *extra])


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


# --------------------------------------------------------------------------- no default key


def test_no_key_and_no_demo_flag_is_a_clear_error():
    with pytest.raises(InputError) as info:
        load_pseudonym_key({})
    text = str(info.value)
    assert "no pseudonym key is set" in text
    assert "secrets.token_hex(32)" in text
    for word in (KEY_ENV, KEY_FILE_ENV, "--demo-key"):
        assert word in text


def test_cli_without_key_stops_with_exit_2_and_says_how_to_make_one(raw_dir, tmp_path,
                                                                     no_key_env):
    res = _validate_cli(raw_dir, tmp_path / "v")
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    flat = " ".join(res.output.split())
    assert "no pseudonym key is set" in flat
    assert "secrets.token_hex(32)" in flat
    assert KEY_ENV in flat
    assert not (tmp_path / "v").exists()


# --------------------------------------------------------------------------- short keys


@pytest.mark.parametrize("text", ["q7", "k" * 31, "ab" * 16, "ab" * 31])
def test_keys_shorter_than_32_bytes_are_refused(text, tmp_path):
    with pytest.raises(InputError, match="too short") as info:
        load_pseudonym_key({KEY_ENV: text})
    assert text not in str(info.value)  # the message names the length, never the key
    key_file = tmp_path / "key.txt"
    key_file.write_text(text + "\n")
    with pytest.raises(InputError, match="too short"):
        load_pseudonym_key({KEY_FILE_ENV: str(key_file)})


def test_32_byte_keys_are_accepted():
    assert load_pseudonym_key({KEY_ENV: SECRET_HEX}) == (bytes.fromhex(SECRET_HEX), False)
    assert load_pseudonym_key({KEY_ENV: "p" * 32}) == (b"p" * 32, False)


def test_stage_refuses_a_short_key(raw_dir, tmp_path):
    with pytest.raises(InputError, match="too short"):
        run(raw_dir, tmp_path / "v", tmp_path / "q", tmp_path / "r.json", b"short",
            demo_key=False)
    assert not (tmp_path / "v").exists()


# --------------------------------------------------------------------------- demo key


def test_env_key_wins_over_demo_flag():
    assert load_pseudonym_key({KEY_ENV: SECRET_HEX}, demo=True)[1] is False
    assert load_pseudonym_key({KEY_ENV: DEMO_KEY.decode()}) == (DEMO_KEY, True)


def test_demo_key_refused_for_an_export_that_is_not_simulated(raw_dir, tmp_path):
    with pytest.raises(InputError, match="demo pseudonym key is refused") as info:
        run(raw_dir, tmp_path / "v", tmp_path / "q", tmp_path / "r.json", DEMO_KEY,
            demo_key=True)
    assert MANIFEST in str(info.value)
    with pytest.raises(InputError, match="demo pseudonym key is refused"):  # key equal to demo
        run(raw_dir, tmp_path / "v", tmp_path / "q", tmp_path / "r.json", DEMO_KEY,
            demo_key=False)
    assert not (tmp_path / "v").exists()


def test_cli_demo_flag_refused_for_a_real_export(raw_dir, tmp_path, no_key_env):
    res = _validate_cli(raw_dir, tmp_path / "v", "--demo-key")
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert "demo pseudonym key is refused" in " ".join(res.output.split())


def test_demo_key_refused_once_a_simulated_file_is_changed(simulated, tmp_path):
    raw = _copy(simulated, tmp_path / "raw")
    assert check_manifest(raw).synthetic
    labs = raw / "labs.csv"
    labs.write_bytes(labs.read_bytes().replace(b"ng/mL", b"ng/ml", 1))
    check = check_manifest(raw)
    assert not check.synthetic
    assert "labs.csv" in check.problem
    with pytest.raises(InputError, match="labs.csv differs"):
        run(raw, tmp_path / "v", tmp_path / "q", tmp_path / "r.json", DEMO_KEY, demo_key=True)
    (raw / MANIFEST).write_text("{not json")
    assert "cannot be read" in check_manifest(raw).problem


def test_demo_run_on_the_simulated_export_is_marked_everywhere(simulated, tmp_path,
                                                               no_key_env):
    out = tmp_path / "validated"
    res = _validate_cli(simulated, out, "--demo-key")
    assert res.exit_code == 0, res.output
    assert "DEMO pseudonym key" in " ".join(res.output.split())
    report = json.loads((out / "validation_report.json").read_text())
    assert report["demo_key"] is True
    assert report["pseudonym_key"] == "demo"
    assert "DEMO" in report["warnings"][0]
    manifest = json.loads((simulated / MANIFEST).read_text())
    assert report["export_date"] == manifest["export_date"]
    for folder in (out, tmp_path / "quarantine"):
        for path in folder.glob("*.parquet"):
            assert pd.read_parquet(path).attrs["pseudonym_key"] == "demo", path


def test_secret_key_run_is_marked_secret(raw_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET_HEX)
    res = _validate_cli(raw_dir, tmp_path / "v", "--export-date", "2024-01-01")
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "v" / "validation_report.json").read_text())
    assert (report["demo_key"], report["pseudonym_key"]) == (False, "secret")
    assert report["export_date"] == "2024-01-01"
    assert pd.read_parquet(tmp_path / "v" / "patients.parquet").attrs["pseudonym_key"] == "secret"


def test_manifest_is_deterministic_and_lists_every_table(simulated, tmp_path):
    again = tmp_path / "again"
    simulate_stage.run(again, tmp_path / "truth", n_patients=40, seed=3)
    assert (again / MANIFEST).read_bytes() == (simulated / MANIFEST).read_bytes()
    doc = json.loads((simulated / MANIFEST).read_text())
    assert doc["synthetic"] is True
    assert len(doc["files"]) == 7
    assert all(len(h) == 64 for h in doc["files"].values())


# --------------------------------------------------------------------------- never logged


def test_key_never_logged_printed_or_written(raw_dir, tmp_path, monkeypatch, caplog):
    raw = make_raw()
    raw["pathology"].loc[0, "ki67_percent"] = "150"  # one quarantined row
    write_raw(raw, raw_dir)
    monkeypatch.setenv(KEY_ENV, SECRET_HEX)
    caplog.set_level(logging.DEBUG)
    res = CliRunner().invoke(app, ["-v", "validate", "--raw", str(raw_dir), "--out",
                                   str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    key = bytes.fromhex(SECRET_HEX)
    for text in (res.output, caplog.text):
        assert SECRET_HEX not in text.lower()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET_HEX.encode() not in data.lower(), path
            assert key not in data, path


# --------------------------------------------------------------------------- child processes


def test_child_env_drops_the_key_variables():
    env = {KEY_ENV: SECRET_HEX, KEY_FILE_ENV: "/secure/key", "PATH": "/bin", "HOME": "/h"}
    assert child_env(env) == {"PATH": "/bin", "HOME": "/h"}


def test_served_model_process_gets_no_key(monkeypatch, tmp_path):
    from pipeline import serving

    monkeypatch.setenv(KEY_ENV, SECRET_HEX)
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "key"))
    env = serving.server_env({"MLFLOW_TRACKING_URI": "sqlite:///x.db"})
    assert KEY_ENV not in env
    assert KEY_FILE_ENV not in env
    assert env["MLFLOW_TRACKING_URI"] == "sqlite:///x.db"
    dump = "import json, os; print(json.dumps(sorted(os.environ)))"
    monkeypatch.setattr(serving, "serve_command",
                        lambda uri, port, host="127.0.0.1": [sys.executable, "-c", dump])
    log_file = tmp_path / "server.log"
    proc = serving.start_server("models:/x@champion", 1, log_file=log_file)
    assert proc.wait(timeout=60) == 0
    names = json.loads(log_file.read_text())
    assert "PATH" in names
    assert KEY_ENV not in names
    assert KEY_FILE_ENV not in names


def test_short_test_key_is_not_the_fixture_key():
    assert len(KEY) >= 32  # the contract fixtures use a key the stage accepts

"""`register.enabled`: dvc repro registers @challenger, a dvc exp run never does by itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from pipeline.params import ParamsError, load_params
from pipeline.stages import register

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def test_default_is_auto():
    assert load_params(ROOT / "params.yaml").register.enabled == "auto"


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), ("auto", "auto")])
def test_values(tmp_path, value, expected):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({**BASE, "register": {"enabled": value}}))
    assert load_params(path).register.enabled == expected
    assert type(load_params(path).register.enabled) is type(expected)


def test_wrong_value_and_misspelt_key_are_errors(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({**BASE, "register": {"enabled": "sometimes"}}))
    with pytest.raises(ParamsError, match="register.enabled"):
        load_params(path)
    path.write_text(yaml.safe_dump({**BASE, "register": {"enable": True}}))
    with pytest.raises(ParamsError, match="did you mean 'register.enabled'"):
        load_params(path)


def test_skip_reason():
    exp = {"DVC_EXP_NAME": "burly-sail", "DVC_EXP_BASELINE_REV": "abc"}
    assert register.skip_reason("auto", {}) is None
    assert "dvc exp run" in register.skip_reason("auto", exp)
    assert register.skip_reason(True, exp) is None  # asked for explicitly
    assert "false" in register.skip_reason(False, {})


def test_experiment_run_writes_a_skip_record_and_registers_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "burly-sail")
    out = tmp_path / "registry" / "registered.json"
    params = load_params(ROOT / "params.yaml")
    # the models/metrics paths do not exist: a skipped run must not read them
    result = register.run(tmp_path / "no-models", tmp_path / "no-features.parquet",
                          tmp_path / "no-metrics.json", tmp_path / "no-plots", out, params, "x")
    assert result == {}
    record = json.loads(out.read_text())
    assert record["registered"] == {}
    assert "dvc exp run" in record["skipped"]


def test_dvc_stage_reads_the_switch_and_skips_the_run_cache():
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["register"]
    assert "register" in stage["params"]
    assert stage["outs"] == [{"data/registry": {"persist": True}}]

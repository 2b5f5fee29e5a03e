"""metrics/headline.json: the dozen numbers DVC compares, from the full metrics.json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from headline_helpers import metrics_block

from pipeline.stages.evaluate_headline import (
    HEADLINE_FILE,
    flat_headline,
    headline_metrics,
    record_headline,
)

ROOT = Path(__file__).resolve().parents[2]


def test_headline_picks_the_named_figures_rounded():
    h = headline_metrics(metrics_block())
    assert h["response"] == {"auc": 0.6987, "cal_slope": 0.8765, "oracle_ratio": 0.9701,
                             "prrt_c_benefit": 0.55, "regret": 0.0123}
    # survival: the first calibration horizon (12, not 24) and the first benefit horizon
    assert h["pfs"] == {"harrell_c": 0.7356, "cal_slope_12m": 1.0235, "oracle_ratio": 0.9518,
                        "prrt_c_benefit_12m": 0.5812, "regret_12m": 0.0312}
    # a non-finite slope and absent benefit/oracle blocks are left out, not written as null
    assert h["os"] == {"harrell_c": 0.75}


def test_real_data_has_no_oracle_or_regret_columns():
    h = headline_metrics(metrics_block(with_truth=False))
    assert "oracle_ratio" not in h["pfs"]
    assert "regret_12m" not in h["pfs"]
    assert h["pfs"]["prrt_c_benefit_12m"] == 0.5812


def test_about_a_dozen_flat_numbers():
    flat = flat_headline(headline_metrics(metrics_block()))
    assert 10 <= len(flat) <= 15
    assert flat["pfs.harrell_c"] == 0.7356


def test_record_writes_the_json_dvc_reads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    path = tmp_path / "metrics" / "headline.json"
    record_headline(metrics_block(), tmp_path / "models", path)  # no train run: file only, warning
    assert json.loads(path.read_text())["pfs"]["harrell_c"] == 0.7356


def test_dvc_declares_the_headline_as_its_git_tracked_metrics_file():
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["evaluate"]
    assert stage["metrics"] == [{str(HEADLINE_FILE): {"cache": False}}]
    assert "reports/metrics.json" in stage["outs"]  # the full file stays a (cached) output


def test_headline_file_is_not_git_ignored():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(HEADLINE_FILE)], cwd=ROOT)
    assert ignored.returncode == 1, f"{HEADLINE_FILE} is git-ignored: DVC would show '!'"

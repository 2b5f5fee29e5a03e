"""dvc.yaml's commands go through scripts/netoutcomes: they work without the venv on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WRAPPER = ROOT / "scripts" / "netoutcomes"


def test_every_dvc_stage_calls_the_wrapper():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert stages
    for name, stage in stages.items():
        assert stage["cmd"].startswith("scripts/netoutcomes "), name


def test_wrapper_finds_the_checkouts_venv_without_path():
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    out = subprocess.run([str(WRAPPER), "--help"], cwd="/", env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "simulate" in out.stdout


def test_wrapper_without_an_install_says_how(tmp_path):
    (tmp_path / "scripts").mkdir()
    copy = tmp_path / "scripts" / "netoutcomes"
    shutil.copy2(WRAPPER, copy)
    env = {"PATH": "/usr/bin:/bin"}
    out = subprocess.run([str(copy), "train"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 127
    assert "make install" in out.stderr
    assert "Traceback" not in out.stderr

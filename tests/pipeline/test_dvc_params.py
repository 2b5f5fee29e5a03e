"""dvc.yaml and params.yaml agree: every declared params key exists; register declares its reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


def _exists(dotted: str) -> bool:
    node = PARAMS
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_declared_params_exist_in_params_yaml(stage):
    missing = [key for key in STAGES[stage].get("params", []) if not _exists(key)]
    assert missing == []


def test_register_declares_what_it_reads():
    register = STAGES["register"]
    # models, the feature dictionary, metrics and the decision curves of evaluate
    assert {"data/models", "data/features", "reports/metrics.json", "reports/plots"} <= set(
        register["deps"])
    # the model card's data source (seed, simulate.*) and the registered endpoints and horizons
    assert {"seed", "simulate.mode", "simulate.n_patients", "train.endpoints",
            "horizons_months"} <= set(register["params"])


def test_evaluate_declares_the_train_params_of_its_bootstrap_refits():
    declared = set(STAGES["evaluate"]["params"])
    assert {"train.endpoints", "train.candidates", "train.models"} <= declared

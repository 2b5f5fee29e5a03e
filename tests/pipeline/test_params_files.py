"""Both shipped params files parse, name only known model families, and differ where documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.params import load_params
from pipeline.stages.train import FACTORIES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["params.yaml", "params-large.yaml"])
def test_params_file_is_typed_and_families_exist(name):
    params = load_params(ROOT / name)
    train = params.train
    for family in [*train.candidates["binary"], *train.candidates["survival"]]:
        assert family in FACTORIES and family in train.models
        model = FACTORIES[family](**train.models[family].params)  # constructor accepts them
        assert model.get_params()
    assert set(train.endpoints) == {"response", "pfs", "os"}


def test_large_cohort_file_keeps_the_families_and_changes_only_budgets():
    small, large = load_params(ROOT / "params.yaml"), load_params(ROOT / "params-large.yaml")
    assert large.simulate.n_patients == 100_000
    assert large.train.candidates == small.train.candidates
    assert large.train.cv.n_splits * large.train.cv.n_repeats < 15
    # the linear models' shape (logs, interactions, unpenalised therapy) is the same
    for family in ("logistic", "penalised_cox"):
        for key in ("log_columns", "treatment_interactions", "treatment_weight"):
            assert (large.train.models[family].params.get(key)
                    == small.train.models[family].params.get(key))
    raw_small = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw_large = yaml.safe_load((ROOT / "params-large.yaml").read_text())
    assert raw_large["registry"] == raw_small["registry"]
    assert raw_large["features"] == raw_small["features"]

"""evaluate-flat --treatment: benefit figures on the randomised AIDS trial and on a known world."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from sksurv.datasets import load_aids
from typer.testing import CliRunner

from pipeline.cli_flat import evaluate_flat


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(evaluate_flat)
    return app


@pytest.fixture(scope="module")
def aids(tmp_path_factory):
    """ACTG 320 (scikit-survival's load_aids): `tx` (indinavir arm) randomised 1:1."""
    X, y = load_aids()
    frame = X.copy()
    frame["time"], frame["event"] = y["time"], y["censor"].astype(int)
    root = tmp_path_factory.mktemp("aids")
    frame.to_csv(root / "aids.csv", index=False)
    out = root / "out"
    result = CliRunner().invoke(_app(), [
        "--csv", str(root / "aids.csv"), "--time", "time", "--event", "event", "--treatment",
        "tx", "--randomised", "--exclude", "txgrp",  # txgrp encodes the arm itself
        "--folds", "5", "--repeats", "1", "--seed", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "metrics.json").read_text()), result.output


def test_aids_model_hr_inside_the_randomised_interval(aids):
    metrics, output = aids
    (block,) = metrics["benefit"].values()
    pair = block["pairs"]["1"]
    model = pair["average_effect"]["model"]
    randomised = pair["average_effect"]["randomised_cox"]
    assert randomised["lo"] < model["hr"] < randomised["hi"]
    assert randomised["hi"] < 1.0  # indinavir helps: the published result
    assert 0.3 < randomised["hr"] < 0.8
    assert block["randomised"] is True
    assert "randomised data" in output
    assert "does the model choose" in output


def test_aids_c_for_benefit_and_policy_value_have_intervals(aids):
    metrics, _ = aids
    (block,) = metrics["benefit"].values()
    c = block["pairs"]["1"]["c_for_benefit"]
    assert c["lo"] <= c["c"] <= c["hi"] or c["lo"] < c["hi"]
    assert 0.3 < c["c"] < 0.7  # little heterogeneity of benefit in this trial
    # patients censored before the horizon have no known outcome there and are not matched
    smaller = min(block["pairs"]["1"]["n_candidate"], block["pairs"]["1"]["n_reference"])
    assert 0.8 * smaller < c["n_pairs"] <= smaller
    for rule in ("model", "all_0", "all_1"):
        dr = block["policy"][rule]["dr"]
        assert dr["lo"] < dr["value"] < dr["hi"]
        assert 0.5 < dr["value"] <= 1.0  # event-free at the median event time: most are
    # treating everyone with the active arm beats treating no one, as in the trial
    assert block["policy"]["all_1"]["dr"]["value"] > block["policy"]["all_0"]["dr"]["value"]
    overlap = block["overlap"]
    assert overlap["1"]["share_below_threshold"] == 0.0  # randomised: no positivity problem
    assert "time units of the table" in block["outcome"]


def _known_world(n=900, seed=4):
    """Randomised trial where only patients with marker = 1 benefit from arm B."""
    rng = np.random.default_rng(seed)
    marker = rng.integers(0, 2, n)
    age = rng.normal(60, 8, n)
    arm = np.where(rng.random(n) < 0.5, "B", "A")
    log_hr = 0.03 * (age - 60) - 1.2 * ((arm == "B") & (marker == 1))
    t = rng.exponential(20 * np.exp(-log_hr))
    c = rng.uniform(5, 40, n)
    return pd.DataFrame({"months": np.minimum(t, c).round(2), "died": (t <= c).astype(int),
                         "marker": marker, "age": age.round(1), "arm": arm})


def test_benefit_found_where_the_world_has_it(tmp_path, tiny_params):
    _known_world().to_csv(tmp_path / "world.csv", index=False)
    result = CliRunner().invoke(_app(), [
        "--csv", str(tmp_path / "world.csv"), "--time", "months", "--event", "died",
        "--treatment", "arm", "--randomised", "--folds", "3", "--repeats", "1",
        "--params", str(tiny_params), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    (block,) = metrics["benefit"].values()
    pair = block["pairs"]["B"]
    assert block["reference"] == "A"
    assert pair["c_for_benefit"]["c"] > 0.55
    assert pair["average_effect"]["randomised_cox"]["hr"] < 0.8


def test_treatment_errors_are_clear(tmp_path, tiny_params):
    world = _known_world(200)
    world.assign(arm="A").to_csv(tmp_path / "one_arm.csv", index=False)
    base = ["--time", "months", "--event", "died", "--treatment", "arm", "--folds", "3",
            "--repeats", "1", "--params", str(tiny_params), "--out", str(tmp_path / "o")]
    one = CliRunner().invoke(_app(), ["--csv", str(tmp_path / "one_arm.csv"), *base])
    assert one.exit_code == 2
    assert "fewer than two treatment arms" in one.output
    world.to_csv(tmp_path / "w.csv", index=False)
    ref = CliRunner().invoke(_app(), ["--csv", str(tmp_path / "w.csv"), *base, "--reference",
                                      "placebo"])
    assert ref.exit_code == 2
    assert "reference arm 'placebo' not found" in ref.output

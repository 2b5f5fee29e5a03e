"""``simulate-trials``: every trial of the parameter file replicated, published vs simulated."""

from __future__ import annotations

import json

import numpy as np
import pytest

from features.simulate.trials import (
    agrees,
    published_interval,
    simulate_trial,
    simulate_trials,
    trial_names,
    trials_markdown,
    wilson,
)
from pipeline.errors import InputError
from pipeline.stages.simulate import run_trials

GROUNDED = {"netter1", "netter2", "compete", "radiant3", "radiant4", "sunitinib_pnet",
            "clarinet", "promid", "rotterdam"}


def test_every_grounded_trial_is_listed(parameters):
    assert set(trial_names(parameters)) >= GROUNDED


def test_trial_randomised_one_to_one_and_read_on_scans(parameters):
    obs = simulate_trial(parameters, "clarinet", 600, np.random.default_rng(3))
    assert obs["arm"].value_counts().to_dict() == {"ssa": 300, "placebo": 300}
    # progression is seen at a 12-weekly scan (+-7 days): alive patients progress no earlier
    seen = obs.loc[(obs["pfs_event"] == 1) & (obs["os_event"] == 0), "pfs_months"] * 30.4375
    assert len(seen) > 100
    assert seen.min() >= 84 - 7
    assert set(obs["response"]) <= {0, 1}


def test_presets_with_unrecordable_arms_refused_by_simulate(parameters):
    from simtools import simulate

    with pytest.raises(ValueError, match="placebo.*simulate-trials"):
        simulate(parameters, 50, 1, mode="rct", population="clarinet")


def test_rows_and_files(parameters, tmp_path):
    rows = run_trials(tmp_path, n_patients=400, seed=1, trials=["netter1", "rotterdam"])
    assert {r["trial"] for r in rows} == {"netter1", "rotterdam"}
    hr = next(r for r in rows if r["trial"] == "netter1" and r["endpoint"] == "pfs_hr")
    assert hr["published"] == pytest.approx(0.18)
    assert (hr["published_lo"], hr["published_hi"]) == (0.11, 0.29)
    assert hr["simulated_lo"] < hr["simulated"] < hr["simulated_hi"]
    assert 0.1 < hr["simulated"] < 0.5
    doc = json.loads((tmp_path / "trials.json").read_text())
    assert len(doc["endpoints"]) == len(rows)
    md = (tmp_path / "trials.md").read_text()
    assert md.count("\n| ") == len(rows) + 1  # header + one line per endpoint
    assert "PFS HR, PRRT vs SSA" in md
    assert trials_markdown(rows).endswith("endpoints agree with the published figures.\n")


def test_same_seed_same_table(parameters):
    a = simulate_trials(parameters, 300, 7, ["promid"])
    b = simulate_trials(parameters, 300, 7, ["promid"])
    assert [r["simulated"] for r in a] == [r["simulated"] for r in b]


def test_agreement_rules():
    hr = {"endpoint": "pfs_hr", "published": 0.47, "ci": [0.30, 0.73]}
    assert agrees(0.72, hr)
    assert not agrees(0.75, hr)
    med = {"endpoint": "median_pfs", "published": 10.0}
    assert agrees(11.9, med)
    assert not agrees(12.1, med)
    assert not agrees(float("inf"), med)
    orr = {"endpoint": "orr", "published": 0.0, "n": 85}
    lo, hi = published_interval(orr)
    assert lo == 0.0
    assert 0.03 < hi < 0.06
    assert wilson(0.5, 100) == pytest.approx((0.404, 0.596), abs=0.002)


def test_bad_requests_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="unknown trial 'netter9'"):
        run_trials(tmp_path, n_patients=100, seed=1, trials=["netter9"])
    with pytest.raises(InputError, match="too few"):
        run_trials(tmp_path, n_patients=5, seed=1)


def test_presets_only_select_and_randomise(parameters):
    design = {"select", "arms", "crossover", "followup_after_accrual_months"}
    for name, preset in parameters["populations"].items():
        if name == "source":
            continue
        assert set(preset) <= design, f"{name}: outcome parameters {set(preset) - design}"
    base = parameters["baseline_hazard"]
    assert "real_world_pfs_multiplier" not in base  # one PFS time scale for every population


def test_post_progression_rebound_per_therapy(parameters):
    from features.simulate.outcomes import _rebound

    codes = np.array(["prrt_lu177", "prrt_ssa", "everolimus", "placebo"], dtype=object)
    got = _rebound(parameters, codes)
    prrt = parameters["baseline_hazard"]["pps_treatment_rebound"]["prrt_lu177"]
    assert got.tolist() == [prrt, prrt, 0.0, 0.0]  # PRRT + SSA takes PRRT's rebound
    flat = {**parameters, "baseline_hazard": {**parameters["baseline_hazard"],
                                              "pps_treatment_rebound": 0.1}}
    assert _rebound(flat, codes).tolist() == [0.1] * 4


def test_cli_simulate_trials(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path / "trials"
    result = CliRunner().invoke(
        app, ["simulate-trials", "--n-patients", "200", "--trials", "promid", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "PROMID" in result.output
    assert (out / "trials.json").exists()
    assert (out / "trials.md").exists()
    bad = CliRunner().invoke(app, ["simulate-trials", "--trials", "netter9", "--out", str(out)])
    assert bad.exit_code == 2
    assert "unknown trial 'netter9'" in " ".join(bad.output.split())
    assert "Traceback" not in bad.output


def test_cli_simulate_select(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    raw = tmp_path / "raw"
    args = ["simulate", "--n-patients", "60", "--out", str(raw), "--clean"]
    ok = CliRunner().invoke(app, [*args, "--select", "site=pancreas; line=first"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(app, [*args, "--select", "grade=G1; ki67=30-55"])
    assert bad.exit_code == 2
    assert "empty Ki-67 range" in " ".join(bad.output.split())
    assert "Traceback" not in bad.output
    placebo = CliRunner().invoke(app, [*args, "--mode", "rct", "--population", "clarinet"])
    assert placebo.exit_code == 2
    assert "cannot record" in " ".join(placebo.output.split())
    compete = CliRunner().invoke(app, [*args, "--mode", "rct", "--population", "compete"])
    assert compete.exit_code == 0, compete.output


def test_json_has_no_infinite_values(tmp_path):
    from pipeline.stages.simulate import _json_row

    row = _json_row({"simulated": float("inf"), "simulated_lo": 3.0, "simulated_hi": float("nan")})
    assert row == {"simulated": None, "simulated_lo": 3.0, "simulated_hi": None}

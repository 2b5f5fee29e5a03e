"""The typed params tree: unknown keys anywhere stop every command, naming the key and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.params import (
    OVERLAY_ENV,
    ExplainParams,
    Params,
    ParamsError,
    check_model_arguments,
    load_params,
    unknown_keys,
)

ROOT = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _no_overlay(monkeypatch):
    monkeypatch.delenv(OVERLAY_ENV, raising=False)


def _with_typo(tmp_path: Path, dotted: str, new_key: str) -> Path:
    """params.yaml with the key at ``dotted`` renamed to ``new_key`` (same value)."""
    tree = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    *parents, key = dotted.split(".")
    node = tree
    for part in parents:
        node = node[part]
    node[new_key] = node.pop(key)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    return path


TYPOS = [
    # (key renamed, misspelling, dotted key in the message, suggestion in the message)
    ("train", "trian", "'trian'", "'train'"),
    ("explain", "explian", "'explian'", "'explain'"),
    ("train.tuning", "tunning", "'train.tunning'", "'train.tuning'"),
    ("simulate.n_patients", "n_patient", "'simulate.n_patient'", "'simulate.n_patients'"),
    ("evaluate.subgroup_n_boot", "subgroup_nboot", "'evaluate.subgroup_nboot'",
     "'evaluate.subgroup_n_boot'"),
    ("explain.top_k", "topk", "'explain.topk'", "'explain.top_k'"),
    ("train.cv.n_splits", "n_split", "'train.cv.n_split'", "'train.cv.n_splits'"),
    ("train.tuning.n_trials", "n_trails", "'train.tuning.n_trails'", "'train.tuning.n_trials'"),
    ("train.candidates.binary", "binarry", "'train.candidates.binarry'",
     "'train.candidates.binary'"),
    ("train.models.xgb.tuning_overrides", "tuning_override",
     "'train.models.xgb.tuning_override'", "'train.models.xgb.tuning_overrides'"),
    ("train.models.xgb.space.max_depth.low", "lo", "'train.models.xgb.space.max_depth.lo'",
     "'train.models.xgb.space.max_depth.low'"),
    ("registry.promote.n_boot", "nboot", "'registry.promote.nboot'", "'registry.promote.n_boot'"),
    ("registry.promote.nb_thresholds.step", "steps", "'registry.promote.nb_thresholds.steps'",
     "'registry.promote.nb_thresholds.step'"),
]


@pytest.mark.parametrize(("dotted", "typo", "named", "suggested"), TYPOS,
                         ids=[t[0] for t in TYPOS])
def test_misspelt_key_at_any_level_names_it_and_the_nearest_valid_key(
        tmp_path, dotted, typo, named, suggested):
    path = _with_typo(tmp_path, dotted, typo)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert f"unknown key {named} (did you mean {suggested}?)" in message
    assert "Fix: correct or remove it" in message


def test_the_fix_lists_the_valid_keys_of_that_level(tmp_path):
    message = str(pytest.raises(ParamsError, load_params,
                                _with_typo(tmp_path, "train.cv.n_repeats", "repeats")).value)
    assert "valid keys at train.cv: n_splits, n_repeats" in message


def test_a_key_far_from_any_valid_one_gets_no_suggestion(tmp_path):
    message = str(pytest.raises(ParamsError, load_params,
                                _with_typo(tmp_path, "explain", "zzzz")).value)
    assert "unknown key 'zzzz'" in message
    assert "did you mean" not in message
    assert "valid keys at the top level: seed, horizons_months, source, export_dir" in message


def test_every_unknown_key_is_reported_at_once():
    tree = {"trian": {}, "train": {"cv": {"n_split": 3}}, "explain": {"topk": 3}}
    found = [dotted for dotted, _ in unknown_keys(tree)]
    assert found == ["trian", "train.cv.n_split", "explain.topk"]


def test_open_sections_accept_any_name():
    """Estimator arguments, model families and lookback tables are named by the user."""
    tree = {"train": {"models": {"my_family": {"params": {"anything": 1}}}},
            "features": {"lookback_days": {"new_table": 30}}}
    assert unknown_keys(tree) == []


def test_candidate_without_a_models_entry_is_an_error(tmp_path):
    path = _with_typo(tmp_path, "train.models.logistic", "logistik")
    message = str(pytest.raises(ParamsError, load_params, path).value)
    assert "candidate 'logistic' of train.candidates.binary has no entry in train.models" in message
    assert "(did you mean 'logistik'?)" in message


def test_wrong_value_names_the_dotted_key(tmp_path):
    tree = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    tree["train"]["cv"]["n_splits"] = 1
    tree["explain"]["cohort_endpoint"] = "dfs"
    tree["train"]["models"]["xgb"]["space"]["max_depth"]["type"] = "integer"
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    message = str(pytest.raises(ParamsError, load_params, path).value)
    assert "'train.cv.n_splits': Input should be greater than or equal to 2" in message
    # a search range, not the constants a space entry may also be: one message, no type tags
    assert ("'train.models.xgb.space.max_depth.type': Input should be 'int', 'float' or "
            "'categorical'") in message
    assert "valid boolean" not in message
    assert "SearchRange" not in message
    assert "'explain': explain.cohort_endpoint must be one of ['os', 'pfs', 'response']" in message


def test_missing_params_file_is_an_error_naming_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "params.yaml"
    message = str(pytest.raises(ParamsError, load_params, missing).value)
    assert message.startswith(f"{missing}: params file not found")
    assert "--params PATH" in message


@pytest.mark.parametrize(("text", "problem"), [("train: [1, 2\n", "not valid YAML at line"),
                                                ("- 1\n- 2\n", "expected a YAML mapping")])
def test_unreadable_params_file_is_an_error(tmp_path, text, problem):
    path = tmp_path / "params.yaml"
    path.write_text(text, encoding="utf-8")
    assert problem in str(pytest.raises(ParamsError, load_params, path).value)


def test_default_params_load_to_the_same_values_as_before():
    p = load_params(ROOT / "params.yaml")
    assert p.seed == 42
    assert p.simulate.n_patients == 1000
    assert p.simulate.messy is True
    assert p.features.lookback_days["pathology"] is None
    assert p.train.cv.n_splits == 5
    assert p.train.cv.n_repeats == 3
    assert p.train.tuning.timeout_s == 120
    assert p.train.horizons_months == [12.0, 24.0, 36.0]
    for family in ("xgb", "xgb_cox", "xgb_aft"):
        assert p.train.models[family].params["max_bin"] == 64
    # search spaces stay plain dicts with the file's own numbers (models.tuning reads them)
    space = p.train.models["xgb"].space["max_depth"]
    assert space == {"type": "int", "low": 2, "high": 5}
    assert type(space) is dict
    assert type(space["low"]) is int
    assert p.evaluate.dca_thresholds == (0.05, 0.6, 0.05)
    assert p.explain == ExplainParams(horizons=(12, 24), n_patient_reports=20, top_k=5,
                                      cohort_endpoint="pfs", importance_top_k=15,
                                      max_beeswarm_points=2000, seed=0)
    gates = p.registry.promote.given()
    assert gates["nb_thresholds"] == {"start": 0.05, "stop": 0.5, "step": 0.05}
    assert gates["slope_range"] == (0.8, 1.25)
    assert gates["seed"] == 0
    assert gates["first_champion_min"] == 0.6
    assert len(gates) == 14  # every key params.yaml sets, and no others
    # the whole tree, as the earlier untyped sections read it
    dumped = p.model_dump(mode="json")  # plus the horizons the top-level list sets
    assert dumped["explain"] == {**BASE["explain"], "horizons": [12, 24]}
    assert dumped["registry"] == {"promote": {**BASE["registry"]["promote"],
                                              "horizon_months": 12.0}}


def test_promote_gates_only_the_keys_given(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("registry:\n  promote:\n    min_delta: -0.02\n    n_boot: 99\n")
    assert load_params(path).registry.promote.given() == {"min_delta": -0.02, "n_boot": 99,
                                                          "horizon_months": 12.0}
    assert Params().registry.promote.given() == {"horizon_months": 12.0}  # horizons_months[0]


# --- every command stops on a misspelt key ---------------------------------------------------

# the arguments each command needs besides --params (paths need not exist: params come first)
COMMAND_ARGS = {
    "simulate": [],
    "features": [],
    "train": [],
    "evaluate": [],
    "register": [],
    "explain": ["--cohort"],
    "holdout": [],
    "promote": ["--endpoint", "pfs"],
    "serve": ["--endpoint", "pfs"],
    "register-model": ["--endpoint", "pfs", "--model-dir", "model", "--estimator",
                       "models.survival.XGBCoxSurvival"],
    "evaluate-flat": ["--csv", "cohort.csv", "--time", "t", "--event", "e", "--out", "out"],
}


def _commands_with_params() -> set[str]:
    import typer.main

    group = typer.main.get_command(app)
    return {name for name, cmd in group.commands.items()
            if any(p.name == "params" for p in cmd.params)}


def test_the_list_covers_every_command_that_reads_params():
    assert _commands_with_params() == set(COMMAND_ARGS)


@pytest.mark.parametrize("command", sorted(COMMAND_ARGS))
def test_misspelt_key_stops_every_command(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    _with_typo(tmp_path, "train.tuning", "tunning")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = CliRunner().invoke(app, [command, *COMMAND_ARGS[command], "--params", "params.yaml"])
    words = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "unknown key 'train.tunning' (did you mean 'train.tuning'?)" in words
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing ran


@pytest.mark.parametrize("command", ["simulate", "promote", "evaluate-flat"])
def test_missing_params_file_stops_a_command(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [command, *COMMAND_ARGS[command], "--params", "absent.yaml"])
    assert result.exit_code == 2, result.output
    assert "absent.yaml: params file not found" in " ".join(result.output.split())
    assert "Traceback" not in result.output


# --- estimator arguments: checked by the commands that build estimators ----------------------

def _train_with(family: str, part: str, key: str):
    """The shipped ``train`` params with ``key`` added to ``train.models.<family>.<part>``."""
    tree = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    tree["train"]["models"][family][part][key] = 1
    return Params.model_validate(tree).train


@pytest.mark.parametrize(("family", "part", "key", "suggested"), [
    ("xgb", "params", "max_bnn", "max_bin"),
    ("xgb_cox", "space", "learning_rte", "learning_rate"),
    ("xgb", "tuning_overrides", "calibraton", "calibration"),
])
def test_misspelt_estimator_argument_is_an_error(family, part, key, suggested):
    from pipeline.stages.train import FACTORIES

    train = _train_with(family, part, key)
    with pytest.raises(ParamsError) as info:
        check_model_arguments(train, FACTORIES, "params.yaml")
    dotted = f"train.models.{family}.{part}"
    assert f"unknown key '{dotted}.{key}' (did you mean '{dotted}.{suggested}'?)" in str(info.value)


def test_unknown_model_family_is_an_error():
    from pipeline.stages.train import FACTORIES

    tree = {"train": {"models": {**BASE["train"]["models"], "sprase_logistic": {}}}}
    with pytest.raises(ParamsError, match=r"'train.models.sprase_logistic' \(did you mean "
                                          r"'train.models.sparse_logistic'\?\)"):
        check_model_arguments(Params.model_validate(tree).train, FACTORIES)


def test_shipped_estimator_arguments_are_accepted():
    from pipeline.stages.train import FACTORIES

    check_model_arguments(load_params(ROOT / "params.yaml").train, FACTORIES)


@pytest.mark.parametrize("command", ["train", "evaluate", "evaluate-flat"])
def test_misspelt_estimator_argument_stops_the_commands_that_fit(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    tree = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    tree["train"]["models"]["xgb_cox"]["params"]["max_bnn"] = 64
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tree), encoding="utf-8")
    result = CliRunner().invoke(app, [command, *COMMAND_ARGS[command], "--params", "params.yaml"])
    assert result.exit_code == 2, result.output
    assert ("unknown key 'train.models.xgb_cox.params.max_bnn' (did you mean "
            "'train.models.xgb_cox.params.max_bin'?)") in " ".join(result.output.split())


def test_one_list_of_horizons_sets_every_horizon_knob(tmp_path):
    import yaml

    tree = yaml.safe_load(Path("params.yaml").read_text())
    tree["horizons_months"] = [6, 18, 30]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(tree))
    p = load_params(path)
    assert p.train.horizons_months == [6.0, 18.0, 30.0]
    assert p.evaluate.td_auc_times == [6.0, 18.0, 30.0]
    assert p.evaluate.calibration_horizons == [6.0, 18.0]
    assert p.evaluate.benefit.horizons_months == [6.0, 18.0]
    assert p.explain.horizons == (6, 18)
    assert p.evaluate.dca_horizon == 6.0
    assert p.registry.promote.given()["horizon_months"] == 6.0


@pytest.mark.parametrize(("section", "key"), [("train", "horizons_months"),
                                          ("evaluate", "td_auc_times"),
                                          ("explain", "horizons")])
def test_a_second_horizon_knob_is_an_error_naming_the_one(tmp_path, section, key):
    import yaml

    tree = yaml.safe_load(Path("params.yaml").read_text())
    tree.setdefault(section, {})[key] = [12]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(tree))
    with pytest.raises(ParamsError, match=f"'{section}.{key}' is set by the top-level"):
        load_params(path)

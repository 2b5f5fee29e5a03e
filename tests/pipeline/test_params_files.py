"""The shipped params files: params.yaml and the large-cohort overlay params-large.yaml.

Both parse, name only known model families, and the overlay holds only keys of the base (so it
cannot drift from it) and merges over it as documented.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.params import (
    OVERLAY_ENV,
    ParamsError,
    load_params,
    main,
    merged_tree,
)
from pipeline.stages.train import FACTORIES

ROOT = Path(__file__).resolve().parents[2]
BASE_FILE, LARGE_FILE = ROOT / "params.yaml", ROOT / "params-large.yaml"
BASE = yaml.safe_load(BASE_FILE.read_text(encoding="utf-8"))
LARGE = yaml.safe_load(LARGE_FILE.read_text(encoding="utf-8"))
BOOSTED = ("xgb", "xgb_cox", "xgb_aft")


@pytest.fixture(autouse=True)
def _no_overlay(monkeypatch):
    monkeypatch.delenv(OVERLAY_ENV, raising=False)


def _leaves(tree: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_leaves(value, (*prefix, key)))
        else:
            out[(*prefix, key)] = value
    return out


def _at(tree: dict, path: tuple[str, ...]) -> object:
    for key in path:
        tree = tree[key]
    return tree


@pytest.mark.parametrize("overlay", [None, LARGE_FILE], ids=["params.yaml", "params-large.yaml"])
def test_params_file_is_typed_and_families_exist(overlay):
    params = load_params(BASE_FILE, overlay)
    train = params.train
    for family in [*train.candidates["binary"], *train.candidates["survival"]]:
        assert family in FACTORIES
        assert family in train.models
        model = FACTORIES[family](**train.models[family].params)  # constructor accepts them
        assert model.get_params()
    assert set(train.endpoints) == {"response", "pfs", "os"}


def test_every_overlay_key_exists_in_the_base():
    base_leaves = _leaves(BASE)
    for path in _leaves(LARGE):
        assert path in base_leaves, ".".join(path)
        assert not isinstance(_at(BASE, path), dict), ".".join(path)  # a value, not a section


def test_the_overlay_holds_only_what_differs():
    base_leaves = _leaves(BASE)
    same = [".".join(p) for p, v in _leaves(LARGE).items() if base_leaves[p] == v]
    assert same == []


def test_merge_takes_the_overlay_values_and_the_base_for_everything_else():
    merged = merged_tree(BASE_FILE, LARGE_FILE)
    overlay_leaves = _leaves(LARGE)
    for path, value in _leaves(merged).items():
        expected = overlay_leaves.get(path, _at(BASE, path))
        assert value == expected, ".".join(path)
    assert set(_leaves(merged)) == set(_leaves(BASE))  # nothing added, nothing lost


def test_large_cohort_keeps_the_families_and_changes_only_budgets():
    small, large = load_params(BASE_FILE), load_params(BASE_FILE, LARGE_FILE)
    assert large.simulate.n_patients == 100_000
    assert large.train.candidates == small.train.candidates
    assert large.train.cv.n_splits * large.train.cv.n_repeats < 15
    assert large.train.models["xgb"].params["n_estimators"] == 300
    assert large.train.models["xgb"].params["max_depth"] == 3  # from the base
    for family in BOOSTED:  # the full copy had lost it; the overlay cannot
        assert large.train.models[family].params["max_bin"] == 64
        assert large.train.models[family].n_trials == 0
        assert large.train.models[family].space == small.train.models[family].space
    # the linear models' shape (logs, interactions, unpenalised therapy) is the same
    for family in ("logistic", "penalised_cox"):
        assert large.train.models[family].params == small.train.models[family].params
    assert large.registry == small.registry
    assert large.features == small.features
    assert large.explain == small.explain
    assert set(LARGE) == {"simulate", "train", "evaluate"}


def test_overlay_named_by_the_environment(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert load_params().simulate.n_patients == 1000
    monkeypatch.setenv(OVERLAY_ENV, "params-large.yaml")  # relative to the working folder
    assert load_params().simulate.n_patients == 100_000
    assert load_params().train.cv.n_splits == 3


def test_overlay_key_not_in_the_base_is_an_error(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("train:\n  models:\n    xgb:\n      params: {max_bins: 32}\n")
    message = str(pytest.raises(ParamsError, load_params, BASE_FILE, overlay).value)
    assert message.startswith(f"{overlay}: key 'train.models.xgb.params.max_bins' is not in the "
                              "base params (did you mean 'train.models.xgb.params.max_bin'?)")


def test_overlay_with_an_unknown_key_names_the_overlay(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("train:\n  tunning: {n_trials: 1}\n")
    message = str(pytest.raises(ParamsError, load_params, BASE_FILE, overlay).value)
    assert message.startswith(f"{overlay}: unknown key 'train.tunning'")
    assert "(did you mean 'train.tuning'?)" in message


def test_missing_overlay_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(OVERLAY_ENV, str(tmp_path / "absent.yaml"))
    message = str(pytest.raises(ParamsError, load_params, BASE_FILE).value)
    assert message.startswith(f"{tmp_path / 'absent.yaml'}: params file not found")


def test_invalid_merged_value_names_both_files(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("train:\n  cv: {n_splits: 1}\n")
    message = str(pytest.raises(ParamsError, load_params, BASE_FILE, overlay).value)
    assert message.startswith(f"{BASE_FILE} + {overlay}: 'train.cv.n_splits'")


def test_merged_prints_the_merged_tree(capsys, monkeypatch):
    monkeypatch.setenv(OVERLAY_ENV, str(LARGE_FILE))
    assert main(["--merged", "--params", str(BASE_FILE)]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed == merged_tree(BASE_FILE, LARGE_FILE)
    assert printed["simulate"]["n_patients"] == 100_000


def test_merged_reports_an_error_in_one_line(tmp_path, capsys):
    bad = tmp_path / "params.yaml"
    bad.write_text("trian: {}\n")
    assert main(["--merged", "--params", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'trian' (did you mean 'train'?)" in err
    assert "Traceback" not in err


def test_module_command_line(tmp_path):
    env_free = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pipeline.params", "--merged", "--overlay",
                           str(LARGE_FILE)], cwd=ROOT, env=env_free, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["train"]["cv"] == {"n_splits": 3, "n_repeats": 1}

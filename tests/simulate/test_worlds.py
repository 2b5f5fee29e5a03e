"""Worlds: ``published`` (the trials' effects) and ``equipoise`` (no therapy best for most)."""

from __future__ import annotations

import pytest
from simtools import simulate

from features.simulate._params import apply_world
from pipeline.errors import InputError
from pipeline.stages.simulate import run


def _effects(cohort):
    cf = cohort.truth["counterfactual"]
    cf = cf.loc[cf["eligible"] == 1]
    prog = cohort.truth["truth"].set_index("patient_id")["lp_pfs_prognostic"]
    effect = cf["lp_pfs"] - prog.reindex(cf["patient_id"]).to_numpy()
    best = cf.loc[cf.groupby("patient_id")["lp_pfs"].idxmin(), "therapy"]
    return effect.groupby(cf["therapy"]).mean(), best.value_counts(normalize=True)


@pytest.fixture(scope="module")
def worlds(parameters):
    return {w: simulate(parameters, 4000, 2, world=w) for w in ("published", "equipoise")}


def test_equipoise_no_therapy_best_for_most(worlds):
    mean, share = _effects(worlds["equipoise"])
    assert share.max() <= 0.45
    assert (share > 0.05).sum() >= 3  # at least three therapies are someone's best
    active = mean[["prrt_lu177", "everolimus", "chemotherapy"]]
    assert active.max() - active.min() < 0.3  # comparable on average


def test_published_world_has_a_dominant_therapy(worlds):
    mean, share = _effects(worlds["published"])
    assert share["prrt_lu177"] > 0.6  # PRRT's published effect dominates among the eligible
    assert mean["prrt_lu177"] < mean["everolimus"] - 0.5


def test_worlds_share_patients_and_differ_in_effects(worlds):
    pub, eq = worlds["published"].truth["truth"], worlds["equipoise"].truth["truth"]
    assert pub["ki67_true"].equals(eq["ki67_true"])  # same patients, same seed
    assert not pub["lp_pfs"].equals(eq["lp_pfs"])


def test_world_selection_and_errors(parameters, tmp_path):
    assert apply_world(parameters, "published") is parameters
    eq = apply_world(parameters, "equipoise")
    assert eq["effects_pfs"]["modifiers"]["chemotherapy"]["log_ki67"] < 0
    assert not parameters["effects_pfs"].get("modifiers")
    with pytest.raises(ValueError, match="unknown world 'utopia'; expected one of published"):
        apply_world(parameters, "utopia")
    with pytest.raises(InputError, match="unknown world 'utopia'"):
        run(tmp_path / "raw", tmp_path / "truth", n_patients=20, seed=1, world="utopia")

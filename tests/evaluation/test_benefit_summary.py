"""benefit_summary: the per-endpoint benefit block, checked on a small world computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from models.evaluation.benefit_summary import BenefitConfig, benefit_summary

THERAPIES = ["prrt_lu177", "everolimus", "ssa"]


def _world(n=400, seed=0):
    rng = np.random.default_rng(seed)
    received = rng.choice(THERAPIES, size=n, p=[0.4, 0.3, 0.3])
    p_true = pd.DataFrame({"prrt_lu177": rng.uniform(0.2, 0.6, n),
                           "everolimus": rng.uniform(0.0, 0.3, n),
                           "ssa": rng.uniform(0.0, 0.1, n)})
    eligible = pd.DataFrame({"prrt_lu177": rng.random(n) < 0.8, "everolimus": True, "ssa": True})
    p_pred = p_true + rng.normal(0, 0.05, (n, 3))
    p_pred = p_pred.clip(0.01, 0.99).where(eligible)
    y = (rng.random(n) < p_true.to_numpy()[np.arange(n), [THERAPIES.index(t)
                                                          for t in received]]).astype(float)
    what_if = pd.DataFrame({
        "row": np.repeat(np.arange(n), 3), "therapy": np.tile(THERAPIES, n),
        "eligible": eligible.to_numpy().ravel(), "response_prob": p_pred.to_numpy().ravel()})
    propensity = pd.DataFrame(np.tile([0.4, 0.3, 0.3], (n, 1)), columns=THERAPIES)
    return what_if, y, received, propensity, p_true, p_pred, eligible


def test_binary_block_by_hand():
    what_if, y, received, prop, p_true, p_pred, eligible = _world()
    out = benefit_summary(what_if, y, received, prop, kind="binary",
                          config=BenefitConfig(n_boot=10), truth=p_true)
    assert set(out["pairs"]) == {"prrt_lu177", "everolimus"}
    pick = p_pred.fillna(-np.inf).to_numpy().argmax(axis=1)
    share = {t: float(np.mean(pick == i)) for i, t in enumerate(THERAPIES)}
    assert out["policy"]["model"]["share"] == pytest.approx(share)
    oracle = p_true.where(eligible).max(axis=1)
    model_value = p_true.to_numpy()[np.arange(len(pick)), pick]
    truth = out["truth"]
    assert truth["policy_regret"]["model"]["regret"] == pytest.approx(
        float(np.mean(oracle - model_value)))
    assert truth["model_picks_truly_best"] == pytest.approx(
        float(np.mean(pick == p_true.where(eligible).fillna(-1).to_numpy().argmax(axis=1))))
    assert truth["policy_regret"]["all_ssa"]["regret"] > truth["policy_regret"]["model"]["regret"]
    assert out["policy"]["as_treated"]["observed"] == pytest.approx(y.mean())
    # randomised with known propensities: the IPW value of "all ssa" is the SSA arm's rate
    assert out["policy"]["all_ssa"]["ipw"]["value"] == pytest.approx(y[received == "ssa"].mean())
    agree = truth["individual_effects"]["prrt_lu177"]
    assert agree["pearson_r"] > 0.8
    eff = out["pairs"]["prrt_lu177"]["average_effect"]["model"]
    both = eligible["prrt_lu177"]
    assert eff["risk_difference"] == pytest.approx(
        float((p_pred["prrt_lu177"] - p_pred["ssa"])[both].mean()))


def test_small_arms_are_skipped_and_bad_inputs_refused():
    what_if, y, received, prop, *_ = _world()
    few = np.where((received == "everolimus") & (np.arange(len(y)) % 10 > 0), "ssa", received)
    out = benefit_summary(what_if, y, few, prop, kind="binary",
                          config=BenefitConfig(n_boot=0, min_patients_per_arm=30))
    assert "everolimus" in out["skipped_pairs"]
    assert "everolimus" not in out["pairs"]
    with pytest.raises(ValueError, match="reference therapy"):
        benefit_summary(what_if, y, received, prop, kind="binary",
                        config=BenefitConfig(reference="chemotherapy"))
    surv_wi = what_if.rename(columns={"response_prob": "survival_12"})
    ys = Surv.from_arrays(np.ones(len(y), bool), np.full(len(y), 10.0))
    with pytest.raises(ValueError, match="no survival column"):
        benefit_summary(surv_wi, ys, received, prop, kind="survival", horizon=24.0)

"""Treatment-benefit metrics against hand-computed values and independent implementations."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from scipy.special import expit
from sksurv.util import Surv

from models.evaluation.benefit import (
    c_for_benefit,
    calibration_for_benefit,
    e_for_benefit,
    effect_agreement,
    effective_sample_size,
    horizon_outcome,
    iptw_cox,
    marginal_effect,
    match_pairs,
    ordinal_concordance,
    overlap_summary,
    policy_value,
    unadjusted_cox,
    weighted_km_at,
)


def _naive_concordance(pred, obs):
    num = den = 0.0
    for i, j in itertools.combinations(range(len(pred)), 2):
        if obs[i] == obs[j]:
            continue
        den += 1
        hi, lo = (i, j) if obs[i] > obs[j] else (j, i)
        num += 1.0 if pred[hi] > pred[lo] else 0.5 if pred[hi] == pred[lo] else 0.0
    return num / den


def _benefit_trial(n, seed, *, effect_sd=1.5):
    """Randomised binary trial with a known per-patient benefit."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    treated = rng.random(n) < 0.5
    base = -0.3 + 0.5 * x
    modifier = effect_sd * x  # benefit grows with x
    p_a, p_b = expit(base + modifier), expit(base)
    y = np.where(treated, rng.random(n) < p_a, rng.random(n) < p_b).astype(float)
    return x, treated, y, p_a - p_b


def test_ordinal_concordance_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    pred = np.round(rng.normal(size=60), 1)  # ties in predicted benefit
    obs = rng.integers(-1, 2, size=60).astype(float)
    c, n_pairs = ordinal_concordance(pred, obs)
    assert c == pytest.approx(_naive_concordance(pred, obs), abs=1e-12)
    assert n_pairs == sum(1 for i, j in itertools.combinations(range(60), 2) if obs[i] != obs[j])
    assert np.isnan(ordinal_concordance(pred, np.zeros(60))[0])


def test_c_for_benefit_by_hand():
    # treated and reference patients, three each: rank matching pairs equal ranks
    benefit = np.array([0.1, 0.2, 0.3, 0.15, 0.25, 0.35])
    treated = np.array([True, True, True, False, False, False])
    outcome = np.array([0, 1, 1, 0, 1, 0], dtype=float)
    pa, pb = match_pairs(benefit, treated)
    assert pa.tolist() == [0, 1, 2]
    assert pb.tolist() == [3, 4, 5]
    # pair benefits observed 0, 0, +1; predicted 0.125, 0.225, 0.325: both usable pairs agree
    result = c_for_benefit(outcome, treated, benefit, n_boot=0)
    assert result["c"] == 1.0
    assert result["n_pairs"] == 3
    assert result["n_pairs_of_pairs"] == 2
    flipped = c_for_benefit(outcome, treated, -benefit, n_boot=0)
    assert flipped["c"] == 0.0


def test_rank_matching_thins_the_larger_arm_evenly():
    benefit = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 11.0])
    treated = np.array([True, True, True, True, False, False])
    pa, pb = match_pairs(benefit, treated)
    assert pa.tolist() == [0, 2] or pa.tolist() == [1, 3]
    assert pb.tolist() == [4, 5]


def test_c_for_benefit_ranks_true_benefit_and_fails_for_wrong_one():
    x, treated, y, true_benefit = _benefit_trial(3000, 1)
    right = c_for_benefit(y, treated, true_benefit, n_boot=50, seed=2)
    wrong = c_for_benefit(y, treated, -true_benefit, n_boot=0)
    noise = c_for_benefit(y, treated, np.random.default_rng(3).normal(size=x.size), n_boot=0)
    assert right["c"] > 0.58
    assert right["lo"] < right["c"] < right["hi"]
    assert right["lo"] > 0.52
    assert wrong["c"] < 0.42
    assert abs(noise["c"] - 0.5) < 0.04
    by_covariates = c_for_benefit(y[:600], treated[:600], true_benefit[:600], matching="covariates",
                                  covariates=x[:600, None], n_boot=0)
    assert by_covariates["matching"] == "covariates"
    assert by_covariates["c"] > 0.55


def test_c_for_benefit_errors():
    with pytest.raises(ValueError, match="both therapies"):
        c_for_benefit(np.ones(4), np.ones(4, bool), np.zeros(4), n_boot=0)
    with pytest.raises(ValueError, match="matching must be"):
        c_for_benefit(np.ones(4), np.array([1, 0, 1, 0], bool), np.zeros(4), matching="age")
    with pytest.raises(ValueError, match="covariates matrix"):
        c_for_benefit(np.ones(4), np.array([1, 0, 1, 0], bool), np.zeros(4),
                      matching="covariates", n_boot=0)


def test_e_for_benefit_by_hand():
    pred = np.linspace(-0.5, 0.5, 41)
    perfect = e_for_benefit(pred, pred)
    assert perfect == {"eavg": pytest.approx(0, abs=1e-9), "e50": pytest.approx(0, abs=1e-9),
                       "e90": pytest.approx(0, abs=1e-9)}
    doubled = e_for_benefit(pred, 2 * pred)  # a straight line: lowess reproduces it exactly
    gap = np.abs(pred)
    assert doubled["eavg"] == pytest.approx(gap.mean(), abs=1e-9)
    assert doubled["e50"] == pytest.approx(np.median(gap), abs=1e-9)
    assert doubled["e90"] == pytest.approx(np.quantile(gap, 0.9), abs=1e-9)


def test_weighted_km_matches_lifelines():
    rng = np.random.default_rng(4)
    time = np.round(rng.exponential(10, 200), 1)
    event = rng.random(200) < 0.7
    w = rng.integers(1, 4, 200).astype(float)
    kmf = KaplanMeierFitter().fit(time, event, weights=w)
    for t in (2.0, 7.5, 15.0):
        assert weighted_km_at(event, time, t, w) == pytest.approx(
            float(kmf.survival_function_at_times(t).iloc[0]), abs=1e-10)


def test_horizon_outcome_ipcw_mean_is_kaplan_meier():
    rng = np.random.default_rng(5)
    t_event, t_cens = rng.exponential(20, 500), rng.exponential(30, 500)
    y = Surv.from_arrays(t_event <= t_cens, np.minimum(t_event, t_cens))
    status, weight = horizon_outcome(y, 12.0)
    known = np.isfinite(status)
    assert np.all(weight[~known] == 0)
    assert np.all(weight[known] >= 1)
    ipcw = np.sum(weight[known] * status[known]) / np.sum(weight[known])
    km = weighted_km_at(y["event"], y["time"], 12.0)
    assert ipcw == pytest.approx(km, abs=0.01)
    assert np.sum(weight[known] * status[known]) / 500 == pytest.approx(km, abs=0.01)
    with pytest.raises(ValueError, match="horizon"):
        horizon_outcome(y, 0.0)


def test_calibration_for_benefit_groups_follow_true_benefit():
    x, treated, y, true_benefit = _benefit_trial(4000, 6)
    table = calibration_for_benefit(y, treated, true_benefit, kind="binary", n_groups=4,
                                    n_boot=100, seed=0)
    assert list(table["group"]) == [1, 2, 3, 4]
    assert table["n_treated"].sum() + table["n_reference"].sum() == 4000
    assert table["observed"].is_monotonic_increasing
    inside = (table["lo"] <= table["predicted"]) & (table["predicted"] <= table["hi"])
    assert inside.sum() >= 3
    # one group by hand: the difference of the two arms' response rates
    g1 = pd.Series(true_benefit).rank(method="first").to_numpy() <= 1000
    hand = y[g1 & treated].mean() - y[g1 & ~treated].mean()
    assert table.loc[0, "observed"] == pytest.approx(hand, abs=1e-12)
    # a model with the opposite ranking is visibly miscalibrated for benefit
    bad = calibration_for_benefit(y, treated, -true_benefit, kind="binary", n_groups=4, n_boot=0)
    assert bad["observed"].is_monotonic_decreasing


def test_survival_calibration_for_benefit_uses_km_difference():
    rng = np.random.default_rng(7)
    n = 3000
    treated = rng.random(n) < 0.5
    x = rng.normal(size=n)
    log_hr = np.where(treated, -0.8 * (x > 0), 0.0)
    t = rng.exponential(24 * np.exp(-log_hr))
    y = Surv.from_arrays(np.ones(n, bool), t)
    benefit = np.where(x > 0, 0.2, 0.0)  # the model says: only x > 0 benefits
    table = calibration_for_benefit(y, treated, benefit, kind="survival", horizon=12.0,
                                    n_groups=2, n_boot=50)
    low, high = table["observed"]
    assert abs(low) < 0.05
    assert high > 0.1
    sel = pd.Series(benefit).rank(method="first").to_numpy() > n / 2  # the upper group
    hand = (weighted_km_at(np.ones(sel.sum(), bool)[treated[sel]], t[sel][treated[sel]], 12.0)
            - weighted_km_at(np.ones(sel.sum(), bool)[~treated[sel]], t[sel][~treated[sel]], 12.0))
    assert high == pytest.approx(hand, abs=1e-12)
    with pytest.raises(ValueError, match="horizon"):
        calibration_for_benefit(y, treated, benefit, kind="survival")


def test_policy_value_by_hand():
    prop = pd.DataFrame({"a": [0.5, 0.25, 0.5, 0.8], "b": [0.5, 0.75, 0.5, 0.2]})
    received = ["a", "b", "b", "a"]
    good = np.array([1.0, 0.0, 1.0, 0.0])
    result = policy_value(["a", "b", "a", "a"], received, prop, good)
    # followers: rows 0 (w 2), 1 (w 4/3), 3 (w 1.25); Hajek mean = (2*1) / (2 + 4/3 + 1.25)
    assert result["ipw"]["value"] == pytest.approx(2 / (2 + 4 / 3 + 1.25))
    mu = pd.DataFrame({"a": [0.6, 0.5, 0.5, 0.2], "b": [0.4, 0.1, 0.9, 0.3]})
    dr = policy_value(["a", "b", "a", "a"], received, prop, good, predicted=mu)["dr"]
    wbar = (2 + 4 / 3 + 0 + 1.25) / 4  # augmentation weights are self-normalised
    hand = np.mean([0.6 + 2 / wbar * (1 - 0.6), 0.1 + (4 / 3) / wbar * (0 - 0.1), 0.5,
                    0.2 + 1.25 / wbar * (0 - 0.2)])
    assert dr["value"] == pytest.approx(hand)
    with pytest.raises(ValueError, match="no propensity column"):
        policy_value(["c"] * 4, received, prop, good)


def _confounded_world(n, seed):
    """Observational binary outcome: sicker patients (x high) get A more often."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p_a = expit(2.0 * x)
    a = rng.random(n) < p_a
    mu_a, mu_b = expit(-0.5 - 1.5 * x + 0.8 * (x < 0.5)), expit(-0.2 - 1.5 * x)
    y = np.where(a, rng.random(n) < mu_a, rng.random(n) < mu_b).astype(float)
    prop = pd.DataFrame({"a": p_a, "b": 1 - p_a})
    mu = pd.DataFrame({"a": mu_a, "b": mu_b})
    rule = np.where(mu_a > mu_b, "a", "b")
    truth = np.where(rule == "a", mu_a, mu_b).mean()
    return x, np.where(a, "a", "b"), y, prop, mu, rule, truth


def test_policy_value_is_unbiased_with_either_nuisance_right_and_fails_with_both_wrong():
    x, received, y, prop, mu, rule, truth = _confounded_world(20000, 8)
    right = policy_value(rule, received, prop, y, predicted=mu)
    assert right["ipw"]["lo"] < truth < right["ipw"]["hi"]
    assert right["dr"]["lo"] < truth < right["dr"]["hi"]
    flat = pd.DataFrame({"a": np.full(x.size, 0.5), "b": np.full(x.size, 0.5)})
    dr_mu_right = policy_value(rule, received, flat, y, predicted=mu)["dr"]
    assert abs(dr_mu_right["value"] - truth) < 0.015
    wrong_mu = pd.DataFrame({"a": np.full(x.size, y.mean()), "b": np.full(x.size, y.mean())})
    dr_prop_right = policy_value(rule, received, prop, y, predicted=wrong_mu)["dr"]
    assert abs(dr_prop_right["value"] - truth) < 0.015
    # "a for everyone": patients given a were the high-x (poor-outcome) ones
    everyone_a = np.full(x.size, "a", dtype=object)
    truth_a = float(mu["a"].mean())
    assert abs(policy_value(everyone_a, received, prop, y, predicted=mu)["dr"]["value"]
               - truth_a) < 0.015
    both_wrong = policy_value(everyone_a, received, flat, y, predicted=wrong_mu)
    truth = truth_a
    for estimator in ("dr", "ipw"):  # confounding left in: the interval misses the truth
        assert abs(both_wrong[estimator]["value"] - truth) > 0.02
        assert not both_wrong[estimator]["lo"] < truth < both_wrong[estimator]["hi"]


def test_marginal_effect_by_hand():
    times = np.arange(0.5, 24.01, 0.5)
    lam = np.array([0.05, 0.1])[:, None]
    sb = np.exp(-lam * times[None, :])
    sa = np.exp(-0.5 * lam * times[None, :])
    out = marginal_effect(sa, sb, times, 24.0)
    # the averaged curves are mixtures: HR of their cumulative hazards at 24 months
    hand_hr = np.log(np.exp(-0.5 * lam * 24).mean()) / np.log(np.exp(-lam * 24).mean())
    assert out["hr"] == pytest.approx(hand_hr, rel=1e-9)
    rmst = lambda k: np.mean([(1 - np.exp(-k * r * 24)) / (k * r) for r in (0.05, 0.1)])  # noqa: E731
    assert out["rmst_difference"] == pytest.approx(rmst(0.5) - rmst(1.0), abs=0.01)
    with pytest.raises(ValueError, match="horizon"):
        marginal_effect(sa, sb, times, 25.0)


def _confounded_survival(n, seed, log_hr=-0.5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = expit(1.5 * x)
    treated = rng.random(n) < p
    t = rng.exponential(12 * np.exp(-(1.0 * x + log_hr * treated)))
    c = rng.exponential(40, n)
    y = Surv.from_arrays(t <= c, np.minimum(t, c))
    return x, p, treated, y


def test_iptw_cox_removes_confounding_that_the_unadjusted_cox_keeps():
    x, p, treated, y = _confounded_survival(6000, 9)
    # the estimand: the marginal HR in a randomised version of the same population
    xr, _, _, _ = _confounded_survival(60000, 10)
    rng = np.random.default_rng(11)
    tr = rng.random(xr.size) < 0.5
    tt = rng.exponential(12 * np.exp(-(1.0 * xr - 0.5 * tr)))
    frame = pd.DataFrame({"time": tt, "event": 1, "treated": tr.astype(int)})
    marginal = float(CoxPHFitter().fit(frame, "time", "event").hazard_ratios_["treated"])
    weighted = iptw_cox(y, treated, p, 1 - p)
    naive = unadjusted_cox(y, treated)
    assert weighted["lo"] < marginal < weighted["hi"]
    assert not naive["lo"] < marginal < naive["hi"]
    assert naive["hr"] > 1.0 > marginal  # confounding by indication flips the naive estimate
    adjusted = unadjusted_cox(y, treated, adjust=x)
    assert adjusted["lo"] < np.exp(-0.5) < adjusted["hi"]
    assert weighted["ess_treated"] < treated.sum()


def test_overlap_and_ess_by_hand():
    assert effective_sample_size(np.array([1.0, 1.0, 2.0])) == pytest.approx(16 / 6)
    prop = pd.DataFrame({"a": [0.5, 0.02, 0.25, 0.9], "b": [0.5, 0.98, 0.75, 0.1]})
    out = overlap_summary(prop, ["a", "b", "a", "b"], threshold=0.05)
    assert out["a"]["n_received"] == 2
    assert out["a"]["share_below_threshold"] == 0.25
    assert out["a"]["ess_after_weighting"] == pytest.approx((2 + 4) ** 2 / (4 + 16))
    assert out["b"]["propensity_received"]["p50"] == pytest.approx(0.54)


def test_effect_agreement():
    true = np.linspace(-1, 1, 50)
    out = effect_agreement(0.5 * true + 0.1, true)
    assert out["pearson_r"] == pytest.approx(1.0)
    assert out["sd_ratio"] == pytest.approx(0.5)
    assert out["rmse"] == pytest.approx(np.sqrt(np.mean((0.1 - 0.5 * true) ** 2)))
    with pytest.raises(ValueError, match="at least 3"):
        effect_agreement(np.ones(2), np.ones(2))


def test_weighted_cox_1d_matches_lifelines_and_bootstrap_interval_covers():
    from models.evaluation.calibration import _fit_cox_1d

    x, p, treated, y = _confounded_survival(3000, 12)
    e = np.clip(p, 0.01, 0.99)
    share = treated.mean()
    w = np.where(treated, share / e, (1 - share) / (1 - e))
    frame = pd.DataFrame({"time": y["time"], "event": y["event"].astype(int),
                          "treated": treated.astype(int), "w": w})
    ref = CoxPHFitter().fit(frame, "time", "event", weights_col="w", robust=True)
    assert _fit_cox_1d(treated.astype(float), y["event"], y["time"], weights=w) == pytest.approx(
        float(ref.params_["treated"]), abs=1e-4)  # no tied times: Breslow = Efron
    out = iptw_cox(y, treated, p, 1 - p, n_boot=60, seed=1)
    assert out["boot_lo"] < out["hr"] < out["boot_hi"]
    assert out["boot_hi"] / out["boot_lo"] == pytest.approx(out["hi"] / out["lo"], rel=0.4)

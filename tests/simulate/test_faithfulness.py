"""Faithfulness of the simulator to the published trials (clinical-grounding §3, §8).

Outcomes are computed straight from the raw tables (``observed_outcomes``), as a user would.
Fixed seeds; tolerances are stated per check and would fail on a wrong implementation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.utils import concordance_index
from simtools import observed_outcomes, simulate


def _trial(parameters, population: str, arm: str, n: int = 2000, seed: int = 11):
    cohort = simulate(parameters, n, seed, mode="rct", population=population)
    obs = observed_outcomes(cohort.tables)
    obs["treated"] = (obs["therapy"] == arm).astype(int)
    cox = CoxPHFitter().fit(obs[["pfs_months", "pfs_event", "treated"]], "pfs_months", "pfs_event")
    medians = {
        a: KaplanMeierFitter().fit(g["pfs_months"], g["pfs_event"]).median_survival_time_
        for a, g in obs.groupby("therapy")
    }
    orr = obs.groupby("therapy")["response"].apply(lambda r: r.fillna(0).mean())
    return float(np.exp(cox.params_["treated"])), medians, orr, obs


@pytest.fixture(scope="module")
def netter1(parameters):
    return _trial(parameters, "netter1", "prrt_lu177")


def test_netter1_pfs_hazard_ratio(netter1):
    hr, _, _, obs = netter1
    assert set(obs["therapy"]) == {"prrt_lu177", "ssa"}
    assert 0.45 <= (obs["therapy"] == "prrt_lu177").mean() <= 0.55  # 1:1 randomisation
    assert (obs["line"] >= 2).all()  # progressed on a prior SSA line
    assert 0.15 <= hr <= 0.30  # NETTER-1 0.18-0.21


def test_netter1_control_median_pfs(netter1):
    _, medians, _, _ = netter1
    assert abs(medians["ssa"] - 8.5) <= 2.0  # NETTER-1 control 8.4-8.5 months


def test_netter1_response_rates(netter1):
    _, _, orr, _ = netter1
    assert abs(orr["prrt_lu177"] - 0.18) <= 0.06  # NETTER-1 18 %
    assert orr["ssa"] <= 0.06  # NETTER-1 control 3 %


def test_radiant3_hazard_ratio_and_medians(parameters):
    hr, medians, _, _ = _trial(parameters, "radiant3", "everolimus", seed=12)
    assert 0.28 <= hr <= 0.45  # RADIANT-3 0.35 (0.27-0.45)
    assert abs(medians["everolimus"] - 11.0) <= 2.0  # tolerance +-2 months
    assert (
        abs(medians["ssa"] - 4.6) <= 2.0
    )  # placebo-like control (continued SSA after progression)


def test_sunitinib_pnet_hazard_ratio(parameters):
    hr, _, orr, obs = _trial(parameters, "sunitinib_pnet", "sunitinib", seed=13)
    assert (obs["therapy"] == "sunitinib").mean() > 0.4
    assert 0.32 <= hr <= 0.52  # Raymond 0.42 (0.26-0.66)


@pytest.fixture(scope="module")
def real_world(parameters):
    cohort = simulate(parameters, 12000, 21)
    return cohort, observed_outcomes(cohort.tables)


def test_fdg_positive_worse_pfs(real_world):
    cohort, obs = real_world
    st, les = cohort.tables["imaging_studies"], cohort.tables["lesions"]
    fdg = les.merge(st.loc[st["modality"] == "fdg_pet"], on="study_id")
    fdg_pos = (fdg["suvmax"] > fdg["liver_suvmean"]).groupby(fdg["patient_id"]).max().astype(int)
    data = obs.merge(fdg_pos.rename("fdg_pos"), left_on="patient_id", right_index=True)
    assert 0.2 < len(data) / len(obs) < 0.8  # FDG-PET only for a (Ki-67 dependent) share
    cox = CoxPHFitter().fit(data[["pfs_months", "pfs_event", "fdg_pos"]], "pfs_months", "pfs_event")
    assert np.exp(cox.params_["fdg_pos"]) > 1.4


@pytest.mark.parametrize("marker", ["egfr_ihc", "cmet_ihc", "igf1r_ihc"])
def test_negative_control_markers_null(real_world, marker):
    cohort, obs = real_world
    path = cohort.tables["pathology"].groupby("patient_id")[marker].first().dropna()
    data = obs.merge(path.rename("x"), left_on="patient_id", right_index=True)
    assert len(data) > 2000
    cox = CoxPHFitter().fit(data[["pfs_months", "pfs_event", "x"]], "pfs_months", "pfs_event")
    assert 0.9 <= np.exp(cox.params_["x"]) <= 1.1


def test_oracle_c_index_real_world(parameters):
    cohort = simulate(parameters, 1000, 31)
    obs = observed_outcomes(cohort.tables).merge(cohort.truth["truth"][["patient_id", "lp_pfs"]])
    c = concordance_index(obs["pfs_months"], -obs["lp_pfs"], obs["pfs_event"])
    assert 0.72 <= c <= 0.82


def test_real_world_mix_and_sunitinib_pancreas_only(real_world):
    cohort, obs = real_world
    share = obs["therapy"].value_counts(normalize=True)
    assert set(share.index) == {"prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy"}
    assert (share > 0.02).all()
    tx = cohort.tables["treatments"].merge(
        cohort.tables["patients"][["patient_id", "primary_site"]]
    )
    assert (tx.loc[tx["therapy"] == "sunitinib", "primary_site"] == "pancreas").all()
    truth = cohort.truth["truth"]
    assert (truth.loc[truth["therapy"] == "sunitinib", "site"] == "pancreas").all()
    # real-world propensity: SSTR-high patients more often get PRRT, pancreas more often targeted
    high = truth["sstr_density"] > truth["sstr_density"].median()
    assert (truth.loc[high, "therapy"] == "prrt_lu177").mean() > (
        truth.loc[~high, "therapy"] == "prrt_lu177"
    ).mean()
    targeted = truth["therapy"].isin(["everolimus", "sunitinib"])
    assert (
        targeted[truth["site"] == "pancreas"].mean()
        > targeted[truth["site"] == "small_intestine"].mean()
    )


def test_truth_consistent_with_observed(real_world):
    cohort, obs = real_world
    truth = cohort.truth["truth"].set_index("patient_id")
    merged = obs.set_index("patient_id").join(truth[["therapy", "true_os_months"]], rsuffix="_true")
    assert (merged["therapy"] == merged["therapy_true"]).all()
    died = merged["os_event"] == 1
    assert np.allclose(merged.loc[died, "os_months"], merged.loc[died, "true_os_months"], atol=0.1)
    assert (merged.loc[~died, "os_months"] <= merged.loc[~died, "true_os_months"] + 0.1).all()
    # observed PFS never before the true PFS (progression is seen at the next assessment)
    both = merged.join(truth[["true_pfs_months"]])
    assert (
        both.loc[both["pfs_event"] == 1, "pfs_months"]
        >= both.loc[both["pfs_event"] == 1, "true_pfs_months"] - 0.1
    ).all()
    cf = cohort.truth["counterfactual"]
    assert len(cf) == 5 * len(truth)
    mine = cf.merge(
        truth.reset_index()[["patient_id", "therapy", "lp_pfs"]], on=["patient_id", "therapy"]
    )
    assert np.allclose(mine["lp_pfs_x"], mine["lp_pfs_y"])
    assert pd.Series(cf["eligible"]).isin([0, 1]).all()
    site = truth["site"].reindex(cf["patient_id"]).to_numpy()
    suni = (cf["therapy"] == "sunitinib").to_numpy()
    assert (cf.loc[suni, "eligible"].to_numpy() == (site[suni] == "pancreas")).all()
    prrt = cf.loc[cf["therapy"] == "prrt_lu177"].set_index("patient_id")
    low_uptake = truth["tlr_true"] < 1.0
    assert (prrt.loc[low_uptake[low_uptake].index, "eligible"] == 0).all()
    keys = ["patient_id", "therapy"]
    assigned = cf.merge(truth.reset_index()[keys], on=keys)
    assert (assigned["eligible"] == 1).all()  # real-world assignment respects eligibility

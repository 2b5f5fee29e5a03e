"""Imaging features from lesion rows of the baseline studies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from feature_tables import PA, PB, PC

from features.build import build_features
from features.imaging import compute_tgr


def test_tgr_worked_example():
    # Ferté 2014: SLD 50 -> 60 mm in 61 days; TG = 3 ln(1.2) / (61 / 30.4375) = 0.27292
    got = compute_tgr(np.array([50.0]), np.array([60.0]), np.array([61 / 30.4375]))[0]
    assert got == pytest.approx(31.3798, abs=1e-3)
    assert compute_tgr([60.0], [60.0], [3.0])[0] == 0.0  # stable disease: 0 %/month
    assert compute_tgr([60.0], [30.0], [3.0])[0] == pytest.approx(100 * (0.5 - 1))
    assert np.isnan(compute_tgr([0.0, 50.0], [50.0, 60.0], [2.0, 0.0])).all()


def test_sstr_pet_baseline_features(cohort):
    a = cohort.loc[PA]
    # baseline = S2 (2020-12-01); S1 (2020-06-01) is outside the 120-day window
    assert a["sstr_pet_done"] == 1.0
    assert a["sstr_suvmax"] == 30.0
    assert a["sstr_suvmean_vw"] == pytest.approx(1830 / 160)
    assert a["sstr_tlr"] == pytest.approx(6.0)
    assert a["krenning_score"] == 4.0  # above liver and above spleen (20)
    assert a["sstr_tumour_volume_ml"] == 150.0  # the bone lesion (SUVmax 4 < liver 5) excluded
    assert a["sstr_total_lesion"] == pytest.approx(15 * 100 + 6 * 50)
    assert a["sstr_suvmax_cv"] == pytest.approx(0.9282080844)
    assert (a["sstr_n_lesions"], a["sstr_n_lesions_liver"], a["sstr_n_lesions_bone"]) == (
        3.0, 2.0, 1.0)
    assert a["sstr_n_lesions_lung"] == 0.0


def test_burden_bone_and_size(cohort):
    a, b = cohort.loc[PA], cohort.loc[PB]
    assert a["hepatic_tumour_burden_pct"] == pytest.approx(10.0)  # 150 mL / 1500 mL
    assert a["bone_involvement"] == 1.0
    assert a["largest_lesion_gt30mm"] == 1.0
    # B: no liver volume on SSTR-PET, CT liver volume 1800 mL and no liver lesion -> 0 %
    assert b["hepatic_tumour_burden_pct"] == 0.0
    assert b["bone_involvement"] == 0.0
    assert b["largest_lesion_gt30mm"] == 0.0


def test_single_lesion_and_missing_spleen(cohort):
    b = cohort.loc[PB]
    assert pd.isna(b["sstr_suvmax_cv"])  # < 2 lesions
    assert b["krenning_score"] == 3.0  # above liver, spleen unknown: capped at 3


def test_fdg_and_netpet(cohort):
    a, b, c = cohort.loc[PA], cohort.loc[PB], cohort.loc[PC]
    assert (a["fdg_pet_done"], a["fdg_positive"], a["fdg_suvmax"]) == (1.0, 1.0, 6.0)
    assert a["netpet_grade"] == 5.0  # FDG+ bone lesion, no SSTR-expressing bone lesion
    assert (b["fdg_pet_done"], b["fdg_positive"], b["netpet_grade"]) == (1.0, 0.0, 1.0)
    assert (c["fdg_pet_done"], c["netpet_grade"]) == (0.0, 0.0)
    assert pd.isna(c["fdg_positive"])


@pytest.mark.parametrize(("fdg_suvmax", "grade"), [(5.0, 2.0), (9.0, 3.0), (15.0, 4.0)])
def test_netpet_grades_2_to_4_by_fdg_over_sstr(tables, config, fdg_suvmax, grade):
    les = tables["lesions"]
    les.loc[les["study_id"].eq("F2"), "suvmax"] = fdg_suvmax  # SSTR SUVmax of B is 12
    row = build_features(tables, config)[0].set_index("patient_id").loc[PB]
    assert row["fdg_positive"] == 1.0
    assert row["netpet_grade"] == grade


def test_ct_sld_and_growth_rate(cohort):
    a, b = cohort.loc[PA], cohort.loc[PB]
    # C1 (2020-06-10, SLD 60) -> C2 MRI (2020-12-15, SLD 70), 188 days; C0 is outside 365 days
    assert a["ct_sld_mm"] == 70.0
    expected = 100 * (math.exp(3 * math.log(70 / 60) / (188 / 30.4375)) - 1)
    assert a["tgr_pct_month"] == pytest.approx(expected)
    assert a["tgr_available"] == 1.0
    assert a["tgr_pct_month"] == pytest.approx(7.774589, abs=1e-5)
    assert b["ct_sld_mm"] == 18.0
    assert b["tgr_available"] == 0.0
    assert pd.isna(b["tgr_pct_month"])


def test_no_imaging_gives_indicators_zero_and_values_missing(cohort):
    c = cohort.loc[PC]
    assert (c["sstr_pet_done"], c["fdg_pet_done"], c["tgr_available"]) == (0.0, 0.0, 0.0)
    cols = ["sstr_suvmax", "krenning_score", "sstr_n_lesions", "hepatic_tumour_burden_pct",
            "bone_involvement", "ct_sld_mm", "largest_lesion_gt30mm"]
    assert c[cols].isna().all()


def test_sstr_study_without_lesions_scores_zero(tables, config):
    les = tables["lesions"]
    tables["lesions"] = les.loc[~les["study_id"].eq("S3")]
    b = build_features(tables, config)[0].set_index("patient_id").loc[PB]
    assert (b["sstr_pet_done"], b["krenning_score"], b["sstr_n_lesions"]) == (1.0, 0.0, 0.0)
    assert b["sstr_tumour_volume_ml"] == 0.0
    assert pd.isna(b["sstr_suvmax"])

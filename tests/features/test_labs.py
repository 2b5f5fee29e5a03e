"""Biomarker features and the CKD-EPI 2021 equation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from feature_tables import PA, PB, PC

from features.labs import compute_egfr_ckd_epi_2021


class EgfrCases:
    """Published / hand-worked CKD-EPI 2021 values (Inker NEJM 2021; NKF calculator)."""

    # (creatinine mg/dL, age, sex, expected eGFR) - expected from the equation by hand
    cases = [
        (0.8, 50, "F", 89.707),  # NKF worked example: ~90
        (1.0, 60, "M", 86.163),  # NKF calculator: 86
        (0.5, 30, "F", 129.317),  # below kappa: alpha branch
        (2.0, 80, "M", 33.118),
    ]


@pytest.mark.parametrize(("scr_mg_dl", "age", "sex", "expected"), EgfrCases.cases)
def test_egfr_ckd_epi_2021_worked_examples(scr_mg_dl, age, sex, expected):
    got = compute_egfr_ckd_epi_2021(np.array([scr_mg_dl * 88.42]), np.array([age]), [sex])
    assert got[0] == pytest.approx(expected, abs=1e-3)


def test_egfr_female_50_formula_step_by_step():
    ratio = 0.8 / 0.7
    expected = 142 * ratio**-1.200 * 0.9938**50 * 1.012
    got = compute_egfr_ckd_epi_2021([70.736], [50], ["F"])[0]
    assert got == pytest.approx(expected, rel=1e-9)
    assert round(got) == 90


def test_egfr_missing_inputs_give_nan():
    got = compute_egfr_ckd_epi_2021([np.nan, 80.0, 80.0, 0.0], [50, np.nan, 50, 50],
                                    ["F", "F", None, "M"])
    assert np.isnan(got).all()


def test_latest_values_in_window(cohort):
    a = cohort.loc[PA]
    assert a["cga_log10_uln"] == pytest.approx(math.log10(4.0))
    assert a["alp"] == 150.0
    assert a["alp_x_uln"] == pytest.approx(1.25)
    assert a["albumin"] == 38.0  # 2020-09-01 value is outside 90 days; 2021-01-11 is after
    assert (a["haemoglobin"], a["bilirubin"], a["nse"], a["hiaa_5"], a["ppi_use"]) == (
        12.5, 8.0, 15.0, 120.0, 1.0)
    assert a["egfr_ckd_epi_2021"] == pytest.approx(84.0212213, abs=1e-6)
    b = cohort.loc[PB]
    assert b["creatinine"] == pytest.approx(88.42)  # the 500 µmol/L value is after the index
    assert b["egfr_ckd_epi_2021"] == pytest.approx(81.0071360, abs=1e-6)
    assert b["platelets"] == 300.0  # same-day tie: higher value


def test_nlr_plr_use_counts_from_one_date(cohort):
    a = cohort.loc[PA]
    # neutrophils alone on 2021-01-05 are ignored: ratios come from 2020-12-20
    assert a["nlr"] == pytest.approx(2.0)
    assert a["plr"] == pytest.approx(125.0)


def test_cga_series_slope_and_doubling_time(cohort):
    a = cohort.loc[PA]
    # CgA doubles every 165 days (100, 200, 400): slope ln2 / (165 / 30.4375) per month
    assert a["cga_n_values"] == 3.0
    assert a["cga_log_slope_per_month"] == pytest.approx(math.log(2) / (165 / 30.4375))
    assert a["cga_doubling_time_months"] == pytest.approx(165 / 30.4375)
    b = cohort.loc[PB]
    assert b["cga_log10_uln"] == pytest.approx(math.log10(0.5))
    assert b["cga_n_values"] == 1.0
    assert pd.isna(b["cga_log_slope_per_month"])


def test_falling_cga_has_slope_but_no_doubling_time(tables, config):
    from features.build import build_features

    labs = tables["labs"]
    labs.loc[labs["patient_id"].eq(PA) & labs["analyte"].eq("cga"), "value"] = [400.0, 200.0,
                                                                               100.0]
    row = build_features(tables, config)[0].set_index("patient_id").loc[PA]
    assert row["cga_log_slope_per_month"] < 0
    assert pd.isna(row["cga_doubling_time_months"])


def test_no_labs_gives_missing_not_zero(cohort):
    c = cohort.loc[PC]
    cols = ["cga_log10_uln", "alp", "albumin", "nlr", "plr", "egfr_ckd_epi_2021", "ppi_use"]
    assert c[cols].isna().all()
    assert c["cga_n_values"] == 0.0


def test_uln_settings_change_fold_features(tables):
    from features.build import build_features
    from features.index import FeatureConfig

    row = build_features(tables, FeatureConfig(cga_uln=200.0, alp_uln=150.0))[0]
    row = row.set_index("patient_id").loc[PA]
    assert row["cga_log10_uln"] == pytest.approx(math.log10(2.0))
    assert row["alp_x_uln"] == pytest.approx(1.0)

"""Values as clinicians read them: back-transformed CgA, CgA doubling time, words for codes.

The expected texts are computed by hand from the feature definitions (features/labs.py):
``cga_log10_uln = log10(CgA / ULN)`` with ULN 100 ng/mL, and ``cga_log_slope_per_month`` is the
least-squares slope of the *natural* log of CgA per month, so the change per month is
``100 (e^slope - 1) %`` and the doubling time ``ln 2 / slope``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from clinical import INDEX_THERAPIES, SITES, site_label, therapy_label
from features.dictionary import build_dictionary
from features.index import FeatureConfig
from models.explain import ShapResult
from models.explain_text import (
    describe_driver,
    display_scale,
    doubling_time_months,
    format_value,
    percent_per_month,
    spec_of,
    subject_of,
    tidy,
)


@pytest.fixture(scope="module")
def dictionary():
    return build_dictionary(FeatureConfig(), centres=["C01"])


def _text(dictionary, variable, value):
    return format_value(value, spec_of(dictionary, variable), variable)


class CgaCases:
    """(log10 of CgA / ULN, expected text): 10**x × ULN and 10**x × 100 ng/mL."""

    cases = [
        (1.5, "31.6 × ULN (about 3,160 ng/mL)"),  # 10**1.5 = 31.62; 3,162 ng/mL
        (0.0, "1 × ULN (about 100 ng/mL)"),
        (1.0, "10 × ULN (about 1,000 ng/mL)"),
        (-0.64, "0.229 × ULN (about 22.9 ng/mL)"),  # 10**-0.64 = 0.2291
        (-0.3, "0.501 × ULN (about 50.1 ng/mL)"),
        (3.0, "1,000 × ULN (about 100,000 ng/mL)"),
        (-2.0, "at most 0.01 × ULN (1 ng/mL or less)"),  # the 1 ng/mL floor of the feature
    ]


@pytest.mark.parametrize(("log10_multiple", "expected"), CgaCases.cases)
def test_cga_is_shown_back_transformed(dictionary, log10_multiple, expected):
    assert _text(dictionary, "cga_log10_uln", log10_multiple) == expected


@pytest.mark.parametrize("log10_multiple", [-0.64, -1.2, -0.01])
def test_negative_log_values_are_multiples_below_one(dictionary, log10_multiple):
    text = _text(dictionary, "cga_log10_uln", log10_multiple)
    assert not text.startswith("-")
    assert "-" not in text
    multiple = float(text.split(" × ")[0].removeprefix("at most "))
    assert 0 < multiple < 1
    assert multiple == pytest.approx(10**log10_multiple, rel=5e-3)


def test_cga_without_a_known_uln_is_a_multiple_only():
    spec = {"dtype": "numeric", "unit": "log10(CgA / ULN)",
            "display": {"transform": "log10_multiple", "unit": "× ULN"}}
    assert format_value(1.5, spec) == "31.6 × ULN"
    assert format_value(-0.64, spec) == "0.229 × ULN"


def test_no_log_value_reaches_the_text(dictionary):
    for value in (1.5, -0.64, 0.3):
        text = _text(dictionary, "cga_log10_uln", value)
        assert "log" not in text
        assert str(value) not in text


class TrendCases:
    """(natural-log slope per month, expected text)."""

    cases = [
        # 100 (e^0.028 - 1) = 2.84 %; ln 2 / 0.028 = 24.76 months
        (0.028, "+2.8 % per month (doubling time 24.8 months)"),
        # 100 (e^-0.05 - 1) = -4.88 %; ln 2 / 0.05 = 13.86 months
        (-0.05, "-4.9 % per month (halving time 13.9 months)"),
        # ln 2 / 0.1 = 6.93 months; 100 (e^0.1 - 1) = 10.5 %
        (0.1, "+10.5 % per month (doubling time 6.9 months)"),
        # ln 2 / 0.004 = 173 months: beyond ten years
        (0.004, "+0.4 % per month (doubling time over 10 years)"),
        (0.0, "stable (about 0 % per month)"),
        (0.0001, "stable (about 0 % per month)"),
    ]


@pytest.mark.parametrize(("slope", "expected"), TrendCases.cases)
def test_cga_trend_is_percent_per_month_with_doubling_time(dictionary, slope, expected):
    assert _text(dictionary, "cga_log_slope_per_month", slope) == expected


def test_doubling_time_is_ln2_over_the_natural_log_slope():
    assert doubling_time_months(0.028) == pytest.approx(math.log(2) / 0.028)
    assert doubling_time_months(0.028) == pytest.approx(24.755, abs=1e-3)
    assert doubling_time_months(-0.05) == pytest.approx(13.863, abs=1e-3)  # halving time
    assert doubling_time_months(0.0) == math.inf
    assert percent_per_month(math.log(2)) == pytest.approx(100.0)  # doubles in one month
    assert percent_per_month(-math.log(2)) == pytest.approx(-50.0)


def test_doubling_time_feature_agrees_with_the_trend_text(dictionary):
    slope = 0.028
    feature = math.log(2) / slope  # how features/labs.py computes cga_doubling_time_months
    assert _text(dictionary, "cga_doubling_time_months", feature) == "24.8 months"
    assert "24.8 months" in _text(dictionary, "cga_log_slope_per_month", slope)


def test_missing_values_say_not_measured_and_why(dictionary):
    assert _text(dictionary, "cga_log10_uln", np.nan) == "not measured"
    assert _text(dictionary, "cga_log_slope_per_month", None) == (
        "not measured (fewer than two CgA values)")
    assert _text(dictionary, "cga_doubling_time_months", np.nan).startswith("not applicable")
    assert _text(dictionary, "ki67_percent", pd.NA) == "not measured"
    assert _text(dictionary, "ecog", np.nan) == "not recorded"
    assert _text(dictionary, "krenning_score", np.nan) == "not measured (no SSTR-PET)"


def test_unknown_primary_differs_from_not_recorded(dictionary):
    unknown = _text(dictionary, "primary_site", "unknown")
    missing = _text(dictionary, "primary_site", np.nan)
    assert unknown == "Unknown primary (CUP)"
    assert missing == "not recorded"
    assert unknown != missing


@pytest.mark.parametrize("code", INDEX_THERAPIES)
def test_therapies_are_shown_by_their_clinical_label(dictionary, code):
    text = _text(dictionary, "therapy", code)
    assert text == therapy_label(code)
    assert "_" not in text
    assert _text(dictionary, "therapy", "prrt_lu177") == "PRRT (177Lu-DOTATATE)"


@pytest.mark.parametrize("code", SITES)
def test_sites_are_shown_by_their_clinical_label(dictionary, code):
    assert _text(dictionary, "primary_site", code) == site_label(code)


def test_imaging_scores_in_words(dictionary):
    assert _text(dictionary, "netpet_grade", 0.0) == "not measured (no FDG-PET)"
    assert _text(dictionary, "netpet_grade", 1.0) == "1 (FDG-negative)"
    assert _text(dictionary, "krenning_score", 3.0) == "3 (uptake above liver)"
    assert _text(dictionary, "krenning_score", 4.0) == "4 (uptake above spleen)"
    assert _text(dictionary, "sstr_suvmax", 24.3) == "24.3"  # SUV quoted without g/mL
    assert _text(dictionary, "differentiation", "well") == "well differentiated"
    assert _text(dictionary, "sex", "F") == "female"


def test_measured_flags_name_the_measure(dictionary):
    spec = spec_of(dictionary, "ki67_available")
    assert subject_of(spec, "ki67_available") == "Ki-67 index"
    assert format_value(0.0, spec, "ki67_available") == "not measured"
    assert format_value(1.0, spec, "ki67_available") == "measured"
    fdg = spec_of(dictionary, "fdg_pet_done")
    sentence = describe_driver(subject_of(fdg, "fdg_pet_done"), format_value(0.0, fdg),
                               0.2, outcome="pfs")
    assert sentence.startswith("FDG-PET not done raises the risk of progression")


def test_every_category_of_the_dictionary_is_shown_in_words(dictionary):
    for entry in dictionary["features"]:
        if entry["dtype"] != "categorical" or entry["role"] == "id" or entry["name"] == "centre_id":
            continue
        for code in entry["categories"]:
            assert "_" not in format_value(code, entry, entry["name"]), (entry["name"], code)


def test_krenning_comes_before_suvmax_before_suvmean(dictionary):
    names = [entry["name"] for entry in dictionary["features"]]
    assert names.index("krenning_score") < names.index("sstr_suvmax")
    assert names.index("sstr_suvmax") < names.index("sstr_suvmean_vw")


def test_unknown_display_transform_is_a_clear_error():
    spec = {"name": "x", "dtype": "numeric", "display": {"transform": "cube_root"}}
    with pytest.raises(ValueError, match="'x'.*cube_root.*log10_multiple"):
        format_value(1.0, spec, "x")


def test_average_patient_comparison_is_named_as_such():
    sentence = describe_driver("Ki-67 index", "25 % (G3)", math.log(1.38), outcome="os")
    assert sentence == ("Ki-67 index 25 % (G3) raises the risk of death "
                        "(1.38 × the hazard of an average patient).")
    assert "hazard ratio" not in sentence


@pytest.fixture
def drivers(dictionary):
    """Tidy drivers of two patients with codes, log values and missing values in their rows."""
    variables = ["therapy", "primary_site", "cga_log10_uln", "cga_log_slope_per_month",
                 "ki67_percent", "ki67_available", "netpet_grade", "krenning_score"]
    frame = pd.DataFrame(
        {"therapy": ["prrt_lu177", "liver_directed"],
         "primary_site": ["small_intestine", None],
         "cga_log10_uln": [1.5, -0.64],
         "cga_log_slope_per_month": [0.028, np.nan],
         "ki67_percent": [np.nan, 12.0],
         "ki67_available": [0.0, 1.0],
         "netpet_grade": [0.0, 3.0],
         "krenning_score": [3.0, np.nan]},
        index=["P1", "P2"],
    )
    shap = pd.DataFrame(np.linspace(-0.4, 0.4, 16).reshape(2, 8), index=frame.index,
                        columns=variables)
    result = ShapResult(shap, 0.1, 0.1 + shap.sum(axis=1).to_numpy(), tuple(variables),
                        "log_hazard")
    return tidy(result, frame, dictionary, outcome="pfs", assumed={"ki67_percent": 8.2})


def test_rendered_driver_text_holds_no_code(drivers):
    text = " ".join(drivers[["label", "value_text", "description", "sentence"]]
                    .to_numpy().ravel().astype(str))
    for code in ("prrt_lu177", "prrt lu177", "small_intestine", "liver_directed", "log10",
                 "missing", "hazard ratio", "_"):
        assert code not in text
    assert "PRRT (177Lu-DOTATATE)" in text
    assert "Liver-directed therapy" in text
    assert "Small intestine (midgut)" in text


def test_driver_rows_show_clinical_values(drivers):
    rows = drivers.set_index(["row", "variable"])
    assert rows.loc[("P1", "cga_log10_uln"), "description"] == (
        "Chromogranin A 31.6 × ULN (about 3,160 ng/mL)")
    assert rows.loc[("P2", "cga_log10_uln"), "value_text"] == "0.229 × ULN (about 22.9 ng/mL)"
    assert rows.loc[("P1", "cga_log_slope_per_month"), "value_text"] == (
        "+2.8 % per month (doubling time 24.8 months)")
    assert rows.loc[("P1", "ki67_percent"), "description"] == (
        "Ki-67 index not measured (assumed 8.2 % (G2))")
    assert rows.loc[("P1", "ki67_available"), "description"] == "Ki-67 index not measured"
    assert rows.loc[("P2", "ki67_available"), "description"] == "Ki-67 index measured"
    assert rows.loc[("P1", "netpet_grade"), "value_text"] == "not measured (no FDG-PET)"
    assert rows.loc[("P2", "primary_site"), "description"] == "Primary tumour site not recorded"
    assert rows.loc[("P1", "krenning_score"), "value_text"] == "3 (uptake above liver)"
    assert rows.loc[("P2", "krenning_score"), "value_text"] == "not measured (no SSTR-PET)"
    assert drivers["sentence"].str.contains("× the hazard of an average patient").all()


def test_chart_axes_use_the_clinical_scale(dictionary):
    values = np.array([1.5, -0.64, np.nan])
    x, unit, log_axis = display_scale(values, spec_of(dictionary, "cga_log10_uln"))
    np.testing.assert_allclose(x[:2], [10**1.5, 10**-0.64])
    assert np.isnan(x[2])
    assert (unit, log_axis) == ("× ULN, log scale", True)
    x, unit, log_axis = display_scale(np.array([0.028]), spec_of(dictionary,
                                                                 "cga_log_slope_per_month"))
    np.testing.assert_allclose(x, [100 * (math.exp(0.028) - 1)])
    assert (unit, log_axis) == ("% per month", False)
    x, unit, _ = display_scale(np.array([24.3]), spec_of(dictionary, "sstr_suvmax"))
    assert (x[0], unit) == (24.3, "")
    assert display_scale(np.array([5.0]), spec_of(dictionary, "ki67_percent"))[1] == "%"


def test_cga_dependence_plot_is_drawn_in_multiples_of_the_uln(dictionary):
    import matplotlib.pyplot as plt

    from models.explain_plots import _dependence

    frame = pd.DataFrame({"cga_log10_uln": [-1.0, 0.0, 1.0, 2.0, np.nan]})
    shap = pd.DataFrame({"cga_log10_uln": [-0.2, -0.1, 0.1, 0.3, 0.0]})
    result = ShapResult(shap, 0.0, shap["cga_log10_uln"].to_numpy(), ("cga_log10_uln",),
                        "log_hazard")
    fig = _dependence(result, frame, dictionary, "cga_log10_uln", "log hazard")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Chromogranin A (× ULN, log scale)"
    shown = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    np.testing.assert_allclose(sorted(shown)[1:], [0.1, 1.0, 10.0, 100.0])
    assert ax.get_legend().get_texts()[0].get_text() == "not measured"
    plt.close(fig)

"""Clinical value texts, driver sentences and the tidy table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.explain import ShapResult, group_by_variable, tree_shap
from models.explain_text import (
    describe_driver,
    describe_value,
    direction_of,
    format_value,
    spec_of,
    tidy,
    who_grade,
)


class FormatValueCases:
    """(variable, value, expected text)."""

    cases = [
        ("ki67_percent", 15.0, "15 % (G2)"),
        ("ki67_percent", 2.9, "2.9 % (G1)"),
        ("ki67_percent", 3.0, "3 % (G2)"),
        ("ki67_percent", 20.0, "20 % (G2)"),
        ("ki67_percent", 20.5, "20.5 % (G3)"),
        ("ki67_percent", np.nan, "not measured"),
        ("tumour_liver_ratio", 4.2, "4.2"),
        ("tumour_liver_ratio", 4.234, "4.2"),
        ("tumour_liver_ratio", None, "not measured"),
        ("cga_x_uln", 0.534, "0.53 x ULN"),
        ("cga_x_uln", 123.4, "123 x ULN"),
        ("age", 63.0, "63 years"),
        ("ecog", 1.0, "1"),
        ("primary_site", "small_intestine", "small intestine"),
        ("primary_site", "pancreas", "pancreas"),
        ("primary_site", pd.NA, "not measured"),
        ("functional_syndrome", True, "yes"),
        ("functional_syndrome", 0.0, "no"),
    ]


@pytest.mark.parametrize(("variable", "value", "expected"), FormatValueCases.cases)
def test_format_value_in_clinical_units(dictionary, variable, value, expected):
    assert format_value(value, spec_of(dictionary, variable), variable) == expected


def test_category_labels_from_the_dictionary_are_used():
    spec = {"dtype": "category", "categories": {"si": "small intestine (midgut)"}}
    assert format_value("si", spec) == "small intestine (midgut)"
    spec = {"dtype": "category", "categories": [{"value": "lung", "label": "bronchopulmonary"}]}
    assert format_value("lung", spec) == "bronchopulmonary"
    assert format_value(7.26, {}) == "7.3"


def test_who_grade_boundaries():
    assert [who_grade(v) for v in (0.5, 2.99, 3.0, 20.0, 20.01, 55)] == [
        "G1",
        "G1",
        "G2",
        "G2",
        "G3",
        "G3",
    ]


def test_describe_value_phrases():
    assert describe_value("Ki-67 index", "15 % (G2)") == "Ki-67 index 15 % (G2)"
    assert describe_value("Tumour-to-liver ratio", "4.2") == "Tumour-to-liver ratio 4.2"
    assert describe_value("Primary site", "pancreas") == "Primary site: pancreas"
    assert describe_value("Ki-67 index", "not measured") == "Ki-67 index not measured"


class DriverSentenceCases:
    """(outcome, scale, shap, words that must appear)."""

    cases = [
        ("pfs", None, 0.3, "raises the risk of progression"),
        ("pfs", None, -0.3, "lowers the risk of progression"),
        ("os", None, 0.3, "raises the risk of death"),
        ("os", None, -0.3, "lowers the risk of death"),
        ("response", None, 0.3, "makes a response more likely"),
        ("response", None, -0.3, "makes a response less likely"),
        ("pfs", "log_time", 0.3, "lowers the risk of progression"),  # AFT: longer time
        ("os", "log_time", -0.3, "raises the risk of death"),
        ("pfs", None, 0.0, "does not change the risk of progression"),
    ]


@pytest.mark.parametrize(("outcome", "scale", "value", "words"), DriverSentenceCases.cases)
def test_driver_sentence_direction_words(outcome, scale, value, words):
    sentence = describe_driver("Ki-67 index", "15 % (G2)", value, outcome=outcome, scale=scale)
    assert sentence.startswith("Ki-67 index 15 % (G2) ")
    assert words in sentence
    assert sentence.endswith(".")


def test_driver_sentence_reports_the_ratio():
    sentence = describe_driver("Ki-67 index", "25 % (G3)", math.log(1.5), outcome="pfs")
    assert "(1.50 × the hazard of an average patient)" in sentence
    assert "hazard ratio" not in sentence
    assert "(0.50 × the odds of an average patient)" in describe_driver(
        "Age", "70 years", math.log(0.5), outcome="response"
    )


def test_driver_sentence_rejects_unknown_outcome():
    with pytest.raises(ValueError, match="outcome"):
        describe_driver("Age", "70 years", 0.1, outcome="toxicity")


def test_direction_of_follows_the_scale():
    assert direction_of(0.2, "log_hazard") == "raises"
    assert direction_of(0.2, "log_time") == "lowers"
    assert direction_of(-0.2, "log_odds") == "lowers"
    assert direction_of(0.0, "log_odds") == "none"


def test_tidy_table_of_grouped_tree_shap(cohort, xgb_models, dictionary):
    grouped = group_by_variable(
        tree_shap(xgb_models["booster_cox"], cohort.design), cohort.variable_of
    )
    table = tidy(grouped, cohort.frame, dictionary, top_k=3, outcome="pfs")
    assert list(table.columns) == [
        "row",
        "rank",
        "variable",
        "label",
        "value_text",
        "description",
        "shap",
        "direction",
        "sentence",
    ]
    assert len(table) == 3 * len(cohort.frame)
    assert table.groupby("row")["rank"].apply(list).eq([[1, 2, 3]] * len(cohort.frame)).all()
    first = table.iloc[:3]
    assert first["row"].eq(cohort.frame.index[0]).all()
    patient_shap = grouped.values.iloc[0].abs().sort_values(ascending=False)
    assert first["variable"].tolist() == patient_shap.index[:3].tolist()
    # every row's text agrees with the frame and the sign
    ki67 = table[table["variable"] == "ki67_percent"].set_index("row")
    for pseudonym, row in ki67.head(40).iterrows():
        expected = format_value(
            cohort.frame.loc[pseudonym, "ki67_percent"],
            spec_of(dictionary, "ki67_percent"),
            "ki67_percent",
        )
        assert row["value_text"] == expected
        assert row["description"].startswith("Ki-67 index")
    assert ((table["shap"] > 0) == (table["direction"] == "raises")).all()
    raises = table[table["direction"] == "raises"]["sentence"]
    assert raises.str.contains("raises the risk of progression").all()


def test_tidy_shows_missing_inputs_as_not_measured(cohort, xgb_models, dictionary):
    grouped = group_by_variable(
        tree_shap(xgb_models["booster_binary"], cohort.design), cohort.variable_of
    )
    table = tidy(grouped, cohort.frame, dictionary)
    ki67 = table[table["variable"] == "ki67_percent"].set_index("row")
    missing_rows = cohort.frame.index[cohort.frame["ki67_percent"].isna()]
    assert (ki67.loc[missing_rows, "value_text"] == "not measured").all()
    assert (ki67.loc[missing_rows, "description"] == "Ki-67 index not measured").all()
    assert np.isfinite(ki67.loc[missing_rows, "shap"]).all()
    site = table[table["variable"] == "primary_site"].set_index("row")
    pancreas = cohort.frame.index[cohort.frame["primary_site"] == "pancreas"][0]
    assert site.loc[pancreas, "description"] == "Primary site: pancreas"
    assert len(table) == grouped.values.size


def test_tidy_without_frame_or_dictionary():
    values = pd.DataFrame({"x_a": [0.2, -0.1]}, index=["P1", "P2"])
    result = ShapResult(values, 0.0, values["x_a"].to_numpy(), ("x_a",), "log_odds")
    table = tidy(result, None, None)
    assert table["label"].tolist() == ["X a", "X a"]
    assert table["value_text"].tolist() == ["", ""]
    assert table["direction"].tolist() == ["raises", "lowers"]
    with pytest.raises(ValueError, match="rows"):
        tidy(result, pd.DataFrame({"x_a": [1.0]}), None)

"""DesignMatrix and LinearPreprocessor: encoding, unseen levels, NaN handling, JSON round trip."""

import json

import numpy as np
import pandas as pd
import pytest

from models.design import DesignMatrix, LinearPreprocessor


def test_design_columns_follow_dictionary_and_roles(table, dictionary):
    design = DesignMatrix().fit(table, dictionary)
    assert design.columns_[:5] == [f"primary_site__{s}" for s in
                                   ["pancreas", "small_intestine", "lung", "other", "rectum"]]
    assert "therapy__sunitinib" in design.columns_
    # ids, non-predictor groups and targets are not inputs
    for name in ["patient_id", "centre_id", "response", "pfs_months", "pfs_event"]:
        assert not any(design.variable_of_[c] == name for c in design.columns_)
    assert design.variable_of_["primary_site__lung"] == "primary_site"
    assert design.variable_of_["ki67_percent"] == "ki67_percent"
    assert design.treatment_ == "therapy"


def test_transform_is_float64_keeps_numeric_nan_and_one_hot_sums_to_one(table, dictionary):
    X = DesignMatrix().fit(table, dictionary).transform(table)
    assert (X.dtypes == np.float64).all()
    assert X.index.equals(table.index)
    assert X["ki67_percent"].isna().sum() == table["ki67_percent"].isna().sum() > 0
    site = X[[c for c in X.columns if c.startswith("primary_site__")]]
    np.testing.assert_array_equal(site.sum(axis=1).to_numpy(), 1.0)
    assert X["primary_site__rectum"].sum() == 0  # level from the dictionary, never seen


def test_unseen_and_missing_categories_give_all_zeros(table, dictionary):
    design = DesignMatrix().fit(table, dictionary)
    rows = table.iloc[:3].copy()
    rows["primary_site"] = ["atlantis", None, "pancreas"]
    X = design.transform(rows)
    site = X[design.columns_of("primary_site")].to_numpy()
    np.testing.assert_array_equal(site[0], 0.0)
    np.testing.assert_array_equal(site[1], 0.0)
    assert site[2].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_transform_does_not_mutate_and_needs_inputs(table, dictionary):
    before = table.copy()
    design = DesignMatrix().fit(table, dictionary)
    design.transform(table)
    pd.testing.assert_frame_equal(table, before)
    with pytest.raises(ValueError, match="ecog"):
        design.transform(table.drop(columns="ecog"))
    with pytest.raises(ValueError, match="not fitted"):
        DesignMatrix().transform(table)


def test_to_dict_from_dict_round_trip(table, dictionary):
    design = DesignMatrix().fit(table, dictionary)
    state = json.loads(json.dumps(design.to_dict()))
    again = DesignMatrix.from_dict(state)
    assert again.columns_ == design.columns_
    assert again.variable_of_ == design.variable_of_
    pd.testing.assert_frame_equal(again.transform(table), design.transform(table))


def test_categories_learned_from_rows_when_dictionary_has_none(table, dictionary):
    entries = [dict(e) for e in dictionary["features"]]
    for e in entries:
        if e["name"] == "primary_site":
            e.pop("categories")
    design = DesignMatrix().fit(table, {"version": 1, "features": entries})
    assert design.levels_["primary_site"] == sorted(table["primary_site"].unique())


def test_linear_preprocessor_imputes_flags_scales_and_round_trips(table, dictionary):
    X = DesignMatrix().fit(table, dictionary).transform(table)
    prep = LinearPreprocessor().fit(X)
    out = prep.transform(X)
    assert not out.isna().any().any()
    assert "ki67_percent__missing" in out.columns
    assert "ecog__missing" not in out.columns
    np.testing.assert_allclose(out.mean().to_numpy(), 0.0, atol=1e-10)
    flag = out["ki67_percent__missing"].to_numpy()
    assert np.unique(flag).size == 2
    again = LinearPreprocessor.from_dict(json.loads(json.dumps(prep.to_dict())))
    pd.testing.assert_frame_equal(again.transform(X), out)

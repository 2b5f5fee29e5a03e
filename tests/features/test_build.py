"""The assembled cohort: shape, dtypes, no dates, purity and order invariance."""

from __future__ import annotations

import pandas as pd
import pytest

from features.build import build_features


def test_one_row_per_prediction_and_no_dates(tables, config):
    cohort, _ = build_features(tables, config)
    assert not cohort.duplicated(["patient_id", "line"]).any()
    assert len(cohort) == 4
    assert not any(pd.api.types.is_datetime64_any_dtype(t) for t in cohort.dtypes)
    assert list(cohort.columns[:7]) == ["patient_id", "line", "centre_id", "sex",
                                        "primary_site", "who_grade", "therapy"]
    assert cohort["line"].dtype == "int64"


def test_inputs_are_not_mutated(tables, config):
    copies = {name: frame.copy(deep=True) for name, frame in tables.items()}
    build_features(tables, config)
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, copies[name])


def test_row_order_of_inputs_does_not_matter(tables, config):
    before, _ = build_features(tables, config)
    shuffled = {name: frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
                for name, frame in tables.items()}
    after, _ = build_features(shuffled, config)
    pd.testing.assert_frame_equal(before, after)


def test_missing_table_is_a_clear_error(tables, config):
    del tables["lesions"]
    with pytest.raises(KeyError, match="lesions"):
        build_features(tables, config)


def test_empty_long_tables_give_missing_features(tables, config):
    for name in ("labs", "pathology", "imaging_studies", "lesions"):
        tables[name] = tables[name].iloc[0:0]
    cohort, _ = build_features(tables, config)
    assert len(cohort) == 4
    assert cohort["ki67_percent"].isna().all()
    assert cohort["sstr_suvmax"].isna().all()
    assert (cohort["sstr_pet_done"] == 0).all()
    assert (cohort["netpet_grade"] == 0).all()
    assert (cohort["cga_n_values"] == 0).all()


@pytest.mark.parametrize("kind", ["nullable", "categorical"])
def test_input_dtype_variants_give_the_same_cohort(tables, config, kind):
    before, _ = build_features(tables, config)
    if kind == "nullable":
        variant = {name: frame.convert_dtypes() for name, frame in tables.items()}
    else:
        variant = {name: frame.astype({c: "category" for c in frame.columns
                                       if frame[c].dtype == object})
                   for name, frame in tables.items()}
    after, _ = build_features(variant, config)
    pd.testing.assert_frame_equal(before, after)


def test_no_assessed_index_line_gives_an_empty_cohort_with_all_columns(tables, config):
    tables["assessments"] = tables["assessments"].iloc[0:0]
    cohort, dictionary = build_features(tables, config)
    assert len(cohort) == 0
    assert list(cohort.columns) == [e["name"] for e in dictionary["features"]]

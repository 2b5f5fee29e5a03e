"""Request checks against the feature dictionary: typed, ranged, value-free messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow.types import DataType
from mlops_helpers import DICTIONARY

from pipeline.serving import (
    RequestError,
    build_input_spec,
    build_signature,
    check_request,
    convert_units,
    missing_inputs,
    output_columns,
    synthetic_example,
    unit_field_names,
)

FIELDS = ["age_at_index", "ki67_percent", "therapy", "functional_syndrome"]


@pytest.fixture
def spec():
    return build_input_spec(DICTIONARY, FIELDS, required=("therapy",))


def _row(**kw):
    base = {"age_at_index": 63, "ki67_percent": 12.5, "therapy": "prrt_lu177",
            "functional_syndrome": 1}
    return pd.DataFrame([{**base, **kw}])


def test_good_request_is_typed_float64_and_ordered(spec):
    frame = pd.concat([_row(), _row(age_at_index=70.5)])[list(reversed(FIELDS))]
    out = check_request(frame, spec)
    assert list(out.columns) == FIELDS
    assert out["age_at_index"].dtype == np.float64
    assert out["age_at_index"].tolist() == [63.0, 70.5]
    assert out["therapy"].tolist() == ["prrt_lu177", "prrt_lu177"]


def test_optional_fields_may_be_absent_or_null(spec):
    out = check_request(_row(ki67_percent=None).drop(columns="age_at_index"), spec)
    assert out["age_at_index"].isna().all()
    assert out["ki67_percent"].isna().all()


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"ki67_percent": 431.77}, "ki67_percent", "outside the allowed range [0, 100]"),
    ({"age_at_index": "sixty-three"}, "age_at_index", "must be a finite number"),
    ({"age_at_index": float("inf")}, "age_at_index", "must be a finite number"),
    ({"age_at_index": [63.5]}, "age_at_index", "must be a finite number"),
    ({"functional_syndrome": 0.5}, "functional_syndrome", "must be 0 or 1"),
    ({"therapy": "radium-223"}, "therapy", "must be one of"),
    ({"therapy": 17.25}, "therapy", "must be a text category"),
    ({"therapy": None}, "therapy", "is required"),
    ({"functional_syndrome": True}, "functional_syndrome", "true/false is not accepted"),
    ({"ki67_percent": False}, "ki67_percent", "true/false is not accepted"),
    ({"age_at_index": "63.5"}, "age_at_index", "must be a finite number"),
])
def test_bad_values_name_the_field_never_the_value(spec, change, field, words):
    with pytest.raises(RequestError) as err:
        check_request(_row(**change), spec)
    message = str(err.value)
    assert err.value.field == field
    assert words in message
    for value in change.values():
        for text in (str(value), repr(value)):
            if value is not None and text not in ("0.5",):
                assert text not in message


def test_unknown_field_is_rejected_with_the_nearest_valid_name(spec):
    with pytest.raises(RequestError) as err:
        check_request(_row().rename(columns={"ki67_percent": "ki67"}), spec)
    assert err.value.field == "ki67"
    assert "unknown input" in str(err.value)
    assert "did you mean 'ki67_percent'?" in str(err.value)
    with pytest.raises(RequestError, match="'patient_name'") as err:
        check_request(_row().assign(patient_name="Jane Doe"), spec)
    assert "Jane" not in str(err.value)


def test_open_range_is_closed_at_the_limit():
    open_spec = build_input_spec({"features": [
        {"name": "slope", "dtype": "numeric", "range": [None, None]},
        {"name": "count", "dtype": "numeric", "range": [0, None]}]}, ["slope", "count"])
    ok = check_request(pd.DataFrame({"slope": [-3.5], "count": [4]}), open_spec)
    assert ok.iloc[0].tolist() == [-3.5, 4.0]
    for row, field in (({"slope": 1e308, "count": 1}, "slope"), ({"slope": 0, "count": 2e6},
                                                                 "count")):
        with pytest.raises(RequestError, match="outside the allowed range") as err:
            check_request(pd.DataFrame([row]), open_spec)
        assert err.value.field == field
    with pytest.raises(RequestError, match=r"\[-10, 10\]"):
        check_request(pd.DataFrame({"slope": [11.0]}), open_spec, open_limit=10)


def test_extra_required_inputs_come_from_the_caller(spec):
    check_request(_row().drop(columns="age_at_index"), spec)
    with pytest.raises(RequestError, match="'age_at_index': is required"):
        check_request(_row().drop(columns="age_at_index"), spec, required=["age_at_index"])


def test_missing_inputs_per_row(spec):
    frame = pd.concat([_row(ki67_percent=None), _row()]).drop(columns="age_at_index")
    checked = check_request(frame, spec)
    assert missing_inputs(checked) == [["age_at_index", "ki67_percent"], ["age_at_index"]]


def test_body_level_problems(spec):
    with pytest.raises(RequestError, match="no rows"):
        check_request(_row().iloc[:0], spec)
    with pytest.raises(RequestError, match="at most 3 rows"):
        check_request(pd.concat([_row()] * 4), spec, max_rows=3)
    with pytest.raises(RequestError, match="is required"):
        check_request(_row().drop(columns="therapy"), spec)


def test_synthetic_example_is_in_range_and_passes_checks(spec):
    example = synthetic_example(spec)
    assert example.iloc[0].to_dict() == {"age_at_index": 60.0, "ki67_percent": 50.0,
                                         "therapy": "prrt_lu177", "functional_syndrome": 0.0}
    check_request(example, spec)


def test_signature_is_typed_numbers_double_categories_string(spec):
    sig = build_signature(spec, "survival", [12, 24])
    assert [c.name for c in sig.inputs.inputs] == FIELDS
    types = {c.name: c.type for c in sig.inputs.inputs}
    assert types == {"age_at_index": DataType.double, "ki67_percent": DataType.double,
                     "therapy": DataType.string, "functional_syndrome": DataType.double}
    assert [c.name for c in sig.inputs.inputs if c.required] == ["therapy"]
    assert [c.name for c in sig.outputs.inputs] == output_columns("survival", [12, 24])
    assert output_columns("survival", [12, 24]) == ["risk_score", "survival_12m",
                                                     "survival_24m"]
    assert sig.params.params[0].name == "explain"
    assert sig.params.params[0].default is False


# --------------------------------------------------------------------------- clinical units


@pytest.fixture
def lab_spec():
    from features.dictionary import build_dictionary
    from features.index import FeatureConfig

    dictionary = build_dictionary(FeatureConfig(cga_uln=100.0, alp_uln=120.0))
    return build_input_spec(dictionary, ["cga_log10_uln", "alp", "alp_x_uln", "therapy"])


def test_raw_cga_and_alp_become_the_training_features(lab_spec):
    from features.labs import alp_x_uln, cga_log10_uln

    frame = pd.DataFrame({"cga_ng_ml": [250.0, 0.2, None], "cga_uln_ng_ml": [None, 50.0, None],
                          "alp": [180.0, None, 90.0], "therapy": ["ssa"] * 3})
    out, converted = convert_units(frame, lab_spec)
    assert converted == {"cga_log10_uln": "cga_ng_ml", "alp_x_uln": "alp"}
    assert "cga_ng_ml" not in out.columns
    assert "cga_uln_ng_ml" not in out.columns
    # the training ULN (100 ng/mL) where the request gives none; the floor of 1 ng/mL applies
    assert out["cga_log10_uln"].tolist()[:2] == [pytest.approx(np.log10(2.5)),
                                                pytest.approx(np.log10(1 / 50))]
    assert out["cga_log10_uln"].tolist()[:2] == pytest.approx(
        [cga_log10_uln(250.0, 100.0), cga_log10_uln(0.2, 50.0)])
    assert pd.isna(out["cga_log10_uln"].iloc[2])
    assert out["alp_x_uln"].tolist()[0] == pytest.approx(alp_x_uln(180.0, 120.0)) == 1.5
    assert pd.isna(out["alp_x_uln"].iloc[1])
    checked = check_request(out, lab_spec)
    assert checked["alp"].tolist()[::2] == [180.0, 90.0]  # the model also takes ALP itself


@pytest.mark.parametrize(("row", "field", "words"), [
    ({"cga_ng_ml": -5.0}, "cga_ng_ml", "outside the allowed range"),
    ({"cga_ng_ml": True}, "cga_ng_ml", "true/false"),
    ({"cga_ng_ml": 100.0, "cga_uln_ng_ml": 0.0}, "cga_uln_ng_ml", "outside the allowed range"),
    ({"cga_ng_ml": 90_000.0, "cga_uln_ng_ml": 5.0}, "cga_ng_ml", "gives cga_log10_uln outside"),
    ({"cga_ng_ml": 100.0, "cga_log10_uln": 0.0}, "cga_log10_uln", "not both"),
])
def test_bad_clinical_unit_inputs_are_named(lab_spec, row, field, words):
    with pytest.raises(RequestError, match=words) as err:
        convert_units(pd.DataFrame([{**row, "therapy": "ssa"}]), lab_spec)
    assert err.value.field == field


def test_uln_is_required_when_the_model_records_none():
    spec = build_input_spec({"features": [
        {"name": "cga_log10_uln", "dtype": "numeric", "range": [-2, 3]}]}, ["cga_log10_uln"])
    with pytest.raises(RequestError, match="'cga_uln_ng_ml': is required with cga_ng_ml"):
        convert_units(pd.DataFrame({"cga_ng_ml": [120.0]}), spec)
    out, _ = convert_units(pd.DataFrame({"cga_ng_ml": [120.0], "cga_uln_ng_ml": [60.0]}), spec)
    assert out["cga_log10_uln"].iloc[0] == pytest.approx(np.log10(2.0))
    assert unit_field_names(spec) == ["cga_ng_ml", "cga_uln_ng_ml"]


def test_uln_without_its_raw_value_is_refused(lab_spec):
    frame = pd.DataFrame({"cga_log10_uln": [0.3], "cga_uln_ng_ml": [5e6], "therapy": ["ssa"]})
    with pytest.raises(RequestError, match="outside the allowed range") as err:
        convert_units(frame, lab_spec)
    assert err.value.field == "cga_uln_ng_ml"
    with pytest.raises(RequestError, match="'alp_uln_u_l': is given without alp"):
        convert_units(pd.DataFrame({"alp_uln_u_l": [100.0], "therapy": ["ssa"]}), lab_spec)

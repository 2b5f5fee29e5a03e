"""The feature dictionary covers every column and the values respect its ranges."""

from __future__ import annotations

import json

import pytest

from features.build import build_features
from features.dictionary import check_against_dictionary
from features.index import FeatureConfig

FAMILIES = {"clinical", "pathology", "biomarker", "imaging", "treatment", "target", "identifier"}
ROLES = {"id", "group", "treatment", "feature", "target"}
DTYPES = {"numeric", "binary", "categorical"}
KEYS = {"name", "label", "unit", "family", "role", "dtype", "source_tables", "computation",
        "range"}


@pytest.mark.parametrize("policy", ["latest", "all"])
def test_every_column_has_a_valid_entry(tables, policy):
    cohort, dictionary = build_features(tables, FeatureConfig(index_line_policy=policy))
    json.loads(json.dumps(dictionary))  # JSON-serialisable
    assert dictionary["version"] == 1
    names = [entry["name"] for entry in dictionary["features"]]
    assert names == list(cohort.columns)
    assert len(set(names)) == len(names)
    for entry in dictionary["features"]:
        assert KEYS <= set(entry), entry["name"]
        assert entry["family"] in FAMILIES
        assert entry["role"] in ROLES
        assert entry["dtype"] in DTYPES
        assert entry["label"]
        assert entry["computation"]
        assert isinstance(entry["source_tables"], list)
        assert entry["source_tables"]
        if entry["dtype"] == "categorical":
            assert "categories" in entry
    assert check_against_dictionary(cohort, dictionary) == []


def test_roles_of_key_columns(tables, config):
    _, dictionary = build_features(tables, config)
    role = {e["name"]: e["role"] for e in dictionary["features"]}
    assert role["patient_id"] == role["line"] == "id"
    assert {role[c] for c in ("centre_id", "sex", "primary_site", "who_grade")} == {"group"}
    assert role["therapy"] == "treatment"
    assert role["pfs_months"] == "target"
    units = {e["name"]: e["unit"] for e in dictionary["features"]}
    assert units["ki67_percent"] == "%"
    assert units["egfr_ckd_epi_2021"] == "mL/min/1.73 m²"
    assert units["cga_log10_uln"] == "log10(CgA / ULN)"
    assert units["fdg_pet_done"] == ""


def test_check_flags_out_of_range_and_unknown_columns(tables, config):
    cohort, dictionary = build_features(tables, config)
    bad = cohort.assign(ki67_percent=150.0, extra=1.0, sex="X")
    problems = check_against_dictionary(bad, dictionary)
    assert any(p.startswith("ki67_percent: values above 100") for p in problems)
    assert "extra: no dictionary entry" in problems
    assert any(p.startswith("sex: unexpected categories") for p in problems)

"""The pandera models accept validated tables and reject identifiers, raw ids and bad values."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest
from contract_fixtures import KEY, make_raw

from features.contract import MODELS
from features.validate import validate_tables


@pytest.fixture(scope="module")
def tables():
    return validate_tables(make_raw(), KEY).tables


def test_validated_tables_pass_their_models(tables):
    for name, frame in tables.items():
        MODELS[name].validate(frame, lazy=True)


@pytest.mark.parametrize(
    ("change", "table"),
    [
        (lambda f: f.assign(patient_name="Ann Smith"), "patients"),
        (lambda f: f.assign(patient_id=pd.Categorical(["HOSP-0001", "x", "y"])), "patients"),
        (lambda f: f.assign(ecog=pd.array([7, 0, None], dtype="Int64")), "patients"),
        (lambda f: f.assign(sex=f["sex"].astype(object)), "patients"),
        (lambda f: f.drop(columns="ki67_percent"), "pathology"),
    ],
)
def test_models_reject_bad_frames(tables, change, table):
    with pytest.raises(pa.errors.SchemaErrors):
        MODELS[table].validate(change(tables[table]), lazy=True)

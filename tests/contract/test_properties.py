"""Property-based: corrupted tables never raise anything but a clean contract error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from contract_fixtures import KEY, make_raw, write_raw
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract import TABLES
from features.validate import ContractError, validate_tables
from pipeline.errors import InputError
from pipeline.stages.validate import run

CELLS = st.one_of(
    st.none(), st.text(max_size=12), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20), st.booleans(),
    st.sampled_from(["", "NA", "1e308", "-0", "2020-13-45", "1677-01-01", "9999-12-31",
                     "µg/L", "ß∂ƒ", "Pancreas", "   ", "0x1F", "2020-02-29T10:00:00Z",
                     "2020-01-01T00:00:00+05:00", "2019-12-31 23:59"]),
)
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _mutate(raw, data):
    """Apply 1-4 random corruptions to the raw tables."""
    for _ in range(data.draw(st.integers(1, 4))):
        t = data.draw(st.sampled_from(TABLES))
        frame = raw[t]
        col = data.draw(st.sampled_from(list(frame.columns)))
        kind = data.draw(st.sampled_from(["cell", "column", "drop", "shuffle", "dup", "type",
                                          "extra"]))
        if kind == "cell":
            row = data.draw(st.integers(0, len(frame) - 1))
            frame[col] = frame[col].astype(object)
            frame.iat[row, frame.columns.get_loc(col)] = data.draw(CELLS)
        elif kind == "column":
            frame[col] = data.draw(st.lists(CELLS, min_size=len(frame), max_size=len(frame)))
        elif kind == "drop":
            raw[t] = frame.drop(columns=col)
        elif kind == "shuffle":
            order = data.draw(st.permutations(range(len(frame))))
            frame[col] = frame[col].to_numpy()[list(order)]
        elif kind == "dup":
            raw[t] = pd.concat([frame, frame.sample(2, replace=True, random_state=0)],
                               ignore_index=True)
        elif kind == "type":
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
        else:
            frame[data.draw(st.text(min_size=1, max_size=8))] = data.draw(CELLS)
    return raw


def _outcome(call, expected):
    """``(result, None)`` or ``(None, error)`` for the one expected error type."""
    try:
        return call(), None
    except expected as err:
        return None, err


def _check_invariant(res, raw):
    for t, e in res.report.items():
        assert e["rows_in"] == len(raw[t]) == e["rows_valid"] + e["rows_quarantined"]
        assert len(res.tables[t]) == e["rows_valid"]
        assert len(res.quarantine[t]) == e["rows_quarantined"]
        assert res.quarantine[t]["quarantine_rule"].notna().all()


@SETTINGS
@given(data=st.data())
def test_corrupted_frames_give_contract_error_or_a_balanced_result(data):
    raw = _mutate(make_raw(), data)
    res, error = _outcome(lambda: validate_tables(raw, KEY), ContractError)
    if error is not None:
        assert error.file
        assert error.fix
        assert "\n" not in str(error)
        return
    _check_invariant(res, raw)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_corrupted_csv_files_give_input_error_or_outputs(data):
    raw = _mutate(make_raw(), data)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_raw(raw, Path(tmp) / "raw")
        out = Path(tmp) / "v"
        report, error = _outcome(
            lambda: run(folder, out, Path(tmp) / "q", out / "r.json", KEY, demo_key=False),
            InputError)
        if error is not None:
            assert error.file
            assert error.fix
            return
        for e in report["tables"].values():
            assert e["rows_in"] == e["rows_valid"] + e["rows_quarantined"]
        assert sorted(p.stem for p in out.glob("*.parquet")) == sorted(TABLES)


@SETTINGS
@given(years=st.lists(st.integers(1800, 2200), min_size=3, max_size=3),
       shift=st.integers(-20000, 20000))
def test_shuffled_dates_only_move_rows_between_valid_and_quarantine(years, shift):
    raw = make_raw()
    raw["patients"]["birth_year"] = [str(y) for y in years]
    dates = pd.to_datetime(raw["treatments"]["start_date"]) + pd.Timedelta(days=shift)
    raw["treatments"]["start_date"] = dates.dt.strftime("%Y-%m-%d")
    res = validate_tables(raw, KEY)
    _check_invariant(res, raw)
    valid = res.tables["patients"]
    assert (valid["diagnosis_date"].dt.year >= valid["birth_year"].astype(float)).all()
    tx = res.tables["treatments"]
    assert np.all(tx["start_date"].notna())

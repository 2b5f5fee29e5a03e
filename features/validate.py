"""Validate raw contract tables: whole-table checks, row quarantine, pseudonymisation, report.

Pure orchestration over :mod:`features.clean` (parsers, rules) and :mod:`features.contract`
(specs, pandera models): raw DataFrames in, validated + quarantine tables and a report out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features import clean
from features.clean import Faults
from features.contract import (
    COLUMNS,
    KEYS,
    LAB_UNITS,
    MODELS,
    OPTIONAL_COLUMNS,
    QUARANTINE_COLUMNS,
    TABLES,
    UNIQUE_KEYS,
    column_specs,
)
from features.pseudonym import (
    REDACTED,
    IdentifierScreen,
    find_identifier_columns,
    normalise_column_name,
    pseudonymise_value,
)

log = logging.getLogger(__name__)
_ORDER = ("patients", "treatments", "assessments", "pathology", "labs", "imaging_studies",
          "lesions")
# Free-text columns that reach the validated tables: screened for identifier-like values
# (True: also generic e-mail / phone / long-number shapes; False: only the export's own ids
# and their shapes, as these columns hold codes themselves).
FREE_TEXT = {"patients": {"centre_id": True}, "imaging_studies": {"study_id": False,
             "tracer": True}, "lesions": {"study_id": False, "lesion_id": False}}


class ContractError(ValueError):
    """A whole-table fault: names the file, the column and the fix."""

    def __init__(self, file: str, column: str, fix: str, problem: str) -> None:
        where = f"column '{column}' " if column else ""
        super().__init__(" ".join(f"{file}: {where}{problem}. Fix: {fix}".split()))
        self.file, self.column, self.fix, self.problem = file, column, fix, problem


@dataclass
class ValidationResult:
    """Validated tables, quarantine tables and the report dict."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantine: dict[str, pd.DataFrame] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Checked:
    """One table during validation."""

    raw: pd.DataFrame
    parsed: dict[str, np.ndarray]
    faults: Faults
    pid: np.ndarray | None
    dropped_identifiers: list[str]
    dropped_extra: list[str]
    conversions: dict[str, int] = field(default_factory=dict)
    coded: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def validate_tables(
    raw: dict[str, pd.DataFrame], key: bytes, *, source_names: dict[str, str] | None = None,
    export_date: date | None = None,
) -> ValidationResult:
    """Validate the seven raw tables of the data contract.

    Args:
        raw: raw tables by name (any dtypes; typically strings or pyarrow-inferred types).
        key: HMAC key for the patient pseudonyms.
        source_names: file name per table for messages (default ``<table>.csv``).
        export_date: the day of the export: later dates are ``out_of_range`` (default: only
            dates after 2100-12-31 are; dates before 1900-01-01 always are).

    Returns:
        :class:`ValidationResult`; every input row is either valid or quarantined.

    Raises:
        ContractError: a missing table, missing required column, wrong delimiter or empty table.
    """
    names = {t: (source_names or {}).get(t, f"{t}.csv") for t in TABLES}
    for t in TABLES:
        if t not in raw:
            raise ContractError(names[t], "", f"export the {t} table as {names[t]}",
                                "required table missing")
    screen = IdentifierScreen()
    prepared = {t: _prepare(t, raw[t], names[t], screen) for t in TABLES}
    cache: dict[str, str] = {}
    bounds = clean.date_bounds(export_date)
    checked = {t: _check_rows(t, *prepared[t], key, cache, bounds) for t in _ORDER}
    screen.add(cache)  # every raw patient id of every table
    for t, columns in FREE_TEXT.items():
        _screen_free_text(checked[t], columns, screen)
    _apply_cross_table_rules(checked)
    _lesion_pseudonyms(checked["imaging_studies"], checked["lesions"])
    result = ValidationResult()
    del prepared
    for t in TABLES:
        valid, quarantine, entry = _split(t, checked.pop(t), screen)  # frees each table
        result.tables[t], result.quarantine[t], result.report[t] = valid, quarantine, entry
    _check_models(result.tables)
    return result


def _prepare(table: str, frame: pd.DataFrame, file: str, screen: IdentifierScreen):
    """Whole-table checks; returns ``(contract columns frame, identifiers, extras)``.

    The values of the dropped identifier columns are taught to ``screen`` first.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ContractError(file, "", "export a CSV table with a header row", "not a table")
    cols = [str(c) for c in frame.columns]
    if len(cols) == 1 and any(d in cols[0] for d in (";", "\t", "|")):
        raise ContractError(file, "", "export the file comma-separated (',')",
                            "wrong delimiter (found ';', tab or '|' in the header)")
    norm = [normalise_column_name(c) for c in cols]
    if len(set(norm)) < len(norm):
        dup = next(c for c in norm if norm.count(c) > 1)
        raise ContractError(file, dup, f"keep one column named '{dup}'",
                            "appears more than once (duplicate column name)")
    frame = frame.set_axis(norm, axis=1)
    contract = [s.name for s in COLUMNS[table]]
    for spec in COLUMNS[table]:
        if spec.name not in frame.columns:
            raise ContractError(file, spec.name,
                                f"add column '{spec.name}' ({spec.description}) to {file}",
                                "missing (required column absent)")
    if len(frame) == 0:
        raise ContractError(file, "", f"export at least one data row to {file}",
                            "table has no rows (empty or header only)")
    optional = [s.name for s in OPTIONAL_COLUMNS.get(table, ())]
    keep = set(contract) | set(optional)
    identifiers = find_identifier_columns(list(frame.columns), keep)
    for col in identifiers:
        screen.add(clean._text_uniques(frame[col])[1])
    extra = [c for c in frame.columns if c not in keep and c not in identifiers]
    frame = frame[[c for c in contract + optional if c in frame.columns]]
    for col in optional:
        if col not in frame.columns:
            frame = frame.assign(**{col: pd.Series(np.nan, index=frame.index, dtype=float)})
    return frame.reset_index(drop=True), identifiers, extra


def _pseudonyms(values: pd.Series, key: bytes, cache: dict[str, str]):
    """Pseudonym per row (None where missing) and ``(codes, pseudonym per code)``.

    Each distinct id is hashed once per run.
    """
    codes, text = clean._text_uniques(values)
    pseud = np.empty(len(text) + 1, dtype=object)
    for i, v in enumerate(text):
        hit = cache.get(v)
        if hit is None:
            hit = cache[v] = pseudonymise_value(v, key)
        pseud[i] = hit
    return pseud[codes], (codes, pseud[:-1])


def _check_rows(table, frame, identifiers, extra, key, cache, bounds) -> _Checked:
    """Row rules of one table alone: duplicates, parsing, ranges, categories, units, keys."""
    faults = Faults.empty(len(frame))
    pid, coded = None, {}
    if "patient_id" in frame.columns:
        pid, coded["patient_id"] = _pseudonyms(frame["patient_id"], key, cache)
    keys = list(KEYS[table])
    cand = frame.duplicated(subset=keys, keep=False).to_numpy()
    if cand.any():
        dup = np.zeros(len(frame), dtype=bool)
        dup[cand] = frame.loc[cand].astype(str).duplicated(keep="first").to_numpy()
        faults.add(dup, "duplicate", "*", None)
    parsed = {}
    for spec in column_specs(table):
        if spec.name == "patient_id":
            faults.add(coded["patient_id"][0] < 0, "missing_key", "patient_id")
            parsed["patient_id"] = pid
            continue
        parsed[spec.name] = clean.check_column(frame[spec.name], spec, faults,
                                               spec.name in keys, coded, bounds)
    checked = _Checked(frame, parsed, faults, pid, identifiers, extra, coded=coded)
    if table == "labs":
        _check_labs(checked)
    uk = UNIQUE_KEYS.get(table)
    if uk:
        ok = faults.ok
        kf = pd.DataFrame({k: (clean.categorical_from_codes(*coded[k]).codes[ok] if k in coded
                               else parsed[k][ok]) for k in uk})
        again = np.zeros(len(frame), dtype=bool)
        again[ok] = kf.duplicated(keep="first").to_numpy()
        faults.add(again, "duplicate_key", "+".join(uk),
                   lambda m: pd.DataFrame({k: clean.stringify(pd.Series(parsed[k][m]))
                                           for k in uk}).agg("|".join, axis=1).to_numpy())
    return checked


def _check_labs(c: _Checked) -> None:
    p = c.parsed
    value, unknown, label, outside = clean.harmonise_lab_units(p["analyte"], c.raw["unit"],
                                                               p["value"])
    c.faults.add(unknown, "unknown_unit", "unit", c.raw["unit"])
    c.faults.add(outside, "out_of_range", "value", c.raw["value"])
    p["value"] = value
    codes, uniq = pd.factorize(pd.Series(p["analyte"], dtype=object), use_na_sentinel=True)
    units = np.array([LAB_UNITS[a][0] for a in uniq] + [None], dtype=object)
    p["unit"] = units[codes]
    c.coded["unit"] = (codes, units[:-1])
    ok = c.faults.ok & ~pd.isna(label)
    if ok.any():
        c.conversions = pd.Series(label[ok]).value_counts().sort_index().to_dict()


def _apply_cross_table_rules(checked: dict[str, _Checked]) -> None:
    """Patients' own date order, unknown patients/studies and cross-table date order."""
    pat = checked["patients"]
    p = pat.parsed
    dx, lc, death = p["diagnosis_date"], p["last_contact_date"], p["death_date"]
    born = clean.year_start(p["birth_year"])
    f = pat.faults
    f.add(clean.before(dx, born), "date_order", "diagnosis_date",
          clean.describe_order(dx, "before Jan 1 of", "birth_year", born))
    f.add(clean.before(lc, dx), "date_order", "last_contact_date",
          clean.describe_order(lc, "before", "diagnosis_date", dx))
    f.add(clean.before(death, dx), "date_order", "death_date",
          clean.describe_order(death, "before", "diagnosis_date", dx))
    f.add(clean.before(lc, death), "date_order", "death_date",
          clean.describe_order(death, "after", "last_contact_date", lc))
    ok = f.ok
    index = pd.Index(pat.pid[ok])
    ref = {"dx": dx[ok], "lc": lc[ok], "death": death[ok], "born": born[ok]}
    for t in ("treatments", "assessments", "pathology", "labs", "imaging_studies"):
        _link_patients(t, checked, index, ref)
    studies = checked["imaging_studies"]
    les = checked["lesions"]
    known = pd.Index(studies.parsed["study_id"][studies.faults.ok])
    sid = les.parsed["study_id"]
    codes, text = les.coded["study_id"]
    found = np.append(known.get_indexer(pd.Index(text, dtype=object)), 0)[codes] >= 0
    les.faults.add((codes >= 0) & ~found, "unknown_study", "study_id", sid)


def _link_patients(t: str, checked: dict[str, _Checked], index: pd.Index, ref: dict) -> None:
    c = checked[t]
    codes, uniq = c.coded["patient_id"]
    pos = np.append(index.get_indexer(pd.Index(uniq, dtype=object)), -1)[codes]
    c.faults.add((codes >= 0) & (pos < 0), "unknown_patient", "patient_id", c.pid)
    have = pos >= 0
    get = {k: np.where(have, v[np.maximum(pos, 0)] if len(v) else np.datetime64("NaT"),
                       np.datetime64("NaT")).astype("datetime64[ns]") for k, v in ref.items()}
    p, f = c.parsed, c.faults
    date_col = {"treatments": "start_date", "pathology": "sample_date"}.get(t, "date")
    d = p[date_col]
    f.add(clean.before(d, get["born"]), "date_order", date_col,
          clean.describe_order(d, "before Jan 1 of", "birth_year", get["born"]))
    if t == "treatments":
        f.add(clean.before(d, get["dx"]), "date_order", date_col,
              clean.describe_order(d, "before", "diagnosis_date", get["dx"]))
        f.add(clean.before(get["death"], d), "date_order", date_col,
              clean.describe_order(d, "after", "death_date", get["death"]))
        f.add(clean.before(get["lc"], d), "date_order", date_col,
              clean.describe_order(d, "after", "last_contact_date", get["lc"]))
        f.add(clean.before(p["end_date"], d), "date_order", "end_date",
              clean.describe_order(p["end_date"], "before", "start_date", d))
    if t == "assessments":
        _check_assessment_dates(c, checked["treatments"], get, date_col)


def _check_assessment_dates(c: _Checked, tx: _Checked, get: dict, date_col: str) -> None:
    """An assessment belongs to a valid line of its patient and lies after the line's start and
    the diagnosis (so it can never count towards that line's response label otherwise); a
    progression after the last contact is impossible too."""
    p, f, d = c.parsed, c.faults, c.parsed[date_col]
    known = ~np.isnat(get["dx"])  # the patient passed validation
    start = _line_starts(tx, c.pid, p["treatment_line"])
    f.add(known & np.isnat(start), "unknown_line", "treatment_line", p["treatment_line"])
    f.add(clean.before(d, get["dx"]), "date_order", date_col,
          clean.describe_order(d, "before", "diagnosis_date", get["dx"]))
    f.add(clean.before(d, start), "date_order", date_col,
          clean.describe_order(d, "before", "line start_date", start))
    prog = np.nan_to_num(np.asarray(p["progression"], dtype=float)) == 1
    f.add(prog & clean.before(get["lc"], d), "date_order", date_col,
          clean.describe_order(d, "progression after", "last_contact_date", get["lc"]))


def _line_starts(tx: _Checked, pid: np.ndarray, line: np.ndarray) -> np.ndarray:
    ok = tx.faults.ok
    starts = pd.Series(tx.parsed["start_date"][ok],
                       index=pd.MultiIndex.from_arrays([tx.pid[ok], tx.parsed["line"][ok]]))
    idx = pd.MultiIndex.from_arrays([pd.Series(pid, dtype=object), pd.Series(line)])
    pos = starts.index.get_indexer(idx) if len(starts) else np.full(len(pid), -1)
    vals = np.append(starts.to_numpy().astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
    return vals[pos]


def _screen_free_text(c: _Checked, columns: dict[str, bool], screen: IdentifierScreen) -> None:
    """Quarantine rows whose free-text cell is identifier-like (the value is never kept)."""
    for col, generic in columns.items():
        codes, text = c.coded[col]
        hit = np.append(screen.flag(text, generic=generic), False)[codes]
        c.faults.add(hit, "identifier_like", col, lambda m: np.full(int(m.sum()), REDACTED))


def _lesion_pseudonyms(studies: _Checked, les: _Checked) -> None:
    """Give each lesion row its patient's pseudonym (through its study) for the quarantine."""
    codes, text = studies.coded["study_id"]
    sid = pd.Series(np.append(text, None)[codes], dtype=object)
    first = ~sid.duplicated() & sid.notna().to_numpy()
    by_study = pd.Series(studies.pid[first.to_numpy()], index=sid[first].to_numpy())
    lcodes, ltext = les.coded["study_id"]
    per_code = by_study.reindex(pd.Index(ltext, dtype=object)).to_numpy(dtype=object)
    les.pid = np.append(per_code, None)[lcodes]


def _split(t: str, c: _Checked, screen: IdentifierScreen
           ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    ok = c.faults.ok
    valid = pd.DataFrame({s.name: _as_dtype(c.parsed[s.name][ok], s.kind,
                                            c.coded.get(s.name), ok)
                          for s in column_specs(t)})
    bad = np.flatnonzero(~ok)
    # The rejected row as its patient's pseudonym, the rule, the column, the value (identifier-
    # like text redacted) and its row number in the file: no other raw cell is kept.
    pid = c.pid[bad] if c.pid is not None else np.full(len(bad), None, dtype=object)
    quarantine = pd.DataFrame({
        "patient_id": pd.Series(pid, dtype=object),
        QUARANTINE_COLUMNS[0]: c.faults.rule[bad],
        QUARANTINE_COLUMNS[1]: c.faults.column[bad],
        QUARANTINE_COLUMNS[2]: screen.redact(c.faults.value[bad]),
        QUARANTINE_COLUMNS[3]: (bad + 1).astype(np.int64)})
    rules = pd.Series(c.faults.rule[bad], dtype=object)
    detail = (rules + ":" + pd.Series(c.faults.column[bad], dtype=object)).value_counts()
    entry = {
        "rows_in": int(len(ok)), "rows_valid": int(ok.sum()), "rows_quarantined": int(len(bad)),
        "reasons": {k: int(v) for k, v in sorted(rules.value_counts().items())},
        "reasons_by_column": {k: int(v) for k, v in sorted(detail.items())},
        "dropped_identifier_columns": list(c.dropped_identifiers),
        "dropped_extra_columns": list(c.dropped_extra),
        "unit_conversions": {k: int(v) for k, v in c.conversions.items()},
    }
    assert entry["rows_in"] == entry["rows_valid"] + entry["rows_quarantined"], t
    return valid, quarantine, entry


def _as_dtype(values: np.ndarray, kind: str, coded=None, ok=None):
    if kind == "date":
        return np.asarray(values).astype("datetime64[ns]")
    if kind == "float":
        return np.asarray(values, dtype="float64")
    if kind == "int":
        return pd.array(np.asarray(values, dtype="float64"), dtype="Float64").astype("Int64")
    if coded is not None:
        return clean.categorical_from_codes(coded[0][ok], coded[1]).remove_unused_categories()
    return pd.Categorical(np.asarray(values, dtype=object))


def _check_models(tables: dict[str, pd.DataFrame]) -> None:
    """pandera check of every validated table (a failure here is a bug, not bad input)."""
    for t, frame in tables.items():
        try:
            MODELS[t].validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            summary = err.failure_cases[["column", "check"]].drop_duplicates().head(5)
            raise RuntimeError(f"validated {t} breaks its contract model: "
                               f"{summary.to_dict('records')}") from None

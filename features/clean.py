"""Vectorised cleaning: parse columns, harmonise units and spellings, collect row faults.

Every parser works on the distinct values of a column (``pd.factorize``) and maps back by code,
so a 5-million-row lab table costs a few hash passes. Faults are kept per row in
:class:`Faults`: the first rule a row breaks is its one quarantine reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from features.contract import LAB_UNITS, NA_TOKENS, SYNONYMS, ColumnSpec

_SQUASH = re.compile(r"[\s\-_]+")
_ISO_DAY = r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?$"
# The clinical date range (docs/data-contract.md): no date before 1900-01-01, none after the
# export date (the CLI's --export-date, the simulator's manifest or the day validate runs) and
# never after 2100-12-31. Other dates (``9999-12-31``, ``0001-01-01``) are ``out_of_range``.
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2100, 12, 31)


@dataclass
class Faults:
    """First fault of each row: rule, column, offending value (object arrays, None = fine)."""

    rule: np.ndarray
    column: np.ndarray
    value: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Faults:
        """No faults for ``n`` rows."""
        return cls(*(np.full(n, None, dtype=object) for _ in range(3)))

    @property
    def ok(self) -> np.ndarray:
        """Rows without any fault so far (a fresh copy)."""
        return self._ok.copy()

    def __post_init__(self) -> None:
        self._ok = pd.isna(self.rule)

    def add(self, mask: np.ndarray, rule: str, column: str, values=None) -> None:
        """Record ``rule`` for rows in ``mask`` that have no fault yet."""
        new = np.asarray(mask, dtype=bool) & self._ok
        if not new.any():
            return
        self._ok &= ~new
        self.rule[new], self.column[new] = rule, column
        if values is None:
            self.value[new] = ""
        elif callable(values):
            self.value[new] = values(new)
        elif isinstance(values, pd.Series):
            picked = values.iloc[np.flatnonzero(new)].reset_index(drop=True)
            self.value[new] = stringify(picked).to_numpy()
        else:
            self.value[new] = stringify(pd.Series(np.asarray(values)[new])).to_numpy()


def stringify(values: pd.Series) -> pd.Series:
    """Values as short strings for quarantine tables (missing -> empty string)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").fillna("").astype(object)
    if values.dtype == object:  # mixed Python values: 1, 1.0 and True must stay distinct
        out = values.map(lambda v: "" if _is_missing(v) else str(v)[:200])
        return out.astype(object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = [("" if _is_missing(v) else str(v)[:200]) for v in uniques]
    return pd.Series(np.array(text + [""], dtype=object)[codes], index=values.index, dtype=object)


def _is_missing(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _as_text(value: object) -> str:
    """Stripped text of a cell; integral floats lose their ``.0`` (ids read as numbers)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text_uniques(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, stripped unique texts)``; missing, empty and NA-like text -> code -1."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = np.array([_as_text(u) for u in uniques], dtype=object)
    blank = np.array([t == "" or t.lower() in NA_TOKENS for t in text], dtype=bool)
    if blank.any():
        remap = np.where(blank, -1, np.arange(len(text)))
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
    return codes, text


def parse_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Stripped text (object array, None = missing) and the missing mask."""
    codes, text = _text_uniques(values)
    out = np.append(text, None)[codes]
    return out, codes < 0


def category_key(text: str) -> str:
    """Case-, space-, hyphen- and underscore-insensitive key of a category spelling."""
    return _SQUASH.sub("", str(text).strip().lower())


def category_lookup(column: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """Spelling key -> canonical value for a categorical column."""
    lookup = {category_key(a): a for a in allowed}
    for canon, variants in SYNONYMS.get(column, {}).items():
        lookup.update({category_key(v): canon for v in variants})
    return lookup


def categorical_from_codes(codes: np.ndarray, uniques: np.ndarray) -> pd.Categorical:
    """Categorical of ``uniques[codes]`` without hashing every row (code -1 = missing).

    ``uniques`` may hold duplicates and ``None``; only the distinct values are hashed.
    """
    ucodes, cats = pd.factorize(pd.Series(np.asarray(uniques, dtype=object), dtype=object),
                                use_na_sentinel=True)
    ucodes = np.append(ucodes, -1)
    codes = np.asarray(codes)
    row = ucodes[np.where(codes < 0, len(ucodes) - 1, codes)]
    return pd.Categorical.from_codes(row, categories=pd.Index(cats, dtype=object))


def parse_category(values: pd.Series, column: str, allowed: tuple[str, ...], coded=None):
    """Canonical categories; returns ``(canonical, missing mask, unknown mask)``.

    With ``coded`` (a dict), ``coded[column] = (row codes, canonical per code)`` is stored.
    """
    raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = category_lookup(column, allowed)
    text = [str(u).strip() for u in uniques]
    canon = np.array([lookup.get(category_key(t)) for t in text] + [None], dtype=object)
    blank = np.array([t == "" or t.lower() in NA_TOKENS for t in text] + [True], dtype=bool)
    if coded is not None:
        coded[column] = (raw_codes, canon)
    canon_rows, blank_rows = canon[raw_codes], blank[raw_codes]
    canon_na = pd.isna(canon)[raw_codes]
    missing = blank_rows & canon_na
    unknown = canon_na & ~blank_rows
    return canon_rows, missing, unknown


def parse_number(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floats; returns ``(values, missing mask, unparseable mask)`` (inf counts as unparseable)."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        num = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
        missing = np.isnan(num)
        bad = np.isinf(num)
        return np.where(bad, np.nan, num), missing, bad
    codes, text = _text_uniques(values)
    parsed = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").astype("float64")
    parsed = np.append(parsed.to_numpy(), np.nan)
    num = parsed[codes]
    missing = codes < 0
    bad = ~missing & ~np.isfinite(num)
    return np.where(bad, np.nan, num), missing, bad


def parse_date(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """datetime64[ns] days; returns ``(dates, missing, unparseable, beyond)`` masks.

    Text must start with an ISO ``YYYY-MM-DD`` day; a time part (``T10:00:00Z``) is ignored.
    ``beyond`` marks real calendar days that datetime64[ns] cannot hold (``9999-12-31``,
    ``0001-01-01``): their date is NaT and they are neither missing nor unparseable.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        ser = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        dates = ser.dt.floor("D").astype("datetime64[ns]").to_numpy()
        missing = np.isnat(dates)
        none = np.zeros(len(dates), dtype=bool)
        return dates, missing, none, none.copy()
    codes, text = _text_uniques(values)
    day = pd.Series(text, dtype=object).str.extract(_ISO_DAY, expand=False)
    parsed = pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")
    uniq = np.append(parsed.to_numpy().astype("datetime64[ns]"), np.datetime64("NaT", "ns"))
    beyond = np.array([_is_calendar_day(d) for d in day.where(parsed.isna())] + [False],
                      dtype=bool)
    dates = uniq[codes]
    missing = codes < 0
    beyond_rows = beyond[codes]
    return dates, missing, ~missing & np.isnat(dates) & ~beyond_rows, beyond_rows


def _is_calendar_day(text: object) -> bool:
    """True for ``YYYY-MM-DD`` text of a real day (years 1-9999)."""
    if not isinstance(text, str):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def date_bounds(export_date: date | None = None) -> tuple[np.datetime64, np.datetime64]:
    """``(first, last)`` allowed day: 1900-01-01 and the export date (at most 2100-12-31)."""
    last = min(export_date, DATE_MAX) if export_date else DATE_MAX
    return np.datetime64(DATE_MIN, "ns"), np.datetime64(last, "ns")


def _check_dates(values: pd.Series, name: str, faults: Faults, bounds) -> tuple:
    out, missing, bad, beyond = parse_date(values)
    faults.add(bad, "unparseable_date", name, values)
    lo, hi = bounds or date_bounds()
    outside = beyond | (~np.isnat(out) & ((out < lo) | (out > hi)))
    if outside.any():
        span = f" (outside {pd.Timestamp(lo):%Y-%m-%d}..{pd.Timestamp(hi):%Y-%m-%d})"
        text = stringify(values.iloc[np.flatnonzero(outside)].reset_index(drop=True))
        faults.add(outside, "out_of_range", name,
                   lambda m: (text[m[outside]] + span).to_numpy(dtype=object))
    return out, missing


def check_column(values: pd.Series, spec: ColumnSpec, faults: Faults, is_key: bool,
                 coded: dict | None = None, date_range: tuple | None = None):
    """Parse one contract column, record its faults; return the parsed array.

    Text columns also leave ``(row codes, value per code)`` in ``coded`` (fast categoricals);
    dates outside ``date_range`` (default :func:`date_bounds`) are ``out_of_range``.
    """
    kind, name = spec.kind, spec.name
    if kind in ("id", "str"):
        codes, text = _text_uniques(values)
        out, missing = np.append(text, None)[codes], codes < 0
        if coded is not None:
            coded[name] = (codes, text)
    elif kind == "cat":
        out, missing, unknown = parse_category(values, name, spec.allowed, coded)
        faults.add(unknown, "unknown_category", name, values)
    elif kind == "date":
        out, missing = _check_dates(values, name, faults, date_range)
    else:
        out, missing, bad = parse_number(values)
        faults.add(bad, "unparseable_number", name, values)
        _check_range(out, spec, faults, values)
    if not spec.nullable:
        faults.add(missing, "missing_key" if is_key else "missing_value", name)
    return out


def _check_range(num: np.ndarray, spec: ColumnSpec, faults: Faults, values: pd.Series) -> None:
    with np.errstate(invalid="ignore"):
        low = num < spec.lo if spec.lo is not None else np.zeros(len(num), dtype=bool)
        high = num > spec.hi if spec.hi is not None else np.zeros(len(num), dtype=bool)
        faults.add(low | high, "out_of_range", spec.name, values)
        if spec.kind == "int":
            faults.add(np.isfinite(num) & (num != np.round(num)), "not_integer", spec.name, values)


def unit_key(unit: str) -> str:
    """Unit spelling key: no spaces, lower case, micro sign and Greek mu as ``u``."""
    return re.sub(r"\s+", "", str(unit)).replace("µ", "u").replace("μ", "u").lower()


def _unit_factors() -> dict[tuple[str, str], tuple[float, str]]:
    table = {}
    for analyte, (canon, variants, _) in LAB_UNITS.items():
        table[(analyte, unit_key(canon))] = (1.0, canon)
        for variant, factor in variants.items():
            table.setdefault((analyte, unit_key(variant)), (factor, variant))
    return table


def harmonise_lab_units(analyte: np.ndarray, unit: pd.Series, value: np.ndarray):
    """Convert lab values to canonical units (work on distinct analyte/unit pairs only).

    Args:
        analyte: canonical analyte per row (None where unknown).
        unit: raw unit column.
        value: numeric values.

    Returns:
        ``(values, unknown-unit mask, conversion label per row or None, range-fault mask)``;
        labels read ``"cga: nmol/L -> ng/mL (x48.9)"``.
    """
    factors = _unit_factors()
    a_codes, a_uniq = pd.factorize(pd.Series(analyte, dtype=object), use_na_sentinel=True)
    u_codes, u_text = _text_uniques(unit)
    u_keys = [unit_key(u) for u in u_text] + [""]
    width = len(u_keys)
    pair = (a_codes.astype(np.int64) + 1) * width + np.where(u_codes < 0, width - 1, u_codes)
    p_codes, p_uniq = pd.factorize(pair)
    n = len(p_uniq)
    fac, lo, hi = np.full(n, np.nan), np.full(n, -np.inf), np.full(n, np.inf)
    label = np.full(n + 1, None, dtype=object)
    for i, code in enumerate(p_uniq):
        a_i, u_i = divmod(int(code), width)
        if a_i == 0:
            continue
        a = a_uniq[a_i - 1]
        canon, _, (lo[i], hi[i]) = LAB_UNITS[a]
        hit = factors.get((a, u_keys[u_i]))
        if hit is not None:
            fac[i] = hit[0]
            if unit_key(hit[1]) not in (unit_key(canon), ""):
                label[i] = f"{a}: {hit[1]} -> {canon} (x{hit[0]:g})"
    row_fac = fac[p_codes]
    unknown = np.isnan(row_fac) & (a_codes >= 0)
    converted = value * np.where(np.isnan(row_fac), 1.0, row_fac)
    with np.errstate(invalid="ignore"):
        outside = (converted < lo[p_codes]) | (converted > hi[p_codes])
    return converted, unknown, label[p_codes], outside


def year_start(birth_year: np.ndarray) -> np.ndarray:
    """Jan 1 of each birth year as datetime64[ns] (NaT where missing)."""
    years = np.asarray(birth_year, dtype=float)
    out = np.full(len(years), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = np.isfinite(years) & (years >= 1700) & (years <= 2200)  # others are out_of_range
    out[ok] = (years[ok].astype(np.int64) - 1970).astype("datetime64[Y]").astype("datetime64[ns]")
    return out


def before(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a < b`` where both dates are known."""
    return ~np.isnat(a) & ~np.isnat(b) & (a < b)


def describe_order(dates: np.ndarray, word: str, other: str, ref: np.ndarray):
    """Value builder for :meth:`Faults.add`: ``"2019-01-01 (before diagnosis_date 2020-02-01)"``."""
    def build(mask: np.ndarray) -> np.ndarray:
        d = pd.Series(dates[mask]).dt.strftime("%Y-%m-%d")
        r = pd.Series(ref[mask]).dt.strftime("%Y-%m-%d")
        return (d + f" ({word} {other} " + r + ")").to_numpy(dtype=object)
    return build

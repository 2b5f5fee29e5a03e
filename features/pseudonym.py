"""Keyed pseudonyms (HMAC-SHA256) and detection of direct-identifier columns.

A pseudonym is ``P`` + the first 16 hex characters of HMAC-SHA256(key, normalised id), where the
id is normalised by stripping spaces and upper-casing (``" net-1 "`` and ``"NET-1"`` merge).
The output is pseudonymised, not anonymous: keep the key outside the repository. A key needs
at least :data:`MIN_KEY_BYTES` bytes (the validate stage refuses shorter ones): with a short or
public key anyone can reverse the pseudonyms by hashing the range of hospital numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.contract import IDENTIFIER_NAMES, IDENTIFIER_PARTS, PSEUDONYM_PATTERN

PREFIX = "P"
MIN_KEY_BYTES = 32
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_identifier(value: object) -> str:
    """Canonical text of one identifier: stripped, upper-case (``1.0`` floats become ``1``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().upper()


def pseudonymise_value(value: object, key: bytes) -> str:
    """Pseudonym of one identifier."""
    digest = hmac.digest(key, normalise_identifier(value).encode("utf-8"), hashlib.sha256)
    return PREFIX + digest.hex()[:16]


def pseudonymise_ids(ids: pd.Series, key: bytes) -> pd.Series:
    """Pseudonymise a column (hashes each distinct value once); missing stays missing.

    Args:
        ids: identifiers of any dtype.
        key: secret HMAC key (non-empty bytes).

    Returns:
        object Series of pseudonyms, same index.
    """
    if not key:
        raise ValueError("pseudonym key must not be empty")
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    mapped = np.array([pseudonymise_value(v, key) for v in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=ids.index, name=ids.name, dtype=object)


def pseudonymise(ids: pd.Series, key: bytes) -> pd.Series:
    """Pseudonymise identifiers: ``P`` + first 16 hex of HMAC-SHA256(key, stripped upper-case id).

    Args:
        ids: identifiers of any dtype (missing stays missing).
        key: secret HMAC key (non-empty bytes).

    Returns:
        object Series of pseudonyms, same index and name.
    """
    return pseudonymise_ids(ids, key)


def normalise_column_name(name: object) -> str:
    """Lower-case, non-alphanumeric runs as ``_`` (``"Patient Name"`` -> ``patient_name``)."""
    return _NON_ALNUM.sub("_", str(name).strip().lower()).strip("_")


def is_identifier_column(name: object) -> bool:
    """True when a column name denotes a direct identifier (name, MRN, DOB, address, ...)."""
    norm = normalise_column_name(name)
    if norm in IDENTIFIER_NAMES:
        return True
    parts = set(norm.split("_"))
    return any(p in parts for p in IDENTIFIER_PARTS) or any(
        p in norm for p in ("mrn", "email", "phone", "ssn", "nhs", "birthdate", "dateofbirth"))


def find_identifier_columns(columns: list[object], keep: set[str]) -> list[str]:
    """Columns of ``columns`` (not in ``keep``) that look like direct identifiers."""
    return [str(c) for c in columns if str(c) not in keep and is_identifier_column(c)]


# --------------------------------------------------------------------------- identifier-like values

REDACTED = "[redacted: identifier-like value]"
_PSEUDONYM = re.compile(PSEUDONYM_PATTERN)
_ISO_DAYS = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_LONG_DIGITS = re.compile(r"\d{6,}")  # MRN, NHS / social security or phone number
_PHONE = re.compile(r"\+?\(?\d(?:[\s().\-]*\d){8,}")  # 9+ digits with separators
_CODE = re.compile(r"[A-Za-z]{1,6}[\-_ /#:.]?\d{4,}")  # hospital-number shape: NET-0001234
_NAME = re.compile(r"^[A-Z][a-z'\u2019\-]+(?:,?\s+[A-Z][a-z'\u2019\-]+){1,3}$")  # Ann Smith
_TOKENS = re.compile(r"[\s,;|()\[\]]+")
_INT_FLOAT = re.compile(r"\.0+$")
_SHAPE = str.maketrans({**dict.fromkeys(string.digits, "9"),
                        **dict.fromkeys(string.ascii_letters, "A")})


def _norm(value: object) -> str:
    text = normalise_identifier(value)
    return _INT_FLOAT.sub("", text) if text.endswith(".0") else text


def id_shape(text: str) -> str:
    """Shape of an identifier: letters as ``A``, digits as ``9`` (``NET-01`` -> ``AAA-99``)."""
    return text.translate(_SHAPE)


class IdentifierScreen:
    """Tells identifier-like text from ordinary values.

    Knows the export's own identifiers (every patient id, every value of a dropped identifier
    column such as a name or MRN) and their shapes; also flags generic shapes (e-mail, phone,
    6+ digit runs). Used to keep raw identifiers out of quarantine values and of the free-text
    columns of the validated tables.
    """

    def __init__(self, values: Iterable[object] = ()) -> None:
        self.known: set[str] = set()
        self.words: set[str] = set()
        self.shapes: set[str] = set()
        self.add(values)

    def add(self, values: Iterable[object]) -> None:
        """Learn identifiers (missing values and values under 4 characters are skipped)."""
        for v in values:
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            text = _norm(v)
            if len(text) < 4:
                continue
            self.known.add(text)
            if not (text.isalnum() and not text.isalpha()):  # a code such as MRN0001 has none
                self.words.update(w for w in _TOKENS.split(text) if len(w) >= 3 and w.isalpha())
            shape = id_shape(text)
            if shape.count("9") >= 4 and "A" in shape:
                self.shapes.add(shape)  # mixed codes only: a 4-digit year is no identifier

    def matches_known(self, text: str) -> bool:
        """The whole value is a known identifier or has the shape of one."""
        norm = _norm(text)
        return norm in self.known or (len(norm) >= 4 and id_shape(norm) in self.shapes)

    def is_identifier_like(self, text: object, *, strict: bool = True, generic: bool = True
                           ) -> bool:
        """Is ``text`` (one cell) identifier-like?

        Args:
            text: the cell's text.
            strict: also any token that is a known identifier or name word, and
                ``First Last`` names (for quarantine values).
            generic: e-mail, phone-number, 6+ digit and hospital-number (``NET-0001234``)
                shapes (off for columns whose own values are codes, such as ``study_id``).
        """
        text = "" if text is None else str(text).strip()
        if not text or _PSEUDONYM.match(text):
            return False
        if self.matches_known(text):
            return True
        bare = _ISO_DAYS.sub(" ", text)
        if generic and any(p.search(bare) for p in (_EMAIL, _LONG_DIGITS, _PHONE, _CODE)):
            return True
        if not strict:
            return False
        tokens = {_norm(t) for t in _TOKENS.split(text) if t}
        return bool(tokens & (self.known | self.words)) or bool(_NAME.match(text))

    def redact(self, values: np.ndarray) -> np.ndarray:
        """Quarantine values with identifier-like ones replaced by :data:`REDACTED`."""
        values = np.asarray(values, dtype=object)
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        out = np.array([REDACTED if self.is_identifier_like(u) else u for u in uniques] + [None],
                       dtype=object)
        return out[codes] if len(values) else values

    def flag(self, texts: np.ndarray, *, generic: bool) -> np.ndarray:
        """Per distinct text of a free-text column: identifier-like (not strict)?"""
        return np.array([self.is_identifier_like(t, strict=False, generic=generic)
                         for t in texts], dtype=bool)

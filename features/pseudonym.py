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

import numpy as np
import pandas as pd

from features.contract import IDENTIFIER_NAMES, IDENTIFIER_PARTS

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

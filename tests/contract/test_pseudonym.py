"""Pseudonyms are deterministic, key-dependent, normalised; keys come from env, file or demo."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from features.pseudonym import (
    find_identifier_columns,
    is_identifier_column,
    pseudonymise_ids,
    pseudonymise_value,
)
from pipeline.errors import InputError
from pipeline.secrets import DEMO_KEY, KEY_ENV, KEY_FILE_ENV, load_pseudonym_key


def test_pseudonym_is_hmac_sha256_prefix():
    expected = "P" + hmac.new(b"k", b"NET-1", hashlib.sha256).hexdigest()[:16]
    assert pseudonymise_value("NET-1", b"k") == expected
    assert pseudonymise_value(" net-1 ", b"k") == expected


def test_deterministic_and_key_dependent():
    ids = pd.Series(["A1", "B2", "A1", None])
    one, two = pseudonymise_ids(ids, b"key-1"), pseudonymise_ids(ids, b"key-1")
    other = pseudonymise_ids(ids, b"key-2")
    assert one.tolist() == two.tolist()
    assert one[0] == one[2]
    assert one[0] != one[1]
    assert one[3] is None
    assert all(a != b for a, b in zip(one[:3], other[:3], strict=True))
    assert one.str.fullmatch(r"P[0-9a-f]{16}")[:3].all()
    with pytest.raises(ValueError, match="empty"):
        pseudonymise_ids(ids, b"")


@pytest.mark.parametrize("name", ["patient_name", "Name", "MRN", "mrn_local", "Date of Birth",
                                  "dob", "address", "Phone", "e-mail", "email_address", "ssn",
                                  "NHS number", "zip_code"])
def test_identifier_columns_detected(name):
    assert is_identifier_column(name)


def test_contract_columns_are_not_identifiers():
    cols = ["patient_id", "birth_year", "centre_id", "date", "value", "unit", "comment"]
    assert find_identifier_columns(cols, keep={"patient_id", "birth_year"}) == []


def test_key_from_env_hex_text_file_and_demo(tmp_path):
    assert load_pseudonym_key({KEY_ENV: "00ff" * 16}) == (bytes.fromhex("00ff" * 16), False)
    passphrase = " my-secret" * 4  # text keys are stripped
    assert load_pseudonym_key({KEY_ENV: passphrase}) == (passphrase.strip().encode(), False)
    key_file = tmp_path / "key.txt"
    key_file.write_text("file-secret-" * 3 + "\n")
    assert load_pseudonym_key({KEY_FILE_ENV: str(key_file)}) == (b"file-secret-" * 3, False)
    assert load_pseudonym_key({}, demo=True) == (DEMO_KEY, True)
    with pytest.raises(InputError, match="cannot be read"):
        load_pseudonym_key({KEY_FILE_ENV: str(tmp_path / "absent")})

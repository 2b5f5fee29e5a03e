"""The pseudonymisation key: from the environment, a key file, or the documented demo key."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from pipeline.errors import InputError

log = logging.getLogger(__name__)

KEY_ENV = "NETOUTCOMES_PSEUDONYM_KEY"
KEY_FILE_ENV = "NETOUTCOMES_PSEUDONYM_KEY_FILE"
# Public, fixed demo key: fine ONLY for synthetic data (anyone can recompute the pseudonyms).
DEMO_KEY = b"netoutcomes-demo-key-synthetic-data-only"
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2}){16,}$")


def parse_key(text: str) -> bytes:
    """Hex text (>= 32 hex digits) as bytes, otherwise the UTF-8 bytes of the stripped text."""
    text = text.strip()
    return bytes.fromhex(text) if _HEX.match(text) else text.encode("utf-8")


def load_pseudonym_key(env: dict[str, str] | None = None) -> tuple[bytes, bool]:
    """Return ``(key, is_demo)``: env ``NETOUTCOMES_PSEUDONYM_KEY``, else the key file named by
    ``NETOUTCOMES_PSEUDONYM_KEY_FILE``, else :data:`DEMO_KEY` (``is_demo=True``)."""
    env = os.environ if env is None else env
    if env.get(KEY_ENV, "").strip():
        return parse_key(env[KEY_ENV]), False
    path = env.get(KEY_FILE_ENV, "").strip()
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise InputError(path, "", f"point {KEY_FILE_ENV} at a readable text file holding "
                             "the key", "pseudonym key file cannot be read") from None
        if not text.strip():
            raise InputError(path, "", "write the key into the file", "pseudonym key file is empty")
        return parse_key(text), False
    return DEMO_KEY, True

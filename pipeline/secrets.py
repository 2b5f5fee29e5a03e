"""The pseudonymisation key: from the environment or a key file; the demo key only when asked.

There is no default key. ``load_pseudonym_key`` returns the key of ``NETOUTCOMES_PSEUDONYM_KEY``
(hex or text) or of the file named by ``NETOUTCOMES_PSEUDONYM_KEY_FILE``; the public
:data:`DEMO_KEY` only with ``demo=True`` (``netoutcomes validate --demo-key``), and the validate
stage accepts it for the simulator's own export only. Keys shorter than 32 bytes are refused.
The key is never logged and :func:`child_env` strips it from the environment of child processes.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

from features.pseudonym import MIN_KEY_BYTES
from pipeline.errors import InputError

log = logging.getLogger(__name__)

KEY_ENV = "NETOUTCOMES_PSEUDONYM_KEY"
KEY_FILE_ENV = "NETOUTCOMES_PSEUDONYM_KEY_FILE"
KEY_VARIABLES = (KEY_ENV, KEY_FILE_ENV)
# Public, fixed demo key: fine ONLY for synthetic data (anyone can recompute the pseudonyms).
DEMO_KEY = b"netoutcomes-demo-key-synthetic-data-only"
MAKE_KEY = 'python -c "import secrets; print(secrets.token_hex(32))"'
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2}){16,}$")


def parse_key(text: str) -> bytes:
    """Hex text (>= 32 hex digits) as bytes, otherwise the UTF-8 bytes of the stripped text."""
    text = text.strip()
    return bytes.fromhex(text) if _HEX.match(text) else text.encode("utf-8")


def _how_to_make_a_key() -> str:
    return (f"make a key with {MAKE_KEY}, keep it outside the repository and set {KEY_ENV} to it "
            f"(or {KEY_FILE_ENV} to a file holding it); for the synthetic demo cohort only, pass "
            "--demo-key")


def check_key(key: bytes, source: str = KEY_ENV) -> bytes:
    """Return ``key`` if it has at least :data:`MIN_KEY_BYTES` bytes, else raise InputError.

    The message names the length, never the key.
    """
    if len(key) < MIN_KEY_BYTES:
        raise InputError(source, "", _how_to_make_a_key(),
                         f"pseudonym key too short ({len(key)} bytes; at least {MIN_KEY_BYTES} "
                         f"bytes, e.g. {2 * MIN_KEY_BYTES} hex digits, are required)")
    return key


def _key_from_file(path: str) -> bytes:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise InputError(path, "", f"point {KEY_FILE_ENV} at a readable text file holding "
                         "the key", "pseudonym key file cannot be read") from None
    if not text.strip():
        raise InputError(path, "", "write the key into the file", "pseudonym key file is empty")
    return check_key(parse_key(text), path)


def load_pseudonym_key(env: Mapping[str, str] | None = None, *, demo: bool = False
                       ) -> tuple[bytes, bool]:
    """Return ``(key, is_demo)``.

    Args:
        env: the environment (default ``os.environ``).
        demo: allow the public :data:`DEMO_KEY` when no key is set (``--demo-key``).

    Returns:
        the key of ``NETOUTCOMES_PSEUDONYM_KEY``, else of the file named by
        ``NETOUTCOMES_PSEUDONYM_KEY_FILE``, else (``demo`` only) :data:`DEMO_KEY`;
        ``is_demo`` is True whenever the key is the demo key.

    Raises:
        InputError: no key and no ``demo``; key shorter than 32 bytes; unreadable key file.
    """
    env = os.environ if env is None else env
    if env.get(KEY_ENV, "").strip():
        key = check_key(parse_key(env[KEY_ENV]), KEY_ENV)
    elif env.get(KEY_FILE_ENV, "").strip():
        key = _key_from_file(env[KEY_FILE_ENV].strip())
    elif demo:
        return DEMO_KEY, True
    else:
        raise InputError(KEY_ENV, "", _how_to_make_a_key(), "no pseudonym key is set")
    return key, key == DEMO_KEY


def child_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``env`` (default ``os.environ``) without the pseudonym-key variables."""
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if k not in KEY_VARIABLES}

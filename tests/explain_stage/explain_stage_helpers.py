"""Helpers of the explain-stage tests: read keyed numbers back from a page, strip images."""

from __future__ import annotations

import re
from html.parser import HTMLParser

MADE_ON = "2026-01-31"  # fixed report date of the fixture runs
N_REPORTS = 6  # patient reports written by the fixture stage run


class _Keys(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.keys: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if "data-key" in a:
            self.keys.setdefault(a["data-key"], []).append(a.get("data-value") or "")


def read_keys(html: str) -> dict[str, str]:
    """data-key -> data-value of a page (keys must be unique)."""
    parser = _Keys()
    parser.feed(html)
    dupes = [k for k, v in parser.keys.items() if len(v) > 1]
    assert dupes == [], f"duplicate data-keys: {dupes[:5]}"
    return {k: v[0] for k, v in parser.keys.items()}


def visible_text(html: str) -> str:
    """The page without inline images (data URIs), for privacy scans."""
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", html)

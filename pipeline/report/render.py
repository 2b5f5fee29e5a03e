"""Shared helpers for the clinician reports: templates, formats, images, self-containment, writing.

A report is one HTML file that opens offline: CSS inline, images as inline SVG or `data:` URIs, no
script, no font or style from the network, and a Content-Security-Policy that forbids any fetch.
`check_self_contained` enforces this on every rendered page before it is returned.
"""

from __future__ import annotations

import base64
import logging
import math
import numbers
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from clinical.endpoints import ENDPOINTS
from pipeline.report.data import Image

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# Patterns that would make a page fetch something, run code, or leak a URL.
_FORBIDDEN = {
    "script element": re.compile(r"<\s*script", re.I),
    "http(s) URL": re.compile(r"https?:", re.I),
    "protocol-relative URL": re.compile(r"""(?:src|href)\s*=\s*["']?\s*//""", re.I),
    "external resource element": re.compile(
        r"<\s*(?:link|iframe|object|embed|base|audio|video|source)\b", re.I
    ),
    "event-handler attribute": re.compile(r"""<[^>]*\son[a-z]+\s*=\s*["']""", re.I),
    "CSS import": re.compile(r"@import", re.I),
    "CSS url() other than data:": re.compile(r"url\(\s*['\"]?(?!data:)", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


@lru_cache(maxsize=1)
def get_environment() -> jinja2.Environment:
    """Return the Jinja environment (templates next to this module, autoescape on, strict)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=format_pct, pp=format_pp, dv=data_value, ci=format_interval, endpoint=name_endpoint
    )
    return env


@lru_cache(maxsize=1)
def read_css() -> Markup:
    """Return the report stylesheet, trusted (it ships with the package)."""
    return Markup((_HERE / "style.css").read_text(encoding="utf-8"))


ENDPOINT_NAMES = {name: e.label for name, e in ENDPOINTS.items()}  # from the vocabulary


def name_endpoint(code: str) -> str:
    """Clinical name of an endpoint code ("pfs" -> "Progression-free survival"), else the code."""
    return ENDPOINT_NAMES.get(code.lower(), code)


def format_pct(p: float | None, digits: int = 0) -> str:
    """Format a probability as a percentage, e.g. 0.423 -> "42 %"; None or NaN -> "n/a"."""
    if p is None or math.isnan(p):
        return "n/a"
    return f"{100 * p:.{digits}f} %"


def format_pp(d: float | None) -> str:
    """Format a probability difference in percentage points, e.g. -0.041 -> "−4.1 pp"."""
    if d is None or math.isnan(d):
        return "n/a"
    return f"{100 * d:+.1f} pp".replace("-", "\u2212")


def format_interval(
    lo: float | None, hi: float | None, digits: int = 0, as_pct: bool = True
) -> str:
    """Format an interval, e.g. (0.31, 0.52) -> "31–52 %"; missing bounds -> ""."""
    if lo is None or hi is None:
        return ""
    if as_pct:
        return f"{100 * lo:.{digits}f}\u2013{100 * hi:.{digits}f} %"
    return f"{lo:.{digits}f}\u2013{hi:.{digits}f}"


def data_value(x: float | int | None) -> str:
    """Return the exact machine-readable value for a `data-value` attribute (round-trips floats)."""
    if x is None:
        return ""
    return str(int(x)) if isinstance(x, numbers.Integral) else repr(float(x))


def slugify(text: str) -> str:
    """Make a lower-case key fragment, e.g. "C-index" -> "c_index"."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def make_image_src(image: Image) -> str:
    """Turn PNG bytes, a PNG/SVG path, an SVG string or a PNG data URI into a `data:` URI.

    SVG given by the caller goes through `<img>` (a data URI), so any script or external reference
    inside it can neither run nor load.

    Args:
        image: The image.

    Returns:
        A `data:image/...;base64,...` string.

    Raises:
        ValueError: If the image is not a PNG or an SVG.
    """
    if isinstance(image, Path):
        image = image.read_bytes()
    if isinstance(image, bytes):
        if image.startswith(_PNG_MAGIC):
            return "data:image/png;base64," + base64.b64encode(image).decode("ascii")
        if image.lstrip()[:5] in (b"<svg ", b"<?xml"):
            return "data:image/svg+xml;base64," + base64.b64encode(image).decode("ascii")
        raise ValueError("image bytes are neither PNG nor SVG")
    if image.startswith("data:image/png;base64,"):
        base64.b64decode(image.split(",", 1)[1], validate=True)
        return image
    if image.lstrip().startswith(("<svg", "<?xml")):
        return "data:image/svg+xml;base64," + base64.b64encode(image.encode("utf-8")).decode(
            "ascii"
        )
    raise ValueError("image string is neither inline SVG nor a PNG data URI")


def check_relative_href(href: str) -> str:
    """Return `href` if it is a relative link (no scheme, not absolute), else raise ValueError."""
    if _SCHEME.match(href) or href.startswith(("/", "\\")):
        raise ValueError("patient links must be relative paths")
    return href


def check_self_contained(html: str) -> str:
    """Return `html` unchanged if it is a self-contained page, else raise ValueError.

    Raises:
        ValueError: Naming the first forbidden pattern found (never the offending text, which
            could hold patient data).
    """
    for what, pattern in _FORBIDDEN.items():
        if pattern.search(html):
            raise ValueError(f"report is not self-contained: it contains a {what}")
    return html


def render_template(name: str, **context: object) -> str:
    """Render one template with the stylesheet and check the result is self-contained."""
    html = get_environment().get_template(name).render(css=read_css(), **context)
    return check_self_contained(html)


def write_html(html: str, path: Path, mode: int = 0o640) -> Path:
    """Write a report atomically (temporary file in the same folder, then rename).

    Args:
        html: The page.
        path: Destination; parent folders are created.
        mode: File permissions (reports hold patient-level data: not world-readable).

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("wrote report %s (%d bytes)", path.name, len(html.encode("utf-8")))
    return path

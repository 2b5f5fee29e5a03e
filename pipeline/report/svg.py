"""Small inline SVG charts for the clinician reports (no JavaScript, no external fonts).

Every function returns a self-contained `<svg>` string with a `viewBox`, so the chart scales with
the page and prints without being cut. All text placed in a chart is escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from pipeline.report.data import Curve, Driver

# Okabe-Ito colour-blind-safe palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
FAVOURABLE = "#0072B2"
UNFAVOURABLE = "#D55E00"
_FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"'


def _num(x: float) -> str:
    """Format a coordinate compactly."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg_open(width: float, height: float, title: str) -> str:
    """Open an accessible, scalable SVG element (inline in HTML5, so no xmlns URL is needed)."""
    return (
        f'<svg viewBox="0 0 {_num(width)} {_num(height)}" '
        f'width="100%" role="img" aria-label="{escape(title)}" {_FONT} font-size="11">'
        f"<title>{escape(title)}</title>"
    )


def _step_points(times: Sequence[float], values: Sequence[float]) -> list[tuple[float, float]]:
    """Turn a right-continuous step function into polyline vertices, starting at (0, first)."""
    pts: list[tuple[float, float]] = []
    prev = values[0]
    if times[0] > 0:
        pts.append((0.0, 1.0))
        prev = 1.0
    for t, v in zip(times, values, strict=True):
        pts.append((t, prev))
        pts.append((t, v))
        prev = v
    return pts


def _clip_curve(curve: Curve, t_max: float) -> Curve:
    """Keep the part of a curve at or before `t_max`."""
    keep = [i for i, t in enumerate(curve.times) if t <= t_max] or [0]
    pick = lambda xs: [xs[i] for i in keep] if xs is not None else None  # noqa: E731
    return Curve(pick(curve.times), pick(curve.surv), pick(curve.lo), pick(curve.hi))


def _survival_axes(
    left: float, top: float, pw: float, ph: float, t_max: float, marks: Sequence[int]
) -> list[str]:
    """Grid, y labels (%), x ticks (months), x-axis title and dashed month marks."""
    sx = lambda t: left + pw * min(max(t, 0.0), t_max) / t_max  # noqa: E731
    sy = lambda s: top + ph * (1.0 - min(max(s, 0.0), 1.0))  # noqa: E731
    out = []
    for s in (0.0, 0.25, 0.5, 0.75, 1.0):  # horizontal grid and y labels
        y = _num(sy(s))
        out.append(
            f'<line x1="{_num(left)}" y1="{y}" x2="{_num(left + pw)}" y2="{y}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{_num(left - 4)}" y="{y}" dy="4" text-anchor="end">{int(s * 100)} %</text>'
        )
    step = 12 if t_max > 36 else 6
    for t in range(0, int(t_max) + 1, step):  # x ticks
        x = _num(sx(t))
        out.append(
            f'<line x1="{x}" y1="{_num(top + ph)}" x2="{x}" y2="{_num(top + ph + 4)}" '
            'stroke="#555"/>'
        )
        out.append(f'<text x="{x}" y="{_num(top + ph + 15)}" text-anchor="middle">{t}</text>')
    out.append(
        f'<text x="{_num(left + pw / 2)}" y="{_num(top + ph + 28)}" text-anchor="middle">'
        "months from start of therapy</text>"
    )
    for m in marks:
        x = _num(sx(m))
        out.append(
            f'<line x1="{x}" y1="{_num(top)}" x2="{x}" y2="{_num(top + ph)}" stroke="#888" '
            'stroke-dasharray="3 3"/>'
        )
    return out


def draw_survival_chart(
    curves: Sequence[tuple[str, Curve]],
    *,
    title: str,
    marks: Sequence[int] = (12, 24),
    t_max: float = 60.0,
    width: float = 420.0,
    height: float = 250.0,
    colours: Sequence[str] | None = None,
) -> str:
    """Draw one or more survival curves with interval bands and 12/24-month marks.

    Args:
        curves: (legend label, curve) pairs; colours follow the palette in order unless given.
        title: Chart title (also the accessible name).
        marks: Months at which to draw dashed guide lines.
        t_max: Last month on the x axis.
        width: ViewBox width.
        height: ViewBox height.
        colours: One colour per curve (the therapy's fixed colour), else the palette in order.

    Returns:
        An `<svg>` string.
    """
    if colours is not None and len(colours) != len(curves):
        raise ValueError(f"{len(colours)} colours for {len(curves)} curves")
    left, right, top = 42.0, 12.0, 26.0
    bottom = 38.0 + (14.0 * len(curves) + 10.0 if len(curves) > 1 else 0.0)
    pw, ph = width - left - right, height - top - bottom
    sx = lambda t: left + pw * min(max(t, 0.0), t_max) / t_max  # noqa: E731
    sy = lambda s: top + ph * (1.0 - min(max(s, 0.0), 1.0))  # noqa: E731
    out = [_svg_open(width, height, title)]
    out.append(
        f'<text x="{_num(left)}" y="15" font-size="12" font-weight="bold">{escape(title)}</text>'
    )
    out.extend(_survival_axes(left, top, pw, ph, t_max, marks))
    for i, (label, curve) in enumerate(curves):
        colour = colours[i] if colours is not None else PALETTE[i % len(PALETTE)]
        c = _clip_curve(curve, t_max)
        if c.lo is not None and c.hi is not None:
            upper = _step_points(c.times, c.hi)
            lower = _step_points(c.times, c.lo)[::-1]
            poly = " ".join(f"{_num(sx(t))},{_num(sy(s))}" for t, s in upper + lower)
            out.append(
                f'<polygon points="{poly}" fill="{colour}" fill-opacity="0.15" stroke="none"/>'
            )
        line = " ".join(f"{_num(sx(t))},{_num(sy(s))}" for t, s in _step_points(c.times, c.surv))
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        if len(curves) > 1:  # legend under the axis label
            ly = top + ph + 42 + 14 * i
            out.append(
                f'<line x1="{_num(left)}" y1="{_num(ly - 4)}" '
                f'x2="{_num(left + 18)}" y2="{_num(ly - 4)}" '
                f'stroke="{colour}" stroke-width="3"/>'
            )
            out.append(f'<text x="{_num(left + 24)}" y="{_num(ly)}">{escape(label)}</text>')
    out.append(
        f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(pw)}" height="{_num(ph)}" '
        'fill="none" stroke="#555"/>'
    )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class OverlaySeries:
    """One therapy of the first-page overlay: its (short) label, fixed colour and curves."""

    label: str
    colour: str
    pfs: Curve | None
    os: Curve | None
    best: bool = False


def _overlay_legend(series: Sequence[OverlaySeries], left: float, y0: float) -> list[str]:
    """Legend under the axis: line style key, then one row per therapy (best marked)."""
    out = [
        f'<line x1="{_num(left)}" y1="{_num(y0 - 4)}" x2="{_num(left + 18)}" y2="{_num(y0 - 4)}" '
        'stroke="#333" stroke-width="2"/>',
        f'<text x="{_num(left + 24)}" y="{_num(y0)}">progression-free survival</text>',
        f'<line x1="{_num(left + 190)}" y1="{_num(y0 - 4)}" x2="{_num(left + 208)}" '
        f'y2="{_num(y0 - 4)}" stroke="#333" stroke-width="2" stroke-dasharray="5 3"/>',
        f'<text x="{_num(left + 214)}" y="{_num(y0)}">overall survival</text>',
    ]
    for i, item in enumerate(series):  # two columns of therapies
        lx, ly = left + 190 * (i % 2), y0 + 15 * (i // 2 + 1)
        text = f"{item.label} (best predicted)" if item.best else item.label
        out.append(
            f'<line x1="{_num(lx)}" y1="{_num(ly - 4)}" x2="{_num(lx + 18)}" '
            f'y2="{_num(ly - 4)}" stroke="{item.colour}" stroke-width="{4 if item.best else 3}"/>'
        )
        weight = ' font-weight="bold"' if item.best else ""
        out.append(f'<text x="{_num(lx + 24)}" y="{_num(ly)}"{weight}>{escape(text)}</text>')
    return out


def draw_outcome_overlay(
    series: Sequence[OverlaySeries],
    *,
    title: str,
    t_max: float = 60.0,
    width: float = 420.0,
    plot_height: float = 170.0,
) -> str:
    """Draw PFS (solid) and OS (dashed) of several therapies in one chart, fixed colours.

    The best therapy (``best``) is drawn thicker and named so in the legend; curves only, no
    bands (each therapy's recalibration range is in its own chart after the first page).

    Args:
        series: One entry per eligible therapy.
        title: Chart title (also the accessible name).
        t_max: Last month on the x axis.
        width: ViewBox width.
        plot_height: Height of the plot area.

    Returns:
        An `<svg>` string.
    """
    left, right, top = 42.0, 12.0, 26.0
    pw, ph = width - left - right, plot_height
    height = top + ph + 48 + 15 * ((len(series) + 1) // 2 + 1)
    sx = lambda t: left + pw * min(max(t, 0.0), t_max) / t_max  # noqa: E731
    sy = lambda s: top + ph * (1.0 - min(max(s, 0.0), 1.0))  # noqa: E731
    out = [_svg_open(width, height, title)]
    out.append(
        f'<text x="{_num(left)}" y="15" font-size="12" font-weight="bold">{escape(title)}</text>'
    )
    out.extend(_survival_axes(left, top, pw, ph, t_max, (12, 24)))
    for item in sorted(series, key=lambda x: x.best):  # the best one drawn last, on top
        for curve, dash in ((item.pfs, ""), (item.os, ' stroke-dasharray="5 3"')):
            if curve is None:
                continue
            c = _clip_curve(curve, t_max)
            line = " ".join(
                f"{_num(sx(t))},{_num(sy(v))}" for t, v in _step_points(c.times, c.surv)
            )
            out.append(
                f'<polyline points="{line}" fill="none" stroke="{item.colour}" '
                f'stroke-width="{3 if item.best else 1.8}"{dash}/>'
            )
    out.append(
        f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(pw)}" height="{_num(ph)}" '
        'fill="none" stroke="#555"/>'
    )
    out.extend(_overlay_legend(series, left, top + ph + 46))
    out.append("</svg>")
    return "".join(out)


def draw_probability_bar(p: float, ci: tuple[float, float] | None, *, title: str) -> str:
    """Draw a 0-100 % bar for a probability with an interval whisker.

    Args:
        p: Probability in [0, 1].
        ci: (lower, upper) or None.
        title: Accessible name.

    Returns:
        An `<svg>` string.
    """
    width, height, left, pw = 300.0, 46.0, 10.0, 280.0
    sx = lambda v: left + pw * min(max(v, 0.0), 1.0)  # noqa: E731
    out = [_svg_open(width, height, title)]
    out.append(
        f'<rect x="{_num(left)}" y="8" width="{_num(pw)}" height="14" fill="#eee" stroke="#999"/>'
    )
    out.append(
        f'<rect x="{_num(left)}" y="8" width="{_num(sx(p) - left)}" height="14" '
        f'fill="{FAVOURABLE}"/>'
    )
    if ci is not None:
        lo, hi = _num(sx(ci[0])), _num(sx(ci[1]))
        out.append(f'<line x1="{lo}" y1="15" x2="{hi}" y2="15" stroke="#000" stroke-width="1.5"/>')
        for x in (lo, hi):
            out.append(
                f'<line x1="{x}" y1="10" x2="{x}" y2="20" stroke="#000" stroke-width="1.5"/>'
            )
    for v, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        out.append(f'<text x="{_num(sx(v))}" y="38" text-anchor="{anchor}">{int(v * 100)} %</text>')
    out.append("</svg>")
    return "".join(out)


CHAR_WIDTH = 6.7
"""Upper bound of the mean advance of an 11 px DejaVu Sans / Arial character (viewBox units)."""


def _wrap(text: str, max_chars: int) -> list[str]:
    """Split text at spaces into lines of at most ``max_chars`` (a longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _tspans(lines: Sequence[str], x: float, line_height: float) -> str:
    """Lines of one text element (first on the element's baseline)."""
    return "".join(
        f'<tspan x="{_num(x)}" dy="{0 if i == 0 else _num(line_height)}">{escape(t)}</tspan>'
        for i, t in enumerate(lines)
    )


def _waterfall_labels(drivers: Sequence[Driver], max_chars: int) -> list[list[str]]:
    """Name (bold line) and value text of each driver, wrapped, never truncated."""
    return [_wrap(d.label, max_chars) + _wrap(f"= {d.value_text}", max_chars) for d in drivers]


def draw_waterfall(
    drivers: Sequence[Driver],
    *,
    title: str,
    unit: str,
    higher_is_worse: bool,
    width: float = 640.0,
) -> str:
    """Draw a waterfall of driver contributions, starting at the average patient (0).

    Names and values are wrapped, never cut; the SHAP value of each bar sits in its own column at
    the right, so no number overprints a name or a bar.

    Args:
        drivers: Drivers in display order (largest |SHAP| first).
        title: Chart title.
        unit: Axis unit, e.g. "log-hazard of progression".
        higher_is_worse: True for survival models (positive SHAP = more risk), False for response.
        width: ViewBox width.

    Returns:
        An `<svg>` string.
    """
    line_h, max_chars, value_col = 13.0, 34, 52.0
    labels = _waterfall_labels(drivers, max_chars)
    widest = max([len(t) for lines in labels for t in lines] + [26])  # 26: the sum's label
    left = min(12.0 + CHAR_WIDTH * widest, 12.0 + CHAR_WIDTH * max_chars)
    right, top = value_col + 8.0, 30.0
    rows = [max(26.0, line_h * len(lines) + 8.0) for lines in labels] + [26.0]
    ys = [top + sum(rows[:i]) for i in range(len(rows))]
    bottom = ys[-1] + rows[-1]
    ends, total = [], 0.0
    for d in drivers:
        ends.append((total, total + d.shap))
        total += d.shap
    xs = [0.0] + [v for pair in ends for v in pair]
    lo, hi = min(xs), max(xs)
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span
    pw = width - left - right
    sx = lambda v: left + pw * (v - lo) / (hi - lo)  # noqa: E731
    out = [_svg_open(width, bottom + 40, title)]
    out.append(f'<text x="4" y="16" font-size="12" font-weight="bold">{escape(title)}</text>')
    out.append(
        f'<text x="{_num(width - 4)}" y="{_num(top - 8)}" text-anchor="end" '
        'fill="#555">SHAP</text>'
    )
    out.append(
        f'<line x1="{_num(sx(0))}" y1="{_num(top - 4)}" x2="{_num(sx(0))}" y2="{_num(bottom)}" '
        'stroke="#555"/>'
    )
    for i, (d, (a, b)) in enumerate(zip(drivers, ends, strict=True)):
        y, h = ys[i], rows[i]
        worse = (d.shap > 0) == higher_is_worse
        colour = UNFAVOURABLE if worse else FAVOURABLE
        out.append(
            f'<text x="{_num(left - 6)}" y="{_num(y + 14)}" text-anchor="end">'
            f"{_tspans(labels[i], left - 6, line_h)}</text>"
        )
        x0, x1 = sorted((sx(a), sx(b)))
        mid = y + h / 2
        out.append(
            f'<rect x="{_num(x0)}" y="{_num(mid - 8)}" width="{_num(max(x1 - x0, 1.0))}" '
            f'height="16" fill="{colour}"/>'
        )
        out.append(
            f'<text x="{_num(width - 4)}" y="{_num(mid + 4)}" text-anchor="end" '
            f'fill="{colour}">{d.shap:+.2f}</text>'
        )
        if i + 1 < len(drivers):  # connector to the next bar
            out.append(
                f'<line x1="{_num(sx(b))}" y1="{_num(mid + 8)}" '
                f'x2="{_num(sx(b))}" y2="{_num(ys[i + 1] + rows[i + 1] / 2 - 8)}" '
                'stroke="#999" stroke-dasharray="2 2"/>'
            )
    y = ys[-1]
    out.append(
        f'<text x="{_num(left - 6)}" y="{_num(y + 17)}" text-anchor="end" font-weight="bold">'
        "sum of the drivers shown</text>"
    )
    out.append(
        f'<line x1="{_num(sx(0))}" y1="{_num(y + 13)}" x2="{_num(sx(total))}" y2="{_num(y + 13)}" '
        'stroke="#000" stroke-width="3"/>'
    )
    out.append(
        f'<text x="{_num(width - 4)}" y="{_num(y + 17)}" text-anchor="end" '
        f'font-weight="bold">{total:+.2f}</text>'
    )
    out.append(
        f'<text x="{_num(left + pw / 2)}" y="{_num(bottom + 22)}" text-anchor="middle">'
        f"change from the average patient ({escape(unit)})</text>"
    )
    out.append("</svg>")
    return "".join(out)


def draw_importance_bars(items: Sequence[tuple[str, float]], *, title: str, unit: str) -> str:
    """Draw horizontal bars of global importance (mean |SHAP|), largest first.

    Args:
        items: (label, mean |SHAP|) pairs.
        title: Chart title.
        unit: Axis unit.

    Returns:
        An `<svg>` string.
    """
    width, row, top, left, right = 640.0, 22.0, 28.0, 230.0, 60.0
    height = top + row * len(items) + 34
    vmax = max((v for _, v in items), default=1.0) or 1.0
    pw = width - left - right
    out = [_svg_open(width, height, title)]
    out.append(f'<text x="4" y="16" font-size="12" font-weight="bold">{escape(title)}</text>')
    for i, (label, v) in enumerate(items):
        y = top + row * i
        out.append(
            f'<text x="{_num(left - 6)}" y="{_num(y + 14)}" text-anchor="end">'
            f"{escape(label)}</text>"
        )
        out.append(
            f'<rect x="{_num(left)}" y="{_num(y + 3)}" width="{_num(max(pw * v / vmax, 1.0))}" '
            f'height="14" fill="{FAVOURABLE}"/>'
        )
        out.append(f'<text x="{_num(left + pw * v / vmax + 4)}" y="{_num(y + 14)}">{v:.3f}</text>')
    out.append(
        f'<text x="{_num(left + pw / 2)}" y="{_num(top + row * len(items) + 22)}" '
        'text-anchor="middle">'
        f"{escape(unit)}</text>"
    )
    out.append("</svg>")
    return "".join(out)

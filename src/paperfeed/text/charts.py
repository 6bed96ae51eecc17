"""Small server-rendered SVG charts (pure): a bar chart of counts and a sparkline of a series.

The SVG is built by hand with strict escaping (text/feeds.xml_text), carries role="img", a <title> and a
<desc> naming the numbers, and uses presentation attributes only: the pages' CSP allows no inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from paperfeed.text.feeds import xml_text

__all__ = ["bar_chart", "sparkline", "sparkline_points"]


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    bars: Sequence[tuple[str, int]], *, title: str, desc: str, ident: str, width: int = 600, height: int = 80
) -> Markup:
    """Vertical bars, one per (label, count); each bar has a <title> tooltip. Empty input draws nothing."""
    if not bars:
        return Markup("")
    top = max(max(v for _, v in bars), 1)
    step = width / len(bars)
    gap = 1 if step > 3 else 0
    out = [
        f'<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="none" role="img" '
        f'aria-labelledby="{xml_text(ident)}-t {xml_text(ident)}-d">',
        f'<title id="{xml_text(ident)}-t">{xml_text(title)}</title>',
        f'<desc id="{xml_text(ident)}-d">{xml_text(desc)}</desc>',
        f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" class="axis" '
        'stroke="currentColor" stroke-opacity="0.3"/>',
    ]
    for i, (label, value) in enumerate(bars):
        h = (height - 2) * value / top
        out.append(
            f'<rect x="{_fmt(i * step)}" y="{_fmt(height - h)}" width="{_fmt(max(step - gap, 0.5))}" '
            f'height="{_fmt(h)}" fill="currentColor"><title>{xml_text(label)}: {value}</title></rect>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 (every interpolated text went through xml_text)


def sparkline_points(
    values: Sequence[float], *, width: int, height: int, pad: float = 2.0
) -> list[tuple[float, float]]:
    """Where each value goes in a width x height box (first at the left, last at the right; higher is up)."""
    if not values:
        return []
    low, high = min(values), max(values)
    span = high - low
    n = len(values)
    points = []
    for i, v in enumerate(values):
        x = width / 2 if n == 1 else pad + (width - 2 * pad) * i / (n - 1)
        y = height / 2 if span == 0 else pad + (height - 2 * pad) * (1 - (v - low) / span)
        points.append((round(x, 1), round(y, 1)))
    return points


def sparkline(
    values: Sequence[float], *, title: str, desc: str, ident: str, width: int = 120, height: int = 24
) -> Markup:
    """A line through the values with a dot on the last one; an empty series draws nothing."""
    points = sparkline_points(values, width=width, height=height)
    if not points:
        return Markup("")
    path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
    lx, ly = points[-1]
    label = xml_text(ident)
    return Markup(  # noqa: S704 (every interpolated text went through xml_text)
        f'<svg class="chart spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="{label}-t {label}-d">'
        f'<title id="{xml_text(ident)}-t">{xml_text(title)}</title>'
        f'<desc id="{xml_text(ident)}-d">{xml_text(desc)}</desc>'
        f'<polyline points="{path}" fill="none" stroke="currentColor" stroke-width="1.5" '
        'stroke-linejoin="round" stroke-linecap="round"/>'
        f'<circle cx="{_fmt(lx)}" cy="{_fmt(ly)}" r="2" fill="currentColor"/>'
        "</svg>"
    )

"""Small charts for the dashboard as SVG text: series in, an `<svg>` string out. Pure.

Drawn on the server so the overview needs no script and no chart library (the pages send
`default-src 'none'` and no JavaScript). Every text that goes in is escaped here, so the
string can be put into a page as markup. The SVG scales to its box (a viewBox, `width="100%"`);
its colours are classes the dashboard's stylesheet gives in its light and dark styles
(`tone-accent`, `tone-bad`…). It names itself for screen readers (`role="img"` with its
`<title>` and `<desc>`); the page puts the numbers beside it as text too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 360  # viewBox units: about the CSS pixels of a chart's box on a laptop and on a phone
GUTTER = 40  # the y labels' column
RIGHT = 6
PANEL = 64  # the height of one series' plot
PANEL_GAP = 22  # above each plot: its name and its top label
AXIS = 20  # the x labels under the last plot
FONT = 12
NO_DATA = "no data yet"
TONES = ("accent", "bad", "ok", "warn")
_ID = re.compile(r"[a-z][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class Series:
    """One row of numbers, one per bucket, oldest first."""

    name: str
    values: tuple[int, ...]
    tone: str = "accent"  # a class the stylesheet colours: one of TONES


@dataclass(frozen=True)
class Axis:
    """The x axis: how many buckets, and the ticks (bucket index, label) to draw under them."""

    size: int
    ticks: tuple[tuple[int, str], ...] = ()


def number(value: int) -> str:
    """A count as people read it: 12,345."""
    return f"{value:,}"


def bar_chart(chart_id: str, title: str, desc: str, axis: Axis, panels: Sequence[Series]) -> str:
    """One bar per bucket; several series are drawn one under another on the same x axis,
    each on its own scale with its maximum written on it (a few failures stay visible
    beside thousands of deliveries)."""
    _check(chart_id, axis, panels)
    height = len(panels) * (PANEL_GAP + PANEL) + AXIS
    if _empty(panels):
        return _no_data(chart_id, title, desc, height)
    parts: list[str] = []
    step = (WIDTH - GUTTER - RIGHT) / axis.size
    for i, series in enumerate(panels):
        top = i * (PANEL_GAP + PANEL) + PANEL_GAP
        base = top + PANEL
        peak = max(series.values, default=0)
        parts.append(_frame(series, top, base, number(peak), "0"))
        if peak <= 0:
            continue
        bars = []
        for j, value in enumerate(series.values):
            if value <= 0:
                continue
            # At least one unit tall: one failure among thousands still shows.
            tall = max(value / peak * PANEL, 1.0)
            bars.append(f'<rect x="{_n(GUTTER + j * step + step * 0.1)}" y="{_n(base - tall)}" '
                        f'width="{_n(max(step * 0.8, 0.6))}" height="{_n(tall)}"/>')
        parts.append(f'<g class="bars tone-{series.tone}">{"".join(bars)}</g>')
    parts.append(_ticks(axis, height - AXIS, step, centred=True))
    return _svg(chart_id, title, desc, height, "".join(parts))


def line_chart(chart_id: str, title: str, desc: str, axis: Axis, series: Series) -> str:
    """One point per bucket joined by a line, scaled between the smallest and the largest
    value (both written on it): a follower count moves by a few in a thousand."""
    _check(chart_id, axis, [series])
    height = PANEL_GAP + PANEL + AXIS
    if _empty([series]):
        return _no_data(chart_id, title, desc, height)
    top, base = PANEL_GAP, PANEL_GAP + PANEL
    low, high = min(series.values), max(series.values)
    span = high - low
    step = (WIDTH - GUTTER - RIGHT) / max(axis.size - 1, 1)

    def y(value: int) -> float:
        return (top + base) / 2 if span == 0 else base - (value - low) / span * PANEL

    points = [(GUTTER + j * step, y(value)) for j, value in enumerate(series.values)]
    path = " ".join(f"{_n(px)},{_n(py)}" for px, py in points)
    area = f"{_n(points[0][0])},{_n(base)} {path} {_n(points[-1][0])},{_n(base)}"
    last_x, last_y = points[-1]
    parts = [
        _frame(series, top, base, number(high), number(low)),
        (f'<g class="tone-{series.tone}"><polygon class="area" points="{area}"/>'
         f'<polyline class="line" points="{path}"/>'
         f'<circle class="dot" cx="{_n(last_x)}" cy="{_n(last_y)}" r="3"/></g>'),
        _ticks(axis, base, step, centred=False),
    ]
    return _svg(chart_id, title, desc, height, "".join(parts))


def _check(chart_id: str, axis: Axis, panels: Sequence[Series]) -> None:
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"a chart id is a-z, 0-9 and '-', not {chart_id!r}")
    if axis.size < 1 or not panels:
        raise ValueError("a chart needs at least one bucket and one series")
    for series in panels:
        if len(series.values) != axis.size:
            raise ValueError(f"{series.name}: {len(series.values)} values for {axis.size} buckets")
        if series.tone not in TONES:
            raise ValueError(f"{series.name}: no tone {series.tone!r}")


def _empty(panels: Sequence[Series]) -> bool:
    return all(value == 0 for series in panels for value in series.values)


def _frame(series: Series, top: float, base: float, high: str, low: str) -> str:
    """A series' name, its top and bottom labels and their grid lines."""
    right = WIDTH - RIGHT
    return (f'<g class="grid"><line x1="{GUTTER}" y1="{_n(top)}" x2="{right}" y2="{_n(top)}"/>'
            f'<line class="base" x1="{GUTTER}" y1="{_n(base)}" x2="{right}" y2="{_n(base)}"/></g>'
            f'<text class="name tone-{series.tone}" x="{GUTTER}" y="{_n(top - 6)}">{escape(series.name)}</text>'
            f'<text class="max" x="{GUTTER - 4}" y="{_n(top + 4)}" text-anchor="end">{escape(high)}</text>'
            f'<text x="{GUTTER - 4}" y="{_n(base)}" text-anchor="end">{escape(low)}</text>')


def _ticks(axis: Axis, base: float, step: float, *, centred: bool) -> str:
    """A short mark and a label under each tick; the last label ends at the right edge."""
    marks, labels = [], []
    for index, label in axis.ticks:
        if not 0 <= index < axis.size:
            continue
        x = GUTTER + index * step + (step / 2 if centred else 0)
        marks.append(f'<line x1="{_n(x)}" y1="{_n(base)}" x2="{_n(x)}" y2="{_n(base + 4)}"/>')
        anchor = "end" if x > WIDTH - RIGHT - 30 else "middle" if x > GUTTER + 20 else "start"
        labels.append(f'<text x="{_n(x)}" y="{_n(base + 16)}" text-anchor="{anchor}">{escape(label)}</text>')
    return f'<g class="ticks">{"".join(marks)}</g>{"".join(labels)}'


def _no_data(chart_id: str, title: str, desc: str, height: int) -> str:
    middle = (height - AXIS) / 2 + PANEL_GAP / 2
    body = (f'<rect class="empty" x="{GUTTER}" y="{PANEL_GAP}" width="{WIDTH - GUTTER - RIGHT}" '
            f'height="{height - AXIS - PANEL_GAP}" rx="6"/>'
            f'<text class="none" x="{_n((WIDTH + GUTTER - RIGHT) / 2)}" y="{_n(middle)}" '
            f'text-anchor="middle">{NO_DATA}</text>')
    return _svg(chart_id, title, f"{desc} {NO_DATA.capitalize()}.".strip(), height, body)


def _svg(chart_id: str, title: str, desc: str, height: int, body: str) -> str:
    return (f'<svg class="chart-svg" id="{chart_id}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
            f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
            f'font-size="{FONT}" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
            f"{body}</svg>")


def _n(value: float) -> str:
    """A coordinate with at most one decimal: short markup for 168 bars."""
    text = f"{value:.1f}"
    return text.removesuffix(".0")

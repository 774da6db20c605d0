"""Charts as inline SVG, drawn on the server: no script, no CDN, readable without colour alone.

Every chart has a title, labelled axes with gridlines, and a legend when it has
more than one series; the page shows the same numbers as a table beside it.
Styling is SVG presentation attributes only, so a strict CSP (no inline style)
holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2", "green": "#009E73", "orange": "#E69F00", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "grey": "#999999", "black": "#000000",
}

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 48, 58
# Text sizes in the chart's own units. The svg's width and height attributes are the smallest size at which
# its smallest text (TICK_FONT) is still LEGIBLE_PX on screen: the page never draws it smaller (a narrower
# screen scrolls the chart sideways instead, see the chart_frame macro).
TICK_FONT, LABEL_FONT, TITLE_FONT = 12, 13, 15
LEGIBLE_PX = 11
CHAR_WIDTH = 0.62  # an average glyph's width, in ems, for laying out the legend
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


class _Canvas:
    """An SVG with a plotting area, axes and a y scale from 0 to `y_max`."""

    def __init__(self, title: str, y_label: str, x_label: str, y_max: float, y_format: Callable[[float], str], width: int):
        self.parts: list[str] = []
        self.title, self.y_max, self.y_format, self.width = title, y_max, y_format, width
        self.plot_w = width - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM
        self.y_label, self.x_label = y_label, x_label

    def y(self, value: float) -> float:
        return TOP + self.plot_h - (value / self.y_max) * self.plot_h

    def add(self, svg: str) -> None:
        self.parts.append(svg)

    def grid(self, ticks: int = 5) -> None:
        for i in range(ticks + 1):
            value = self.y_max * i / ticks
            y = self.y(value)
            self.add(f'<line x1="{LEFT}" x2="{LEFT + self.plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#dddddd" stroke-width="1"/>')
            self.add(
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="{TICK_FONT}" fill="#333333">'
                f"{escape(self.y_format(value))}</text>"
            )
        self.add(
            f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + self.plot_h}" stroke="#333333" stroke-width="1"/>'
            f'<line x1="{LEFT}" x2="{LEFT + self.plot_w}" y1="{TOP + self.plot_h}" y2="{TOP + self.plot_h}" stroke="#333333" stroke-width="1"/>'
        )
        self.add(
            f'<text x="14" y="{TOP + self.plot_h / 2:.1f}" font-size="{LABEL_FONT}" fill="#333333" text-anchor="middle" '
            f'transform="rotate(-90 14 {TOP + self.plot_h / 2:.1f})">{escape(self.y_label)}</text>'
        )
        self.add(
            f'<text x="{LEFT + self.plot_w / 2:.1f}" y="{HEIGHT - 6}" font-size="{LABEL_FONT}" fill="#333333" '
            f'text-anchor="middle">{escape(self.x_label)}</text>'
        )

    def x_labels(self, labels: Sequence[str], centers: Sequence[float]) -> None:
        # At most 12 labels, and never so many that the widest would touch its neighbours.
        slot = self.plot_w / max(1, len(labels))
        widest = max((len(label) for label in labels), default=0) * TICK_FONT * CHAR_WIDTH + 8
        step = max(1, math.ceil(len(labels) / 12), math.ceil(widest / slot))
        for i, (label, x) in enumerate(zip(labels, centers, strict=True)):
            if i % step == 0:
                self.add(
                    f'<text x="{x:.1f}" y="{TOP + self.plot_h + 20}" font-size="{TICK_FONT}" fill="#333333" '
                    f'text-anchor="middle">{escape(label)}</text>'
                )

    def legend(self, series: Sequence[Series]) -> None:
        if len(series) < 2:
            return
        x = LEFT
        for item in series:
            self.add(f'<rect x="{x}" y="{TOP - 22}" width="12" height="12" fill="{item.color}"/>')
            self.add(f'<text x="{x + 16}" y="{TOP - 12}" font-size="{TICK_FONT}" fill="#333333">{escape(item.name)}</text>')
            x += 28 + math.ceil(len(item.name) * TICK_FONT * CHAR_WIDTH)

    def render(self, chart_id: str, description: str) -> Markup:
        title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
        legible = self.width * LEGIBLE_PX / TICK_FONT
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {HEIGHT}" width="{math.ceil(legible)}" '
            f'height="{math.ceil(legible * HEIGHT / self.width)}" class="chart" role="img" '
            f'aria-labelledby="{title_id} {desc_id}" id="{chart_id}" {FONT}>'
            f'<title id="{title_id}">{escape(self.title)}</title><desc id="{desc_id}">{escape(description)}</desc>'
            f'<rect x="0" y="0" width="{self.width}" height="{HEIGHT}" fill="#ffffff"/>'
            f'<text x="{LEFT}" y="17" font-size="{TITLE_FONT}" font-weight="600" fill="#111111">{escape(self.title)}</text>'
        )
        return Markup(head + "".join(self.parts) + "</svg>")


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_label: str,
    x_label: str,
    description: str,
    width: int = WIDTH,
) -> Markup:
    """Bars per label, the series stacked bottom to top in the order given."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    canvas = _Canvas(title, y_label, x_label, nice_ceiling(max(totals, default=0)), _number, width)
    canvas.grid()
    canvas.legend(series)
    slot = canvas.plot_w / max(1, len(labels))
    bar = max(1.0, slot * 0.72)
    centers = []
    for i, label in enumerate(labels):
        x = LEFT + i * slot + (slot - bar) / 2
        centers.append(x + bar / 2)
        base = 0.0
        for item in series:
            value = item.values[i] or 0
            if value:
                top, bottom = canvas.y(base + value), canvas.y(base)
                canvas.add(
                    f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{bottom - top:.1f}" fill="{item.color}">'
                    f"<title>{escape(label)}: {escape(item.name)} {_number(value)}</title></rect>"
                )
            base += value
    canvas.x_labels(labels, centers)
    return canvas.render(chart_id, description)


def line_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_label: str,
    x_label: str,
    description: str,
    percent: bool = False,
    width: int = WIDTH,
) -> Markup:
    """Lines with a dot per value; a missing value (None) breaks the line."""
    peak = max((v for s in series for v in s.values if v is not None), default=0)
    y_max = 1.0 if percent else nice_ceiling(peak)
    canvas = _Canvas(title, y_label, x_label, y_max, _percent if percent else _number, width)
    canvas.grid()
    canvas.legend(series)
    slot = canvas.plot_w / max(1, len(labels))
    centers = [LEFT + (i + 0.5) * slot for i in range(len(labels))]
    for item in series:
        segment: list[str] = []
        segments = [segment]
        for x, value in zip(centers, item.values, strict=True):
            if value is None:
                segment = []
                segments.append(segment)
                continue
            segment.append(f"{x:.1f},{canvas.y(value):.1f}")
        for points in segments:
            if len(points) > 1:
                canvas.add(f'<polyline points="{" ".join(points)}" fill="none" stroke="{item.color}" stroke-width="2"/>')
        for label, x, value in zip(labels, centers, item.values, strict=True):
            if value is not None:
                shown = _percent(value) if percent else _number(value)
                canvas.add(
                    f'<circle cx="{x:.1f}" cy="{canvas.y(value):.1f}" r="3" fill="{item.color}">'
                    f"<title>{escape(label)}: {escape(item.name)} {shown}</title></circle>"
                )
    canvas.x_labels(labels, centers)
    return canvas.render(chart_id, description)

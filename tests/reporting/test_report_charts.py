"""Server-side SVG charts: well-formed, labelled, escaped, no script."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from webapp.reporting.charts import Series, bar_chart, line_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def test_bar_chart_is_labelled_svg_with_a_bar_per_value():
    svg = _parse(bar_chart(
        "c1", "Calls <per> day", ["May 01", "May 02"],
        [Series("Answered", [3, 4], "#000"), Series("Not answered", [1, 0], "#999")],
        y_label="calls", x_label="day", description="d",
    ))
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Calls <per> day"  # escaped in the markup, read back plain
    texts = [node.text for node in svg.iter(f"{SVG}text")]
    assert {"calls", "day", "May 01", "May 02", "Answered", "Not answered"} <= set(texts)
    bars = [rect for rect in svg.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert len(bars) == 3  # a zero draws nothing
    assert not list(svg.iter(f"{SVG}script"))


def test_line_chart_breaks_at_missing_values_and_shows_percent():
    svg = _parse(line_chart(
        "c2", "Answer rate", ["a", "b", "c", "d"], [Series("rate", [0.5, None, 0.25, 1.0], "#00f")],
        y_label="rate", x_label="day", description="d", percent=True,
    ))
    assert len(list(svg.iter(f"{SVG}circle"))) == 3
    assert len(list(svg.iter(f"{SVG}polyline"))) == 1  # only c-d are joined
    assert "100%" in [node.text for node in svg.iter(f"{SVG}text")]


def test_nice_ceiling():
    assert [nice_ceiling(v) for v in (0, 1, 7, 11, 180, 2400)] == [1, 1, 10, 20, 200, 2500]


def test_a_chart_is_never_drawn_below_its_legible_size():
    """Its width attribute (the least the page draws it at) keeps its smallest text at 11 px or more."""
    for width in (760, 500):
        svg = _parse(bar_chart("c3", "t", ["a"], [Series("s", [1], "#000")], y_label="y", x_label="x",
                               description="d", width=width))
        assert svg.get("viewBox") == f"0 0 {width} 300"
        smallest = min(float(node.get("font-size")) for node in svg.iter(f"{SVG}text"))
        assert int(svg.get("width")) * smallest / width >= 11
        assert int(svg.get("width")) * smallest / width < 11.1  # and no wider than that needs
        assert int(svg.get("height")) / int(svg.get("width")) == pytest.approx(300 / width, abs=0.01)


def test_long_x_labels_thin_out_so_that_they_never_touch():
    labels = [f"01 Dec 16:{minute:02d}" for minute in range(30)]
    svg = _parse(bar_chart("c4", "t", labels, [Series("s", [1] * 30, "#000")], y_label="y", x_label="x",
                           description="d"))
    shown = [node for node in svg.iter(f"{SVG}text") if (node.text or "").startswith("01 Dec")]
    xs = [float(node.get("x")) for node in shown]
    assert 2 <= len(shown) < 12
    gap = min(b - a for a, b in zip(xs, xs[1:], strict=False))
    assert gap >= len(labels[0]) * float(shown[0].get("font-size")) * 0.62

"""The pure SVG charts: points, escaping, empty and flat series (text/charts.py)."""

from __future__ import annotations

from lxml import etree

from paperfeed.text.charts import bar_chart, sparkline, sparkline_points


def parse(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode())


NS = "{http://www.w3.org/2000/svg}"


def test_sparkline_points_span_the_box_and_higher_is_up() -> None:
    pts = sparkline_points([0, 5, 10], width=100, height=20, pad=0)
    assert pts == [(0.0, 20.0), (50.0, 10.0), (100.0, 0.0)]


def test_flat_and_single_value_series_sit_in_the_middle() -> None:
    assert sparkline_points([7, 7], width=100, height=20, pad=0) == [(0.0, 10.0), (100.0, 10.0)]
    assert sparkline_points([3], width=100, height=20) == [(50.0, 10.0)]


def test_empty_series_draw_nothing() -> None:
    assert sparkline_points([], width=10, height=10) == []
    assert str(sparkline([], title="t", desc="d", ident="x")) == ""
    assert str(bar_chart([], title="t", desc="d", ident="x")) == ""


def test_sparkline_is_valid_svg_with_title_desc_and_the_points() -> None:
    svg = parse(
        str(sparkline([1, 3, 2], title="Upvotes", desc="from 1 to 2", ident="s", width=100, height=20))
    )
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "s-t s-d"
    assert svg.find(f"{NS}title").text == "Upvotes"
    assert svg.find(f"{NS}desc").text == "from 1 to 2"
    points = svg.find(f"{NS}polyline").get("points").split()
    assert len(points) == 3 and points[0].startswith("2,") and points[-1].startswith("98,")
    assert svg.find(f"{NS}circle").get("cx") == "98"  # the dot marks the last value


def test_hostile_text_is_escaped() -> None:
    evil = '</title><script>alert(1)</script>"&\x01'
    for out in (
        sparkline([1, 2], title=evil, desc=evil, ident='a"b'),
        bar_chart([(evil, 3)], title=evil, desc=evil, ident="c"),
    ):
        svg = parse(str(out))  # well-formed: nothing broke out of its element or attribute
        assert svg.find(f".//{NS}script") is None
        assert "<script>" not in str(out)
        assert svg.find(f"{NS}title").text == '</title><script>alert(1)</script>"&'


def test_bar_chart_has_one_bar_per_month_scaled_to_the_largest() -> None:
    svg = parse(
        str(
            bar_chart(
                [("2026-01", 2), ("2026-02", 0), ("2026-03", 4)],
                title="t",
                desc="d",
                ident="b",
                width=300,
                height=82,
            )
        )
    )
    bars = svg.findall(f"{NS}rect")
    assert [b.find(f"{NS}title").text for b in bars] == ["2026-01: 2", "2026-02: 0", "2026-03: 4"]
    assert [float(b.get("height")) for b in bars] == [40.0, 0.0, 80.0]
    assert [float(b.get("x")) for b in bars] == [0.0, 100.0, 200.0]

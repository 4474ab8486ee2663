"""The server-rendered SVG chart: bars scale to a round yuan axis, and every text is escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from server.console.charts import PLOT_HEIGHT, activity_chart

SVG = "{http://www.w3.org/2000/svg}"


def _day(date: str, top_up_fen: int = 0, redeemed_fen: int = 0) -> dict:
    return {"date": date, "top_up_fen": top_up_fen, "redeemed_fen": redeemed_fen}


def _parse(svg: str) -> ET.Element:
    """The chart as XML: it must be well-formed (it is our own output, not untrusted input)."""
    return ET.fromstring(svg)  # noqa: S314


def _bars(svg: str) -> dict[tuple[str, str], float]:
    """(date, series) → bar height, read from the parsed SVG."""
    root = _parse(svg)
    bars = {}
    for rect in root.iter(f"{SVG}rect"):
        if rect.get("class") == "bar":
            date = rect.find(f"{SVG}title").text.split()[0]
            bars[(date, rect.get("data-series"))] = float(rect.get("height"))
    return bars


def _axis_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end"[^>]*>([^<]+)</text>', svg)


def test_bars_scale_to_a_round_axis_above_the_largest_amount():
    svg = activity_chart([_day("2025-03-01", 40000, 20000), _day("2025-03-02", 10000, 0)], title="近 30 天")
    bars = _bars(svg)
    assert bars[("2025-03-01", "top_up_fen")] == PLOT_HEIGHT  # ¥400 is the top of a ¥0–¥400 axis
    assert bars[("2025-03-01", "redeemed_fen")] == PLOT_HEIGHT / 2
    assert bars[("2025-03-02", "top_up_fen")] == PLOT_HEIGHT / 4
    assert bars[("2025-03-02", "redeemed_fen")] == 0
    assert _axis_labels(svg) == ["¥0.00", "¥100.00", "¥200.00", "¥300.00", "¥400.00"]


def test_the_axis_rounds_up_to_one_two_or_five_yuan_steps():
    svg = activity_chart([_day("2025-03-01", 123_456, 1)], title="t")
    assert _axis_labels(svg)[-1] == "¥2,000.00"  # steps of ¥500 cover ¥1,234.56
    assert _bars(svg)[("2025-03-01", "top_up_fen")] == round(PLOT_HEIGHT * 123_456 / 200_000, 1)
    empty = activity_chart([_day("2025-03-01")], title="t")
    assert _axis_labels(empty)[-1] == "¥4.00" and _bars(empty)[("2025-03-01", "top_up_fen")] == 0


def test_it_is_an_accessible_image_with_money_in_yuan():
    svg = activity_chart([_day("2025-03-01", 1234, 500), _day("2025-03-02", 66, 0)], title="本月充值与核销")
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "本月充值与核销"
    assert root.find(f"{SVG}desc").text == "充值合计 ¥13.00，核销合计 ¥5.00"
    titles = [title.text for title in root.iter(f"{SVG}title")]
    assert "2025-03-01 充值 ¥12.34" in titles and "2025-03-01 核销 ¥5.00" in titles


def test_every_text_is_escaped():
    svg = activity_chart([_day('<script>alert("x")</script>', 100)], title='</title><script>alert(1)</script>&')
    assert "<script>" not in svg
    assert "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in svg
    _parse(svg)

"""Charts drawn on the server as inline SVG: no chart library to download, and they work offline.

Pure functions from report rows to markup; every text is escaped and money is labelled in yuan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from server.console.filters import money

WIDTH, HEIGHT = 760, 260
#: Plot area inside the labels: left for the yuan axis, bottom for the dates, top for the legend.
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 28, 28
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
#: The axis is cut into this many equal steps of a round amount.
STEPS = 4
#: About this many dates are written under the bars.
DATE_LABELS = 6

#: (key of a by_day row, Chinese name, colour) of each bar of a day.
SERIES = (("top_up_fen", "充值", "#3b5bdb"), ("redeemed_fen", "核销", "#f08c00"))


def _round_step(at_least_fen: int) -> int:
    """The smallest step of 1, 2 or 5 × 10ⁿ yuan that is at least ``at_least_fen``."""
    magnitude = 100
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= at_least_fen:
                return factor * magnitude
        magnitude *= 10


def activity_chart(by_day: Sequence[Mapping[str, Any]], *, title: str) -> Markup:
    """Top-ups and redemptions of each day (report ``by_day`` rows) as grouped bars, with a yuan axis.

    The bars scale to a round axis maximum at or above the largest amount; each bar's ``<title>``
    names its day and amount for screen readers and as a tooltip."""
    largest = max((row[key] for row in by_day for key, _, _ in SERIES), default=0)
    step = _round_step(-(-largest // STEPS))
    top = step * STEPS
    slot = PLOT_WIDTH / max(len(by_day), 1)
    bar = slot * 0.38
    totals = "，".join(f"{name}合计 {money(sum(row[key] for row in by_day))}" for key, name, _ in SERIES)

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" font-size="11" font-family="sans-serif">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(totals)}</desc>',
    ]
    for n in range(STEPS + 1):
        y = TOP + PLOT_HEIGHT - PLOT_HEIGHT * n / STEPS
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d5dd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#667085">'
                     f'{escape(money(step * n))}</text>')
    every = -(-len(by_day) // DATE_LABELS) or 1
    for index, row in enumerate(by_day):
        x = LEFT + slot * index + (slot - 2 * bar) / 2
        for offset, (key, name, colour) in enumerate(SERIES):
            height = PLOT_HEIGHT * row[key] / top
            parts.append(
                f'<rect class="bar" data-series="{key}" x="{x + offset * bar:.1f}" '
                f'y="{TOP + PLOT_HEIGHT - height:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{colour}">'
                f'<title>{escape(row["date"])} {name} {escape(money(row[key]))}</title></rect>'
            )
        if index % every == 0 or index == len(by_day) - 1:
            parts.append(f'<text x="{LEFT + slot * (index + 0.5):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                         f'fill="#667085">{escape(str(row["date"])[5:])}</text>')
    for offset, (_, name, colour) in enumerate(SERIES):
        x = WIDTH - RIGHT - 130 + offset * 66
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="18">{name}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped

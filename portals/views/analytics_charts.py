"""The usage pages' charts: geometry here, SVG in templates (no script, no library).

Like the bin page's chart (charts.py), each time chart comes in a wide and a narrow
geometry and the stylesheet shows one by the screen's width, so labels stay readable on
a 390 px phone. Every chart's numbers are also in a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portals.views.charts import NARROW, WIDE, nice_ceiling

LEFT, RIGHT, TOP, BOTTOM = 56, 12, 14, 30


@dataclass(frozen=True)
class Tick:
    label: str
    y: float


@dataclass(frozen=True)
class XLabel:
    label: str
    x: float
    anchor: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class TimeChart:
    """Bars (a flow per period) or a line (a level at each period's end) over time."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    ticks: list[Tick]
    xlabels: list[XLabel]
    bars: list[Bar]
    path: str
    area: str


def _fmt(value: float, money: bool) -> str:
    sign = "$" if money else ""
    if value >= 10_000:
        return f"{sign}{value / 1000:,.0f}k"
    if value != int(value):
        return f"{sign}{value:,.2f}".rstrip("0").rstrip(".")
    return f"{sign}{value:,.0f}"


def time_chart(
    points: list[tuple[str, float, str]],
    *,
    kind: str = "bars",
    money: bool = False,
    size: tuple[int, int] = WIDE,
) -> TimeChart | None:
    """`points` are (axis label, value, hover title), oldest first."""
    if not points:
        return None
    width, height = size
    right, bottom = width - RIGHT, height - BOTTOM
    plot_w, plot_h = right - LEFT, bottom - TOP
    top_value = nice_ceiling(max([float(v) for _, v, _ in points] + [1]) * 1.05)
    step = plot_w / len(points)

    def y_of(value: float) -> float:
        return round(bottom - float(value) / top_value * plot_h, 1)

    ticks = [
        Tick(label=_fmt(top_value * n / 4, money), y=y_of(top_value * n / 4)) for n in range(5)
    ]
    every = max(1, round(len(points) / (6 if width > 400 else 3)))
    xlabels = []
    for i, (label, _, _) in enumerate(points):
        if i % every:
            continue
        x = round(LEFT + i * step + step / 2, 1)
        # A label near an edge is anchored to it, so it is not cut off.
        anchor = "end" if x > right - 30 else ("start" if x < LEFT + 20 else "middle")
        xlabels.append(
            XLabel(label=label, x=min(x, right) if anchor == "end" else x, anchor=anchor)
        )
    bars: list[Bar] = []
    path = area = ""
    if kind == "bars":
        gap = min(step * 0.2, 4)
        bars = [
            Bar(
                x=round(LEFT + i * step + gap / 2, 1),
                y=y_of(value),
                width=round(max(step - gap, 0.6), 2),
                height=round(float(value) / top_value * plot_h, 1),
                title=title,
            )
            for i, (_, value, title) in enumerate(points)
            if value
        ]
    else:
        xs = [round(LEFT + i * step + step / 2, 1) for i in range(len(points))]
        coords = [f"{x},{y_of(v)}" for x, (_, v, _) in zip(xs, points, strict=True)]
        path = "M" + " L".join(coords)
        area = f"{path} L{xs[-1]},{bottom} L{xs[0]},{bottom} Z"
    return TimeChart(
        width=width,
        height=height,
        left=LEFT,
        right=right,
        top=TOP,
        bottom=bottom,
        ticks=ticks,
        xlabels=xlabels,
        bars=bars,
        path=path,
        area=area,
    )


def time_charts(points: list[tuple[str, float, str]], **kw) -> dict[str, TimeChart | None]:
    """Both geometries: the page shows the wide one, or the narrow one on a phone."""
    return {
        "wide": time_chart(points, size=WIDE, **kw),
        "narrow": time_chart(points, size=NARROW, **kw),
    }


@dataclass(frozen=True)
class HBar:
    label: str
    value_label: str
    y: float
    width: float


@dataclass(frozen=True)
class HBarChart:
    """Ranked horizontal bars (top items, customers, cover bands): label above each bar,
    value at its end. One geometry: it reads the same at any width."""

    width: int
    height: int
    row: int
    bars: list[HBar]


def hbar_chart(
    rows: list[tuple[str, float]], *, money: bool = False, width: int = 360
) -> HBarChart | None:
    if not rows:
        return None
    row = 34
    top_value = max(float(v) for _, v in rows) or 1.0
    plot_w = width - 70
    bars = [
        HBar(
            label=label[:40],
            value_label=(f"${float(value):,.2f}" if money else f"{float(value):,.0f}"),
            y=i * row,
            width=round(max(float(value) / top_value * plot_w, 1 if value else 0), 1),
        )
        for i, (label, value) in enumerate(rows)
    ]
    return HBarChart(width=width, height=row * len(rows), row=row, bars=bars)


def money(value: Decimal | float) -> float:
    return float(value or 0)

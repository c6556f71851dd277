"""Small server-drawn charts of the recommendations pages (geometry here, SVG in templates).

A recommendation's chart: daily demand as bars, with the current and recommended min/max
as lines. A backtest's chart: each variant as a point, stock value against fill rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from portals.views.charts import nice_ceiling

DEMAND_SIZE = (300, 90)
TRADEOFF_SIZE = (640, 300)
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 12, 10, 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class Line:
    name: str
    value: int
    y: float


@dataclass(frozen=True)
class DemandChart:
    width: int
    height: int
    bar_width: float
    bars: list[Bar]
    lines: list[Line]
    top: int
    days: int
    total: int


def demand_chart(
    daily: list[int], *, current: tuple[int, int], recommended: tuple[int, int]
) -> DemandChart:
    """Bars of units issued per day (oldest left) under the four level lines."""
    width, height = DEMAND_SIZE
    plot_h = height - 8
    top = nice_ceiling(max([*daily, *current, *recommended, 1]) * 1.05)
    step = width / max(len(daily), 1)

    def y_of(value: float) -> float:
        return round(4 + plot_h - value / top * plot_h, 1)

    bars = [
        Bar(x=round(i * step, 1), y=y_of(v), height=round(v / top * plot_h, 1))
        for i, v in enumerate(daily)
        if v > 0
    ]
    lines = [
        Line(name=name, value=value, y=y_of(value))
        for name, value in (
            ("cur-max", current[1]),
            ("cur-min", current[0]),
            ("rec-max", recommended[1]),
            ("rec-min", recommended[0]),
        )
    ]
    return DemandChart(
        width=width,
        height=height,
        bar_width=round(max(step - 0.6, 0.6), 2),
        bars=bars,
        lines=lines,
        top=top,
        days=len(daily),
        total=sum(daily),
    )


@dataclass(frozen=True)
class Point:
    label: str
    x: float
    y: float
    fill: float
    value: float


@dataclass(frozen=True)
class TradeoffChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[Point]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]


def tradeoff_chart(variants: list[dict]) -> TradeoffChart | None:
    """Each variant's average stock value (x) against its fill rate (y)."""
    rows = [
        (v["label"], float(v["summary"].get("avg_stock_value", 0)), float(v["summary"]["fill"]))
        for v in variants
        if v.get("summary", {}).get("fill") is not None
    ]
    if not rows:
        return None
    width, height = TRADEOFF_SIZE
    right, bottom = width - PAD_RIGHT, height - PAD_BOTTOM
    x_top = nice_ceiling(max(r[1] for r in rows) * 1.1 or 1)
    y_low = min(0.8, min(r[2] for r in rows))
    y_low = max(0.0, int(y_low * 20) / 20)

    def x_of(value: float) -> float:
        return round(PAD_LEFT + value / x_top * (right - PAD_LEFT), 1)

    def y_of(fill: float) -> float:
        return round(bottom - (fill - y_low) / (1 - y_low or 1) * (bottom - PAD_TOP), 1)

    points = [
        Point(label=label, x=x_of(value), y=y_of(fill), fill=fill, value=value)
        for label, value, fill in rows
    ]
    x_ticks = [(x_of(x_top * n / 4), f"{x_top * n / 4:,.0f}") for n in range(5)]
    y_ticks = [
        (y_of(y_low + (1 - y_low) * n / 4), f"{(y_low + (1 - y_low) * n / 4) * 100:.0f}%")
        for n in range(5)
    ]
    return TradeoffChart(
        width=width,
        height=height,
        left=PAD_LEFT,
        right=right,
        top=PAD_TOP,
        bottom=bottom,
        points=points,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
    )

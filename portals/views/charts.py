"""The on-hand history chart: geometry computed here, drawn as SVG by the template.

Server-side so that the bin page needs no chart library and no script, and reads the
same on every device (it is a viewBox that scales to the width it is given).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass

LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 30
# Text is sized in viewBox units, so a phone gets its own narrower geometry (the page
# shows one or the other by width) instead of the wide one shrunk to unreadable labels.
WIDE = (960, 260)
NARROW = (360, 240)


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class Level:
    name: str
    value: int
    y: float


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    at: dt.datetime
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    path: str
    ticks: list[Tick]
    levels: list[Level]
    dots: list[Dot]
    start: dt.datetime
    end: dt.datetime
    first: int
    last: int
    low: int
    high: int
    left: int = LEFT
    top: int = TOP

    @property
    def right(self) -> int:
        return self.width - RIGHT


def nice_ceiling(value: float) -> int:
    """1, 2, 2.5 or 5 times a power of ten: axis labels people read at a glance."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return math.ceil(step * power)
    return math.ceil(10 * power)


def on_hand_chart(
    points: list[tuple[dt.datetime, int]],
    *,
    min_qty: int,
    max_qty: int,
    now: dt.datetime,
    size: tuple[int, int] = WIDE,
) -> Chart | None:
    """A step line of on-hand after each movement, from the first shown to now.

    On-hand holds between movements, so the line steps rather than slopes. Min and max
    are drawn as they are now (their own history is in the level changes below it).
    """
    if not points:
        return None
    points = sorted(points, key=lambda p: p[0])
    start, end = points[0][0], max(now, points[-1][0])
    span = (end - start).total_seconds() or 1.0
    values = [v for _, v in points]
    top_value = nice_ceiling(max([*values, max_qty, 1]) * 1.1)
    width, height = size
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM

    def x_of(at: dt.datetime) -> float:
        return round(LEFT + (at - start).total_seconds() / span * plot_w, 1)

    def y_of(value: int) -> float:
        return round(TOP + plot_h - (value / top_value) * plot_h, 1)

    parts = [f"M{x_of(points[0][0])},{y_of(points[0][1])}"]
    for (_, before), (at, value) in itertools.pairwise(points):
        parts.append(f"H{x_of(at)}")
        if value != before:
            parts.append(f"V{y_of(value)}")
    parts.append(f"H{x_of(end)}")

    ticks = [
        Tick(value=round(top_value * n / 4), y=y_of(round(top_value * n / 4))) for n in range(5)
    ]
    levels = [
        Level(name=name, value=value, y=y_of(value))
        for name, value in (("max", max_qty), ("min", min_qty))
        if value > 0
    ]
    # Dots only while they stay apart; past that the line says it better.
    dots = (
        [Dot(x=x_of(at), y=y_of(value), at=at, value=value) for at, value in points]
        if len(points) <= plot_w // 12
        else []
    )
    return Chart(
        width=width,
        height=height,
        path="".join(parts),
        ticks=ticks,
        levels=levels,
        dots=dots,
        start=start,
        end=end,
        first=values[0],
        last=values[-1],
        low=min(values),
        high=max(values),
    )

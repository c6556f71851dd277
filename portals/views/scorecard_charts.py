"""The scorecard's monthly trend charts: geometry here, SVG in the template.

One small line per metric over the months shown, with the target as a dashed line
when there is one. Percentages are drawn on 0-100; other units on a rounded top
(`charts.nice_ceiling`). A month with nothing to measure leaves a gap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portals.views.charts import nice_ceiling

SIZE = (260, 90)
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 30, 10, 8, 18


@dataclass(frozen=True)
class TrendDot:
    x: float
    y: float
    month: dt.date
    value: float


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    path: str
    dots: list[TrendDot]
    labels: list[tuple[float, str]]  # month labels under the axis (x, "Oct")
    top: float
    target_y: float | None
    base_y: float
    left: int
    right: int
    text: str  # the chart said in words, for screen readers


def trend_chart(
    series: list[tuple[dt.date, float | None]],
    *,
    unit: str,
    target: float | None,
    label: str,
) -> TrendChart:
    width, height = SIZE
    values = [v for _, v in series if v is not None]
    top = 100.0 if unit == "%" else float(nice_ceiling(max([*values, target or 0, 1]) * 1.1))
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(series) - 1, 1)

    def y_of(value: float) -> float:
        return round(PAD_TOP + plot_h - min(value, top) / top * plot_h, 1)

    dots, parts, pen_down = [], [], False
    for i, (month, value) in enumerate(series):
        x = round(PAD_LEFT + i * step, 1)
        if value is None:
            pen_down = False
            continue
        y = y_of(value)
        parts.append(f"{'L' if pen_down else 'M'}{x},{y}")
        pen_down = True
        dots.append(TrendDot(x=x, y=y, month=month, value=value))
    said = ", ".join(
        f"{m:%b %Y} {'no data' if v is None else f'{v:g}{unit_suffix(unit)}'}" for m, v in series
    )
    goal = f"; target {target:g}{unit_suffix(unit)}" if target is not None else ""
    return TrendChart(
        width=width,
        height=height,
        path="".join(parts),
        dots=dots,
        labels=[(round(PAD_LEFT + i * step, 1), f"{m:%b}") for i, (m, _) in enumerate(series)],
        top=top,
        target_y=y_of(target) if target is not None else None,
        base_y=y_of(0),
        left=PAD_LEFT,
        right=width - PAD_RIGHT,
        text=f"{label} by month: {said}{goal}.",
    )


def unit_suffix(unit: str) -> str:
    return {"%": "%", "h": " h", "days": " days", "turns": " turns"}.get(unit, "")

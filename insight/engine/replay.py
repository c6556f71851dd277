"""Replaying real demand against fixed levels (backtests and what-ifs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from insight.engine.api import BacktestBin, BacktestResult
from insight.engine.sim import RuleState, run_rule


def backtest_all(bins: Sequence[BacktestBin]) -> list[BacktestResult]:
    if not bins:
        return []
    days = max(len(b.demand) for b in bins)
    rows = len(bins)
    demand = np.zeros((rows, days))
    lead = np.ones((rows, max(days, 1)), dtype=np.int64)
    for i, b in enumerate(bins):
        if b.min_qty < 0 or b.max_qty < b.min_qty:
            raise ValueError(f"bin {b.key!r}: need 0 <= min <= max")
        if any(q < 0 for q in b.demand):
            raise ValueError(f"bin {b.key!r}: demand must not be negative")
        demand[i, : len(b.demand)] = b.demand
        if isinstance(b.lead_time_days, int | np.integer):
            lead[i, :] = max(int(b.lead_time_days), 1)
        else:
            series = np.maximum(np.asarray(b.lead_time_days, dtype=np.int64), 1)
            lead[i, : len(series)] = series[:days]
            if len(series) < days:
                lead[i, len(series) :] = series[-1] if len(series) else 1
    start = np.array(
        [b.max_qty if b.start_on_hand is None else max(b.start_on_hand, 0) for b in bins],
        dtype=np.float64,
    )
    state = RuleState.start(start, int(lead.max()) + 1)
    totals = run_rule(
        state,
        demand,
        lead,
        np.array([b.min_qty for b in bins]),
        np.array([b.max_qty for b in bins]),
        np.array([b.pack_multiple for b in bins]),
    )
    out = []
    for i, b in enumerate(bins):
        n = len(b.demand)
        # Rows shorter than the longest one were padded with zero demand: count their days only.
        stock = _stock_over(state, totals, i, n, days, demand, lead, b)
        out.append(
            BacktestResult(
                key=b.key,
                days=n,
                demanded=round(float(totals.demanded[i])),
                served=round(float(totals.served[i])),
                fill=float(totals.served[i] / totals.demanded[i]) if totals.demanded[i] else 1.0,
                days_at_zero=stock[1],
                avg_stock_units=stock[0],
                avg_stock_value=stock[0] * float(b.unit_price),
                order_lines=stock[2],
            )
        )
    return out


def _stock_over(state, totals, i, n, days, demand, lead, b) -> tuple[float, int, int]:
    if n == days:
        avg = float(totals.stock_sum[i] / n) if n else 0.0
        return avg, int(totals.zero_days[i]), int(totals.orders[i])
    # A shorter series: replay it alone so padding days do not count.
    if n == 0:
        return float(b.max_qty if b.start_on_hand is None else b.start_on_hand), 0, 0
    one = RuleState.start(
        np.array([b.max_qty if b.start_on_hand is None else max(b.start_on_hand, 0)], float),
        int(lead[i, :n].max()) + 1,
    )
    t = run_rule(
        one,
        demand[i : i + 1, :n],
        lead[i : i + 1, :n],
        np.array([b.min_qty]),
        np.array([b.max_qty]),
        np.array([b.pack_multiple]),
    )
    return float(t.stock_sum[0] / n), int(t.zero_days[0]), int(t.orders[0])


def summarize_results(results: Sequence[BacktestResult]) -> dict[str, float]:
    if not results:
        return {
            "bins": 0,
            "fill": 1.0,
            "mean_bin_fill": 1.0,
            "share_under_90": 0.0,
            "avg_stock_units": 0.0,
            "avg_stock_value": 0.0,
            "order_lines": 0,
            "days_at_zero": 0,
        }
    demanded = sum(r.demanded for r in results)
    served = sum(r.served for r in results)
    with_demand = [r for r in results if r.demanded > 0]
    fills = [r.fill for r in with_demand]
    return {
        "bins": len(results),
        "fill": served / demanded if demanded else 1.0,
        "mean_bin_fill": float(np.mean(fills)) if fills else 1.0,
        "share_under_90": (sum(f < 0.9 for f in fills) / len(fills)) if fills else 0.0,
        "avg_stock_units": float(sum(r.avg_stock_units for r in results)),
        "avg_stock_value": float(sum(r.avg_stock_value for r in results)),
        "order_lines": int(sum(r.order_lines for r in results)),
        "days_at_zero": int(sum(r.days_at_zero for r in results)),
    }

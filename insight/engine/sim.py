"""The platform's reorder rule, simulated one day at a time over many rows at once.

A row is one bin (a backtest, the bench) or one bin x scenario (the engine's search for a
min). Every row steps through the same days together; the state is a few flat arrays, so
a day is a handful of numpy operations whatever the number of rows.

Day ``t`` for each row: receipts due on ``t`` arrive; demand is served from on-hand (issues
stop at zero, the rest is lost); if ``on_hand + on_order <= min`` and ``max > 0``, an order
for ``max - position`` rounded up to whole packs (at least one) is placed, arriving at the
start of day ``t + lead`` (``lead >= 1``). This mirrors ``replenishment.rules.shortfall``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RuleState:
    """On-hand and the pipeline of open orders for each row.

    ``pipeline[r, k]`` holds the units arriving ``k`` days after the current day (``k = 0``
    arrives at the start of the next simulated day).
    """

    on_hand: np.ndarray  # float64 [rows]
    pipeline: np.ndarray  # float64 [rows, depth]

    @classmethod
    def start(cls, on_hand: np.ndarray, depth: int) -> RuleState:
        rows = on_hand.shape[0]
        return cls(np.asarray(on_hand, dtype=np.float64).copy(), np.zeros((rows, depth)))

    def on_order(self) -> np.ndarray:
        return self.pipeline.sum(axis=1)

    def grow(self, depth: int) -> None:
        if depth > self.pipeline.shape[1]:
            extra = np.zeros((self.pipeline.shape[0], depth - self.pipeline.shape[1]))
            self.pipeline = np.concatenate([self.pipeline, extra], axis=1)


@dataclass
class RuleTotals:
    """Per-row totals over the simulated days (only days with ``measure`` set count)."""

    demanded: np.ndarray
    served: np.ndarray
    stock_sum: np.ndarray  # sum of end-of-day on-hand
    zero_days: np.ndarray  # days ending with nothing on hand
    orders: np.ndarray  # order lines placed
    days: int
    # With ``record=True``: per row and day, units served, on-hand at the end, units ordered.
    served_daily: np.ndarray | None = None
    on_hand_daily: np.ndarray | None = None
    ordered_daily: np.ndarray | None = None


def run_rule(
    state: RuleState,
    demand: np.ndarray,
    lead: np.ndarray,
    min_qty: np.ndarray,
    max_qty: np.ndarray,
    pack: np.ndarray,
    *,
    measure_from: int = 0,
    record: bool = False,
) -> RuleTotals:
    """Simulate ``demand[rows, days]`` under the rule; ``lead[rows, days]`` is the lead time
    of an order placed that day. Mutates ``state``. Days before ``measure_from`` are a
    warm-up and are left out of the totals.
    """
    rows, days = demand.shape
    max_lead = int(lead.max()) if lead.size else 1
    state.grow(max_lead + 1)
    depth = state.pipeline.shape[1]
    pipeline = state.pipeline
    on_hand = state.on_hand
    on_order = pipeline.sum(axis=1)
    min_f = np.asarray(min_qty, dtype=np.float64)
    max_f = np.asarray(max_qty, dtype=np.float64)
    pack_f = np.maximum(np.asarray(pack, dtype=np.float64), 1.0)
    can_order = max_f > 0
    idx = np.arange(rows)
    lead = np.maximum(lead.astype(np.int64), 1)

    demanded = np.zeros(rows)
    served = np.zeros(rows)
    stock_sum = np.zeros(rows)
    zero_days = np.zeros(rows)
    orders = np.zeros(rows)
    if record:
        served_daily = np.zeros((rows, days))
        on_hand_daily = np.zeros((rows, days))
        ordered_daily = np.zeros((rows, days))
    head = 0  # pipeline[:, head] arrives today; a ring buffer over the columns
    for t in range(days):
        arriving = pipeline[:, head].copy()
        pipeline[:, head] = 0.0
        head = (head + 1) % depth
        on_hand += arriving
        on_order -= arriving
        want = demand[:, t]
        got = np.minimum(want, on_hand)
        on_hand -= got
        position = on_hand + on_order
        trigger = can_order & (position <= min_f)
        if trigger.any():
            r = idx[trigger]
            qty = np.maximum(np.ceil((max_f[r] - position[r]) / pack_f[r] - 1e-9), 1.0) * pack_f[r]
            # lead 1 arrives at the start of tomorrow: the column read next.
            col = (head + lead[r, t] - 1) % depth
            pipeline[r, col] += qty
            on_order[r] += qty
            if t >= measure_from:
                orders[r] += 1
            if record:
                ordered_daily[r, t] = qty
        if record:
            served_daily[:, t] = got
            on_hand_daily[:, t] = on_hand
        if t >= measure_from:
            demanded += want
            served += got
            stock_sum += on_hand
            zero_days += on_hand <= 0
    # Leave the ring buffer with today's next arrival in column 0.
    state.pipeline = np.roll(pipeline, -head, axis=1)
    state.on_hand = on_hand
    totals = RuleTotals(demanded, served, stock_sum, zero_days, orders, max(days - measure_from, 0))
    if record:
        totals.served_daily = served_daily
        totals.on_hand_daily = on_hand_daily
        totals.ordered_daily = ordered_daily
    return totals

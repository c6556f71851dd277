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
    day_major: bool = False,
) -> RuleTotals:
    """Simulate ``demand[rows, days]`` under the rule; ``lead[rows, days]`` is the lead time
    of an order placed that day. Mutates ``state``. Days before ``measure_from`` are a
    warm-up and are left out of the totals. With ``day_major`` both arrays come as
    ``[days, rows]`` (contiguous rows: the fast layout).
    """
    if not day_major:
        demand, lead = demand.T, lead.T
    days, rows = demand.shape
    max_lead = int(lead.max()) if lead.size else 1
    state.grow(max_lead + 1)
    depth = state.pipeline.shape[1]
    # Day-major copies: each day reads and writes contiguous rows of these.
    pipe = np.ascontiguousarray(state.pipeline.T)  # [depth, rows]
    dem = np.ascontiguousarray(demand, dtype=np.float64)  # [days, rows]
    lead_t = np.ascontiguousarray(np.maximum(lead, 1), dtype=np.int64)  # [days, rows]
    on_hand = state.on_hand
    on_order = pipe.sum(axis=0)
    min_f = np.asarray(min_qty, dtype=np.float64)
    max_f = np.asarray(max_qty, dtype=np.float64)
    pack_f = np.maximum(np.asarray(pack, dtype=np.float64), 1.0)
    can_order = max_f > 0

    stock_sum = np.zeros(rows)
    zero_days = np.zeros(rows, dtype=np.int64)
    orders = np.zeros(rows)
    served_t = np.zeros((days, rows))
    if record:
        on_hand_t = np.zeros((days, rows))
        ordered_t = np.zeros((days, rows))
    position = np.empty(rows)
    trig = np.empty(rows, dtype=bool)
    empty = np.empty(rows, dtype=bool)
    head = 0  # pipe[head] arrives today; a ring buffer over the rows of pipe
    for t in range(days):
        arriving = pipe[head]
        on_hand += arriving
        on_order -= arriving
        arriving[:] = 0.0
        head = (head + 1) % depth
        got = served_t[t]
        np.minimum(dem[t], on_hand, out=got)
        on_hand -= got
        np.add(on_hand, on_order, out=position)
        np.less_equal(position, min_f, out=trig)
        trig &= can_order
        if trig.any():
            r = np.flatnonzero(trig)
            pk = pack_f[r]
            qty = np.maximum(np.ceil((max_f[r] - position[r]) / pk - 1e-9), 1.0) * pk
            # lead 1 arrives at the start of tomorrow: the row read next.
            pipe[(head + lead_t[t, r] - 1) % depth, r] += qty
            on_order[r] += qty
            if t >= measure_from:
                orders[r] += 1
            if record:
                ordered_t[t, r] = qty
        if record:
            on_hand_t[t] = on_hand
        if t >= measure_from:
            stock_sum += on_hand
            np.less_equal(on_hand, 0.0, out=empty)
            zero_days += empty
    # Leave the ring buffer with the next day's arrivals in column 0.
    state.pipeline = np.ascontiguousarray(np.roll(pipe, -head, axis=0).T)
    state.on_hand = on_hand
    demanded = dem[measure_from:].sum(axis=0)
    served = served_t[measure_from:].sum(axis=0)
    totals = RuleTotals(demanded, served, stock_sum, zero_days, orders, max(days - measure_from, 0))
    if record:
        totals.served_daily = served_t.T
        totals.on_hand_daily = on_hand_t.T
        totals.ordered_daily = ordered_t.T
    return totals

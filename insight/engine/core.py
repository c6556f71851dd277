"""How the engine turns a bin's history into min/max. See ``recommend_all``.

Steps, per bin (the simulation is vectorised over all bins at once):

1. Daily demand over the window (default the last 365 days, from the bin's creation at the
   earliest). Days not in the history had no issues.
2. Censoring: a day that ended with the bin empty only shows what was there, so its demand
   was at least what was issued. For the level, such a day counts as the expected value of
   ``max(issued, X)``, X drawn from the same bin's in-stock days of the same kind (weekday
   or weekend), and from its days with demand only when something was issued that day (a
   demand came; how big is what the shelf could not show); for the demand shape, as one
   such draw.
3. Class by ADI (days per demand day) and CV^2 of the non-zero in-stock days
   (Syntetos-Boylan cut-offs 1.32 and 0.49); ``new`` below ``new_bin_days`` of history.
4. Level: recency-weighted mean of daily demand (exponential weights, half-life 45 days;
   an SES on daily totals, so unbiased like TSB), blended toward the window mean when the
   recent window holds few demand events, and toward the last four weeks when they differ
   clearly from it (a step change or a trend).
5. Shape: scenarios built from whole weeks of the bin's own (corrected) history, resampled
   with recency weights and rescaled to the level, non-zero days jittered (Willemain), and
   one Gamma multiplier per scenario (shape = demand events + 1) for the uncertainty of
   the rate itself.
6. Lead time: the days from order to receipt in the bin's receipts (release wait and vendor
   lateness included), resampled, blended with the nominal lead time plus the customer's
   typical release wait; the nominal figure alone without receipts.
7. Order quantity (max - min): EOQ on value (order cost / holding rate), in whole packs, at
   least one pack and ``min_weeks_cover``, at most ``max_weeks_cover`` weeks of demand.
8. Min: the smallest level whose simulated fill rate reaches the internal target under the
   platform's rule, found by bisection on all unresolved bins at once, with common random
   numbers so fill grows with min. max = min + Q rounded up to whole packs.
9. Allocation across the batch (``EngineSettings.allocate``, the default): the target is on
   the batch's aggregate fill, which the busy bins dominate, while stock value is dominated
   by expensive and lumpy ones. So step 8 runs with a per-bin floor (``bin_floor_fill``,
   tighter on intermittent and lumpy bins, whose simulated fill runs ahead of what they
   serve), then each bin's fill and stock value are simulated on a ladder of higher mins and
   the bins with the most units served per unit of stock value added are raised until the
   batch's expected aggregate fill reaches its target (the demand-weighted target fill,
   mapped to a simulated target by ``group_shrink``). The explanation's ``allocation`` holds
   the group's target and expected fill and the bin's floor; the bin's own expected fill is
   ``expected.recommended.fill``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from insight.engine.api import BinInput, EngineSettings, Receipt, Recommendation
from insight.engine.sim import RuleState, run_rule

ADI_CUT = 1.32
CV2_CUT = 0.49
WARMUP_DAYS = 28
MAX_LEAD_SAMPLES = 24
RECENT_DAYS = 91

# Typical wait between an order raised and released, per release policy, in days; used
# only when a bin has no receipts to learn from.
POLICY_WAIT = {"auto": (0,), "scheduled": (0, 1, 1, 2, 3), "approval": (0, 1, 1, 2, 3)}

CENSORING_NOTE = (
    "days that ended empty count as at least what was issued: for the level, the expected "
    "value of max(issued, X), for the demand shape one draw of it, X taken from the bin's "
    "in-stock days of the same weekday/weekend kind (only the days with demand when "
    "something was issued that day)"
)


@dataclass
class _Prepared:
    """One bin's figures before the simulation."""

    index: int
    bin: BinInput
    klass: str
    adi: float | None
    cv2: float | None
    days: int
    demand_days: int
    censored_days: int
    level: float
    long_mean: float
    events: int
    blocks: np.ndarray  # [n_blocks, 7] corrected weekly demand, oldest first
    block_weights: np.ndarray  # [n_blocks]
    lead_pool: np.ndarray  # int lead times to resample
    lead_source: str
    lead_samples: int
    q: int  # order quantity in units (a whole number of packs)
    rng: np.random.Generator
    recent_daily: list[int] | None = None


def _rng_for(seed: int, key: object) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(str(key).encode())])


def _daily(b: BinInput, as_of: date, window: int) -> tuple[date, np.ndarray, np.ndarray]:
    start = as_of - timedelta(days=window)
    if b.created is not None and b.created > start:
        start = b.created
    n = max((as_of - start).days, 0)
    issued = np.zeros(n)
    censored = np.zeros(n, dtype=bool)
    for day, qty, after in b.history:
        i = (day - start).days
        if 0 <= i < n:
            issued[i] += max(qty, 0)
            if after is not None and after <= 0:
                censored[i] = True
    return start, issued, censored


def _correct(
    start: date, issued: np.ndarray, censored: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(expected, drawn) demand with censored days corrected."""
    expected = issued.copy()
    drawn = issued.copy()
    if not censored.any():
        return expected, drawn
    weekend = (np.arange(len(issued)) + start.weekday()) % 7 >= 5
    for kind in (False, True):
        target = censored & (weekend == kind)
        if not target.any():
            continue
        pool = issued[~censored & (weekend == kind)]
        if pool.size == 0:
            pool = issued[~censored]
        if pool.size == 0:
            continue
        # A day with an issue had a demand: compare it with the non-zero days only.
        sizes = pool[pool > 0]
        for hit in (False, True):
            sub = target & ((issued > 0) == hit)
            use = sizes if hit and sizes.size else pool
            if not sub.any():
                continue
            rec = issued[sub]
            expected[sub] = np.maximum(rec[:, None], use[None, :]).mean(axis=1)
            drawn[sub] = np.maximum(rec, use[rng.integers(0, use.size, size=rec.size)])
    return expected, drawn


def _lead_pool(b: BinInput, as_of: date, window: int) -> tuple[np.ndarray, str, int]:
    """Lead times to resample, their source and the number of receipts behind them."""
    nominal = max(int(b.lead_time_days), 1)
    waits = POLICY_WAIT.get(b.release_policy, (0,))
    prior = np.array([nominal + w for w in waits], dtype=np.int64)
    seen: list[tuple[date, int]] = []
    for r in b.receipts:
        ordered, received = (r.ordered, r.received) if isinstance(r, Receipt) else (r[0], r[1])
        if received < as_of and (as_of - ordered).days <= window * 2:
            seen.append((ordered, max((received - ordered).days, 1)))
    if not seen:
        return prior, "nominal", 0
    seen.sort()
    obs = np.array([d for _, d in seen[-MAX_LEAD_SAMPLES:]], dtype=np.int64)
    if len(obs) >= 6:
        return obs, "receipts", len(obs)
    # Few receipts: the nominal prior weighs like two of them.
    pool = np.concatenate([np.repeat(obs, len(prior)), np.tile(prior, 2)])
    return pool, "receipts", len(obs)


def _prepare(i: int, b: BinInput, as_of: date, seed: int, s: EngineSettings) -> _Prepared:
    rng = _rng_for(seed, b.key)
    start, issued, censored = _daily(b, as_of, s.window_days)
    n = len(issued)
    expected, drawn = _correct(start, issued, censored, rng)
    instock = issued[~censored]
    nz = instock[instock > 0]
    events = int((expected > 0).sum())
    demand_days = int((issued > 0).sum())
    adi = (len(instock) / len(nz)) if len(nz) else None
    cv2 = float(nz.var() / nz.mean() ** 2) if len(nz) >= 2 else (0.0 if len(nz) else None)
    lead_pool, lead_source, lead_n = _lead_pool(b, as_of, s.window_days)

    if n == 0 or expected.sum() <= 0:
        klass = "new" if n < s.new_bin_days else "none"
        return _Prepared(
            i, b, klass, adi, cv2, n, demand_days, int(censored.sum()), 0.0, 0.0, 0,
            np.zeros((1, 7)), np.ones(1), lead_pool, lead_source, lead_n, 0, rng,
        )  # fmt: skip

    if n < s.new_bin_days:
        klass = "new"
    elif adi is None:
        klass = "lumpy"
    else:
        klass = (
            ("smooth" if cv2 < CV2_CUT else "erratic")
            if adi < ADI_CUT
            else ("intermittent" if cv2 < CV2_CUT else "lumpy")
        )

    # Level.
    age = np.arange(n)[::-1]
    w = 0.5 ** (age / s.half_life_days)
    recent = float((w * expected).sum() / w.sum())
    long_mean = float(expected.mean())
    w_events = float((w * (expected > 0)).sum())
    level = (w_events * recent + s.blend_events * long_mean) / (w_events + s.blend_events)
    tail = min(n, 28)
    last = float(expected[-tail:].mean())
    last_events = int((expected[-tail:] > 0).sum())
    # A clear shift in the last four weeks (beyond Poisson noise of their events) pulls the
    # level toward them.
    if last_events >= 4 and level > 0:
        z = (last - level) / (level * math.sqrt(1.0 / last_events + 1.0 / max(events, 1)))
        if abs(z) > s.shift_z:
            level = 0.5 * (level + last)

    # Weekly blocks, aligned so each block starts on as_of's weekday.
    nb = n // 7
    if nb == 0:
        block = np.full(7, drawn.sum() / 7.0)
        block[7 - n :] = drawn
        block[: 7 - n] = drawn.mean()
        blocks = block[None, :]
        bw = np.ones(1)
    else:
        blocks = drawn[n - nb * 7 :].reshape(nb, 7)
        bw = 0.5 ** (np.arange(nb)[::-1] * 7.0 / s.shape_half_life_days)

    # Order quantity.
    annual = level * 365.0
    price = max(float(b.unit_price), 1e-6)
    order_cost = s.order_cost
    eoq = math.sqrt(2.0 * annual * order_cost / (s.holding_rate * price)) if annual > 0 else 0.0
    weekly = level * 7.0
    q = min(max(eoq, s.min_weeks_cover * weekly), s.max_weeks_cover * weekly)
    pack = max(int(b.pack_multiple), 1)
    q_units = max(math.ceil(q / pack - 1e-9), 1) * pack

    return _Prepared(
        i, b, klass, adi, cv2, n, demand_days, int(censored.sum()), level, long_mean, events,
        blocks, bw, lead_pool, lead_source, lead_n, q_units, rng,
    )  # fmt: skip


@dataclass
class _Scenarios:
    demand: np.ndarray  # [days, bins * S]
    lead: np.ndarray  # [days, bins * S]


def _scenarios(prep: Sequence[_Prepared], s: EngineSettings) -> _Scenarios:
    S = s.scenarios
    days = WARMUP_DAYS + s.horizon_days
    weeks = -(-days // 7)
    demand = np.zeros((len(prep), S, weeks * 7))
    lead = np.ones((len(prep), S, days), dtype=np.int64)
    for j, p in enumerate(prep):
        rng = p.rng
        cw = np.cumsum(p.block_weights)
        cw /= cw[-1]
        idx = np.searchsorted(cw, rng.random((S, weeks)), side="right")
        idx = np.minimum(idx, len(cw) - 1)
        x = p.blocks[idx]  # [S, weeks, 7]
        # Willemain jitter of non-zero days.
        z = rng.standard_normal(x.shape)
        jit = np.floor(1.0 + x + z * np.sqrt(x))
        x = np.where(x > 0, np.where(jit > 0, jit, x), 0.0)
        pool_mean = float((p.block_weights * p.blocks.sum(axis=1)).sum() / p.block_weights.sum())
        pool_mean /= 7.0
        scale = p.level / pool_mean if pool_mean > 0 else 0.0
        mult = rng.gamma(p.events + 1.0, 1.0 / (p.events + 1.0), size=S) ** s.rate_uncertainty
        demand[j] = x.reshape(S, weeks * 7) * (scale * mult)[:, None]
        lead[j] = p.lead_pool[rng.integers(0, len(p.lead_pool), size=(S, days))]
    # Day-major ([days, bins * S]): the simulator's fast layout.
    return _Scenarios(
        np.ascontiguousarray(demand[:, :, :days].reshape(len(prep) * S, days).T),
        np.ascontiguousarray(lead.reshape(len(prep) * S, days).T),
    )


@dataclass
class _Eval:
    fill: np.ndarray  # per bin
    stock: np.ndarray  # mean on-hand units per bin
    orders_per_day: np.ndarray
    demanded: np.ndarray  # mean units wanted per day per bin


def _evaluate(
    sc: _Scenarios, sel: np.ndarray, mins: np.ndarray, maxs: np.ndarray, packs: np.ndarray,
    S: int,
) -> _Eval:  # fmt: skip
    """Simulate bins ``sel`` (indices) at levels ``mins``/``maxs`` (aligned with ``sel``)."""
    rows = (sel[:, None] * S + np.arange(S)[None, :]).ravel()
    rep = lambda a: np.repeat(a, S)  # noqa: E731
    state = RuleState.start(rep(maxs).astype(np.float64), 2)
    t = run_rule(
        state, sc.demand[:, rows], sc.lead[:, rows], rep(mins), rep(maxs), rep(packs),
        measure_from=WARMUP_DAYS, day_major=True,
    )  # fmt: skip
    dem = t.demanded.reshape(-1, S).sum(axis=1)
    srv = t.served.reshape(-1, S).sum(axis=1)
    fill = np.where(dem > 0, srv / np.maximum(dem, 1e-12), 1.0)
    stock = t.stock_sum.reshape(-1, S).sum(axis=1) / (S * max(t.days, 1))
    orders = t.orders.reshape(-1, S).sum(axis=1) / (S * max(t.days, 1))
    return _Eval(fill, stock, orders, dem / (S * max(t.days, 1)))


def _max_for(mins: np.ndarray, q: np.ndarray, packs: np.ndarray) -> np.ndarray:
    return np.ceil((mins + q) / packs - 1e-9).astype(np.int64) * packs


def _internal_target(target: float, s: EngineSettings) -> float:
    if s.target_boost is not None:
        return min(target + s.target_boost, 0.9995)
    return min(1.0 - (1.0 - target) * s.target_shrink, 0.9995)


def recommend_all(
    bins: Sequence[BinInput], as_of: date, *, seed: int, settings: EngineSettings
) -> list[Recommendation]:
    s = settings
    prep = [_prepare(i, b, as_of, seed, s) for i, b in enumerate(bins)]
    for p in prep:
        p.recent_daily = _recent_daily(p.bin, as_of)
    active = [p for p in prep if p.level > 0]
    mins_out = {p.index: 0 for p in prep}
    evals: dict[int, dict] = {}
    if active:
        sc = _scenarios(active, s)
        S = s.scenarios
        packs = np.array([max(int(p.bin.pack_multiple), 1) for p in active], dtype=np.int64)
        q = np.array([p.q for p in active], dtype=np.int64)
        target = np.array([_internal_target(p.bin.target_fill, s) for p in active])
        if s.allocate:
            target = np.minimum(target, np.array([_floor_fill(p.klass, s) for p in active]))
        floor = np.array([max(int(p.bin.floor_min), 0) for p in active], dtype=np.int64)
        lo = floor.copy()  # candidate known too low (or the floor itself)
        lead_mean = np.array([p.lead_pool.mean() for p in active])
        level = np.array([p.level for p in active])
        hi = np.maximum(np.ceil(level * (lead_mean + 7.0) * 2.0).astype(np.int64), lo + 1)
        every = np.arange(len(active))
        # Does the floor already reach the target?
        e = _evaluate(sc, every, lo, _max_for(lo, q, packs), packs, S)
        ok_at_lo = e.fill >= target
        # Grow hi until it reaches the target (bounded).
        todo = every[~ok_at_lo]
        for _ in range(6):
            if todo.size == 0:
                break
            e = _evaluate(
                sc, todo, hi[todo], _max_for(hi[todo], q[todo], packs[todo]), packs[todo], S
            )
            short = e.fill < target[todo]
            lo[todo[short]] = hi[todo[short]]
            hi[todo[short]] = hi[todo[short]] * 2 + 1
            todo = todo[short]
        best = np.where(ok_at_lo, lo, hi)
        # Bisection: lo fails, hi meets.
        lo_b = np.where(ok_at_lo, lo, lo)
        todo = every[~ok_at_lo]
        for _ in range(14):
            gap = best[todo] - lo_b[todo]
            todo = todo[gap > np.maximum(1, np.floor(best[todo] * s.min_tolerance))]
            if todo.size == 0:
                break
            mid = (lo_b[todo] + best[todo]) // 2
            e = _evaluate(sc, todo, mid, _max_for(mid, q[todo], packs[todo]), packs[todo], S)
            meet = e.fill >= target[todo]
            best[todo[meet]] = mid[meet]
            lo_b[todo[~meet]] = mid[~meet]
        mins = np.maximum(best, floor)
        group = None
        if s.allocate:
            weights = np.array([p.level for p in active])
            goal = _group_target(
                np.array([p.bin.target_fill for p in active]), weights, s.group_shrink
            )
            keys = [str(p.bin.key) for p in active]
            mins, group = _allocate(sc, mins, q, packs, level * lead_mean, _prices(active),
                                    keys, goal, s)  # fmt: skip
        maxs = _max_for(mins, q, packs)
        rec = _evaluate(sc, every, mins, maxs, packs, S)
        cur_min = np.array([max(int(p.bin.current_min), 0) for p in active], dtype=np.int64)
        cur_max = np.array([max(int(p.bin.current_max), 0) for p in active], dtype=np.int64)
        has_cur = cur_max > 0
        cur = (
            _evaluate(sc, every[has_cur], cur_min[has_cur], np.maximum(cur_max, cur_min)[has_cur],
                      packs[has_cur], S)
            if has_cur.any() else None
        )  # fmt: skip
        cur_pos = np.cumsum(has_cur) - 1
        for j, p in enumerate(active):
            price = float(p.bin.unit_price)
            mins_out[p.index] = int(mins[j])
            evals[p.index] = {
                "max": int(maxs[j]),
                "recommended": _effect(rec, j, price),
                "current": _effect(cur, int(cur_pos[j]), price) if has_cur[j] else None,
            }
            if group is not None:
                evals[p.index]["group"] = group
    out = []
    for p in prep:
        b = p.bin
        if p.index in evals:
            mn, mx = mins_out[p.index], evals[p.index]["max"]
            expected = {k: evals[p.index][k] for k in ("recommended", "current")}
        else:
            pack = max(int(b.pack_multiple), 1)
            mn = max(int(b.floor_min), 0)
            mx = max(math.ceil(mn / pack), 1) * pack if mn > 0 else 0
            expected = {"recommended": None, "current": None}
        explanation = _explain(p, s, expected)
        if p.index in evals and "group" in evals[p.index]:
            # This bin's own expected fill is expected.recommended.fill.
            explanation["allocation"] = {
                **evals[p.index]["group"],
                "floor_fill": _floor_fill(p.klass, s),
            }
        out.append(Recommendation(key=b.key, min=mn, max=mx, explanation=explanation))
    return out


def _prices(active: Sequence[_Prepared]) -> np.ndarray:
    return np.array([max(float(p.bin.unit_price), 1e-6) for p in active])


def _floor_fill(klass: str, s: EngineSettings) -> float:
    """Simulated fill every bin gets at least; tighter on sparse bins, whose simulated fill
    runs ahead of what they then serve."""
    shrink = s.sparse_floor_shrink if klass in ("intermittent", "lumpy") else 1.0
    return 1.0 - (1.0 - s.bin_floor_fill) * shrink


def _group_target(targets: np.ndarray, weights: np.ndarray, shrink: float) -> float:
    """The batch's target (demand-weighted mean of the bins' targets) as simulated fill."""
    t = float((targets * weights).sum() / weights.sum()) if weights.sum() > 0 else 0.98
    return min(1.0 - (1.0 - t) * shrink, 0.9995)


def _allocate(
    sc: _Scenarios, base: np.ndarray, q: np.ndarray, packs: np.ndarray, lead_demand: np.ndarray,
    price: np.ndarray, keys: list[str], goal: float, s: EngineSettings,
) -> tuple[np.ndarray, dict]:  # fmt: skip
    """Raise mins above ``base`` (each bin's floor) where a unit of stock value buys the most
    units served, until the batch's expected aggregate fill reaches ``goal``.

    Each bin's fill and stock are simulated on a ladder of candidate mins (its own demand
    scenarios, common random numbers); a greedy walk then repeatedly takes the step (to any
    higher rung of one bin) with the best ratio of units served gained to stock value added.
    Ties go to the smaller key, so the result does not depend on the order of the batch.
    """
    import heapq

    S = s.scenarios
    n = len(base)
    every = np.arange(n)
    K = max(int(s.ladder_steps), 0)
    step = np.maximum(np.ceil(s.ladder_step_share * (lead_demand + base)), 1).astype(np.int64)
    rungs = base[:, None] + step[:, None] * np.arange(K + 1)[None, :]  # [n, K + 1]
    served = np.zeros((n, K + 1))
    value = np.zeros((n, K + 1))
    demanded = np.zeros(n)
    for k in range(K + 1):
        m = rungs[:, k]
        e = _evaluate(sc, every, m, _max_for(m, q, packs), packs, S)
        served[:, k] = e.fill * e.demanded
        value[:, k] = e.stock * price
        if k == 0:
            demanded = e.demanded
    # Fill never falls as min rises (common random numbers); stock noise is clipped.
    served = np.maximum.accumulate(served, axis=1)
    total = float(demanded.sum())
    level_k = np.zeros(n, dtype=np.int64)
    got = float(served[:, 0].sum())

    def best_step(j: int) -> tuple[float, int] | None:
        k0 = level_k[j]
        if k0 >= K:
            return None
        gain = served[j, k0 + 1 :] - served[j, k0]
        cost = np.maximum(value[j, k0 + 1 :] - value[j, k0], 1e-9 * price[j])
        ratio = gain / cost
        i = int(np.argmax(ratio))
        if gain[i] <= 0:
            return None
        return float(ratio[i]), k0 + 1 + i

    heap = []
    for j in range(n):
        b = best_step(j)
        if b is not None:
            heap.append((-b[0], keys[j], j, b[1]))
    heapq.heapify(heap)
    while heap and total > 0 and got < goal * total:
        _, _, j, k1 = heapq.heappop(heap)
        got += served[j, k1] - served[j, level_k[j]]
        level_k[j] = k1
        b = best_step(j)
        if b is not None:
            heapq.heappush(heap, (-b[0], keys[j], j, b[1]))
    mins = rungs[every, level_k]
    group = {
        "method": "marginal allocation: every bin at least its floor fill, then the bins "
        "with the most units served per stock value added are raised until the batch's "
        "expected aggregate fill reaches its target",
        "bins": n,
        "target_fill": round(goal, 4),
        "expected_fill": round(got / total, 4) if total > 0 else 1.0,
    }
    return mins, group


def _recent_daily(b: BinInput, as_of: date, days: int = RECENT_DAYS) -> list[int]:
    """Units issued on each of the last ``days`` days (oldest first), for charts."""
    out = [0] * days
    for day, qty, _ in b.history:
        i = days - (as_of - day).days
        if 0 <= i < days:
            out[i] += max(int(qty), 0)
    return out


def _effect(e: _Eval | None, j: int, price: float) -> dict | None:
    if e is None:
        return None
    return {
        "fill": round(float(e.fill[j]), 4),
        "avg_stock_units": round(float(e.stock[j]), 2),
        "avg_stock_value": round(float(e.stock[j]) * price, 2),
        "orders_per_month": round(float(e.orders_per_day[j]) * 30.4, 2),
    }


def _explain(p: _Prepared, s: EngineSettings, expected: dict) -> dict:
    pool = p.lead_pool
    return {
        "class": p.klass,
        "adi": None if p.adi is None else round(p.adi, 3),
        "cv2": None if p.cv2 is None else round(p.cv2, 3),
        "history_days": p.days,
        "demand_days": p.demand_days,
        "censored_days": p.censored_days,
        "censoring": CENSORING_NOTE,
        "level": round(p.level, 4),
        "long_mean": round(p.long_mean, 4),
        "lead_time": {
            "mean_days": round(float(pool.mean()), 2),
            "p90_days": float(np.percentile(pool, 90)),
            "nominal_days": int(p.bin.lead_time_days),
            "source": p.lead_source,
            "samples": p.lead_samples,
        },
        "order_quantity": p.q,
        "target_fill": p.bin.target_fill,
        "floor_min": p.bin.floor_min,
        "expected": expected,
        "recent_daily": p.recent_daily,
    }

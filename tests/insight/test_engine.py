"""The recommended-levels engine on its own: pure Python and numpy, no database."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import numpy as np
import pytest

from insight.engine import (
    BacktestBin,
    BinInput,
    EngineSettings,
    Receipt,
    backtest,
    recommend,
    summarize,
)
from replenishment.rules import shortfall

AS_OF = date(2025, 3, 3)


def _history(daily, *, start=None, on_hand=None):
    """Rows for days with issues or ending empty; ``on_hand`` gives the end-of-day stock."""
    start = start or AS_OF - timedelta(days=len(daily))
    rows = []
    for i, qty in enumerate(daily):
        after = 10 if on_hand is None else on_hand[i]
        if qty > 0 or after == 0:
            rows.append((start + timedelta(days=i), int(qty), int(after)))
    return rows


def _poisson_bin(key, rate, *, seed=0, pack=1, lead=5, price=1.0, days=364, **extra):
    rng = np.random.default_rng(seed)
    daily = rng.poisson(rate, days)
    return BinInput(
        key=key,
        pack_multiple=pack,
        lead_time_days=lead,
        unit_price=price,
        created=AS_OF - timedelta(days=days),
        history=_history(daily),
        **extra,
    )


def test_same_input_gives_same_levels_whatever_the_order_of_bins():
    """Deterministic for a given input, whatever the order of the batch. Without allocation
    across the batch a bin's levels do not depend on its neighbours."""
    bins = [_poisson_bin(f"B{i}", 0.3 + i, seed=i, pack=(1, 5, 12)[i % 3]) for i in range(6)]
    first = recommend(bins, AS_OF, seed=3)
    again = recommend(bins, AS_OF, seed=3)
    shuffled = bins[:]
    random.Random(1).shuffle(shuffled)
    reordered = {r.key: (r.min, r.max) for r in recommend(shuffled, AS_OF, seed=3)}
    own = EngineSettings(allocate=False)
    alone = recommend([bins[4]], AS_OF, seed=3, settings=own)[0]
    in_batch = recommend(bins, AS_OF, seed=3, settings=own)[4]
    assert [(r.key, r.min, r.max, r.explanation) for r in first] == [
        (r.key, r.min, r.max, r.explanation) for r in again
    ]
    assert {r.key: (r.min, r.max) for r in first} == reordered
    assert (alone.min, alone.max) == (in_batch.min, in_batch.max)


@pytest.mark.parametrize("pack", [1, 7, 25, 100])
def test_max_is_whole_packs_and_min_within_it(pack):
    """max is a whole number of packs, at least one; 0 <= min <= max."""
    recs = recommend([_poisson_bin("P", 3.0, pack=pack, seed=pack)], AS_OF)
    r = recs[0]
    assert r.max % pack == 0
    assert r.max >= pack
    assert 0 <= r.min <= r.max
    assert r.max - r.min >= 1


def test_no_demand_gives_zero_levels_unless_a_floor_is_pinned():
    """A bin with no demand in the window gets 0/0; a pinned floor is kept, max in packs."""
    quiet = BinInput(key="Q", pack_multiple=10, lead_time_days=3, created=date(2024, 1, 1))
    pinned = BinInput(
        key="F", pack_multiple=10, lead_time_days=3, created=date(2024, 1, 1), floor_min=12
    )
    q, f = recommend([quiet, pinned], AS_OF)
    assert (q.min, q.max) == (0, 0)
    assert q.explanation["class"] == "none"
    assert (f.min, f.max) == (12, 20)


def test_floor_min_is_respected_on_a_busy_bin():
    r = recommend([_poisson_bin("F", 1.0, floor_min=500)], AS_OF)[0]
    assert r.min >= 500
    assert r.max > r.min


def test_days_that_ended_empty_are_corrected_upward():
    """A stock-out hides demand: days that ended empty count as at least what was issued,
    topped up from the bin's in-stock days, so the level is near the true rate, not the
    lower rate the raw issues show."""
    rng = np.random.default_rng(5)
    days = 210
    true = rng.poisson(4.0, days)
    issued = true.copy()
    on_hand = np.full(days, 30)
    # Out of stock on the last 5 days of every 3 weeks: little or nothing issued.
    for i in range(days):
        if i % 21 >= 16:
            issued[i] = min(true[i], 1 if i % 21 == 16 else 0)
            on_hand[i] = 0
    censored = BinInput(
        key="C",
        pack_multiple=1,
        lead_time_days=4,
        created=AS_OF - timedelta(days=days),
        history=_history(issued, on_hand=on_hand),
    )
    # The same issues without the end-of-day stock: nothing says the bin was empty.
    naive = BinInput(
        key="C",
        pack_multiple=1,
        lead_time_days=4,
        created=AS_OF - timedelta(days=days),
        history=[(d, q, None) for d, q, _ in _history(issued, on_hand=on_hand) if q > 0],
    )
    c, n = recommend([censored, naive], AS_OF)
    assert c.explanation["censored_days"] == (days // 21) * 5
    assert n.explanation["censored_days"] == 0
    assert n.explanation["level"] < 3.2  # what the raw issues show
    assert 3.6 < c.explanation["level"] < 4.5  # the true rate is 4
    assert c.max > n.max


def test_classes_by_adi_and_cv2():
    rng = np.random.default_rng(2)
    days = 280
    smooth = rng.poisson(6.0, days) + 1
    lumpy = np.where(rng.random(days) < 0.08, rng.choice([1, 2, 40, 90], days), 0)
    intermittent = np.where(rng.random(days) < 0.1, rng.integers(9, 12, days), 0)
    new = np.array([3, 0, 2, 4, 0, 1, 3, 2, 0, 2])
    bins = [
        BinInput(
            key=k,
            pack_multiple=1,
            lead_time_days=3,
            created=AS_OF - timedelta(days=len(d)),
            history=_history(d),
        )
        for k, d in (("s", smooth), ("l", lumpy), ("i", intermittent), ("n", new))
    ]
    classes = {r.key: r.explanation["class"] for r in recommend(bins, AS_OF)}
    assert classes == {"s": "smooth", "l": "lumpy", "i": "intermittent", "n": "new"}


def test_lead_time_is_learned_from_receipts_with_fallback_to_nominal():
    late = [Receipt(AS_OF - timedelta(days=100 - 10 * k), AS_OF - timedelta(days=88 - 10 * k), 5)
            for k in range(8)]  # fmt: skip
    learned = _poisson_bin("L", 2.0, lead=3, receipts=late)
    nominal = _poisson_bin("N", 2.0, lead=3)
    rl, rn = recommend([learned, nominal], AS_OF)
    assert rl.explanation["lead_time"]["source"] == "receipts"
    assert rl.explanation["lead_time"]["mean_days"] == 12
    assert rl.explanation["lead_time"]["samples"] == 8
    assert rn.explanation["lead_time"]["source"] == "nominal"
    assert rn.explanation["lead_time"]["mean_days"] == 3
    assert rl.min > rn.min  # four times the lead time needs more cover


def test_explanation_is_json_and_holds_expected_effect_at_both_levels():
    r = recommend([_poisson_bin("E", 2.0, price=2.5, current_min=4, current_max=10)], AS_OF)[0]
    ex = json.loads(json.dumps(r.explanation))
    for key in ("class", "adi", "cv2", "level", "lead_time", "censoring", "recent_daily"):
        assert key in ex
    assert len(ex["recent_daily"]) == 91
    rec, cur = ex["expected"]["recommended"], ex["expected"]["current"]
    assert rec["fill"] >= 0.98
    assert cur["fill"] < rec["fill"]  # min 4 with a 5-day lead time on 2 a day runs out
    assert rec["avg_stock_value"] == pytest.approx(rec["avg_stock_units"] * 2.5, abs=0.02)
    assert rec["orders_per_month"] > 0


def test_backtest_replays_the_platform_rule_day_by_day():
    """Receipts arrive first, issues stop at zero, position <= min orders up to max in
    whole packs arriving after the lead time; the same rule as replenishment.rules."""
    demand = [1, 2, 0, 3, 4, 5, 0, 0, 1, 9, 2, 1]
    (r,) = backtest([BacktestBin("a", 5, 10, 5, 3, 2.0, demand)])
    assert (r.demanded, r.served, r.days_at_zero, r.order_lines) == (28, 20, 5, 2)
    assert r.avg_stock_value == pytest.approx(r.avg_stock_units * 2.0)

    # The same walk written plainly with the platform's own shortfall().
    on_hand, pipeline, served, lines = 10, {}, 0, 0
    for t, want in enumerate(demand):
        on_hand += pipeline.pop(t, 0)
        got = min(want, on_hand)
        on_hand -= got
        served += got
        qty = shortfall(on_hand=on_hand, on_order=sum(pipeline.values()), min_qty=5,
                        max_qty=10, pack_multiple=5)  # fmt: skip
        if qty:
            pipeline[t + 3] = pipeline.get(t + 3, 0) + qty
            lines += 1
    assert (served, lines) == (r.served, r.order_lines)


def test_backtest_summary_and_shorter_series():
    results = backtest(
        [
            BacktestBin("a", 0, 0, 1, 2, 1.0, [1, 1, 1, 1]),  # never stocked: fill 0
            BacktestBin("b", 2, 6, 1, [1, 1, 1], 3.0, [1, 1]),  # shorter, lead per order
        ]
    )
    a, b = results
    assert (a.fill, a.days_at_zero, a.days) == (0.0, 4, 4)
    assert (b.fill, b.days) == (1.0, 2)
    s = summarize(results)
    assert s["fill"] == pytest.approx(2 / 6)
    assert s["share_under_90"] == 0.5
    assert s["bins"] == 2


def _lumpy_world(n, days, rng):
    """Intermittent and lumpy bins: a few issues a month, some of them large."""
    p = rng.uniform(0.04, 0.3, n)
    size = rng.uniform(2, 25, n)
    shape = rng.uniform(0.5, 1.5, n)
    wanted = np.where(
        rng.random((n, days)) < p[:, None],
        np.maximum(
            np.rint(rng.gamma(shape[:, None], size[:, None] / shape[:, None], (n, days))), 1
        ),
        0,
    )
    return wanted.astype(int), rng.integers(2, 10, n), rng.choice([1, 1, 5, 10], n)


def test_engine_beats_the_rule_of_thumb_on_a_small_lumpy_world():
    """Levels from a year of (censored) history serve far more of the next half-year's
    demand than two/four weeks of average use, on bins where the rule of thumb fails."""
    rng = np.random.default_rng(11)
    n, hist, future = 40, 364, 182
    wanted, lead, pack = _lumpy_world(n, hist + future, rng)
    start = AS_OF - timedelta(days=hist)
    rate = wanted[:, :hist].mean(axis=1)
    rot_min = np.rint(rate * 14).astype(int)
    rot_max = np.maximum(np.rint(rate * 28).astype(int), rot_min + 1)
    # The history the platform recorded under the rule of thumb: issues and end-of-day stock.
    past = [
        BacktestBin(
            i,
            int(rot_min[i]),
            int(rot_max[i]),
            int(pack[i]),
            int(lead[i]),
            1.0,
            wanted[i, :hist].tolist(),
        )
        for i in range(n)
    ]
    bins = []
    for i in range(n):
        on_hand = _replay_on_hand(past[i])
        issued = np.minimum(wanted[i, :hist], _available(past[i]))
        bins.append(
            BinInput(key=i, pack_multiple=int(pack[i]), lead_time_days=int(lead[i]),
                     created=start, history=_history(issued, start=start, on_hand=on_hand))
        )  # fmt: skip
    recs = recommend(bins, AS_OF)

    def score(levels):
        return summarize(
            backtest(
                [BacktestBin(i, mn, mx, int(pack[i]), int(lead[i]), 1.0, wanted[i, hist:].tolist())
                 for i, (mn, mx) in enumerate(levels)]
            )
        )  # fmt: skip

    rot = score(list(zip(rot_min.tolist(), rot_max.tolist(), strict=True)))
    eng = score([(r.min, r.max) for r in recs])
    assert rot["fill"] < 0.93
    assert eng["fill"] >= 0.95
    assert eng["share_under_90"] < rot["share_under_90"] / 2
    assert eng["order_lines"] <= rot["order_lines"]


def _simulate_one(b: BacktestBin):
    """Per-day available stock before issues and end-of-day stock, under the rule."""
    on_hand, pipeline, before, after = b.max_qty, {}, [], []
    for t, want in enumerate(b.demand):
        on_hand += pipeline.pop(t, 0)
        before.append(on_hand)
        on_hand -= min(want, on_hand)
        after.append(on_hand)
        qty = shortfall(on_hand=on_hand, on_order=sum(pipeline.values()), min_qty=b.min_qty,
                        max_qty=b.max_qty, pack_multiple=b.pack_multiple)  # fmt: skip
        if qty:
            pipeline[t + b.lead_time_days] = pipeline.get(t + b.lead_time_days, 0) + qty
    return np.array(before), np.array(after)


def _available(b):
    return _simulate_one(b)[0]


def _replay_on_hand(b):
    return _simulate_one(b)[1]


def test_service_is_allocated_where_stock_buys_the_most_units():
    """A batch's expected aggregate fill meets its target while a cheap fast bin gets more
    service than an expensive lumpy one, which holds less than it would on its own target."""
    rng = np.random.default_rng(5)
    lumps = np.where(rng.random(364) < 0.08, np.maximum(rng.gamma(0.7, 40, 364).round(), 1), 0)
    lumpy = BinInput(
        key="lumpy",
        pack_multiple=1,
        lead_time_days=7,
        unit_price=50.0,
        created=AS_OF - timedelta(days=364),
        history=_history(lumps.astype(int)),
    )
    fast = _poisson_bin("fast", 20.0, seed=6, price=0.1)
    steady = _poisson_bin("steady", 3.0, seed=7, price=1.0)
    batch = [lumpy, fast, steady]
    allocated = {r.key: r for r in recommend(batch, AS_OF, seed=1)}
    alone = {
        r.key: r for r in recommend(batch, AS_OF, seed=1, settings=EngineSettings(allocate=False))
    }
    group = allocated["fast"].explanation["allocation"]
    own_floor = {k: r.explanation["allocation"].pop("floor_fill") for k, r in allocated.items()}
    assert group == allocated["lumpy"].explanation["allocation"]
    assert group["bins"] == 3
    assert group["expected_fill"] >= group["target_fill"] > 0.98
    fill = {k: r.explanation["expected"]["recommended"]["fill"] for k, r in allocated.items()}
    assert fill["fast"] > fill["lumpy"] >= own_floor["lumpy"]
    # The batch's units-weighted expected fill, from the bins' own figures.
    rate = {k: r.explanation["level"] for k, r in allocated.items()}
    aggregate = sum(fill[k] * rate[k] for k in fill) / sum(rate.values())
    assert aggregate >= group["target_fill"] - 0.005
    assert allocated["lumpy"].min < alone["lumpy"].min
    value = lambda recs: sum(  # noqa: E731
        r.explanation["expected"]["recommended"]["avg_stock_value"] for r in recs.values()
    )
    assert value(allocated) < value(alone)

"""Benchmark: recommended min/max against the rule of thumb on seeded worlds of bins.

    make bench-demand                                   # seed 1, 1,000 bins
    .venv/bin/python bench/demand.py --seed 7 --bins 1000
    .venv/bin/python bench/demand.py --seeds 11,12,13   # several worlds, then the average

A world: ``--bins`` fastener/MRO bins over two years. Each bin has a demand class
(smooth, erratic, intermittent, lumpy: how often it is used and how much the sizes vary),
a weekday pattern, and some have a trend, a step change (x0.4 to x2.5 at some day), or
were created 14-150 days before the scored year (new). Packs 1-100, nominal lead times
1-14 days, vendor lateness (some orders 1+ days late), customers of 50 bins under the
release policies ``auto`` (no wait), ``scheduled`` (cutoffs Tuesday and Friday) or
``approval`` (next working day, sometimes later). Each day demand is served from on-hand
(what is missing is lost), and the platform's rule runs: position <= min orders up to max
in whole packs.

Year one is history, run under the rule of thumb (min = two weeks of average use, max =
four weeks, recomputed monthly from the issues recorded). Year two is scored twice from
the same state: once keeping the rule of thumb, once with ``recommend_levels
--from-folder`` run on the first of every month on a folder written from the ledger so far
(as_of.txt, items.csv, history.csv with issues and end-of-day on-hand, receipts.csv). The
engine sees only what the platform would see: issues (not the lost demand), on-hand at the
end of days, orders and receipts.

Printed: fill (units served / demanded), mean per-bin fill, share of bins under 90%, average
stock value, order lines; overall and by class; the engine's seconds per monthly run.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from insight.engine.sim import RuleState, run_rule  # noqa: E402

START = date(2024, 1, 1)  # a Monday
SCORE_START = date(2025, 1, 1)
H = (SCORE_START - START).days  # history days
T = H + 365  # all days
CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
PACKS = np.array([1, 1, 1, 5, 10, 10, 12, 20, 25, 50, 100])


@dataclass
class World:
    skus: list[str]
    klass: np.ndarray  # generating class per bin
    trend: np.ndarray  # bool
    step: np.ndarray  # bool
    new: np.ndarray  # bool
    created: np.ndarray  # day index
    demand: np.ndarray  # [N, T] units wanted
    lead: np.ndarray  # [N, T] days from an order raised that day to its arrival
    pack: np.ndarray
    nominal: np.ndarray
    policy: list[str]
    site: list[str]
    price: np.ndarray
    true_rate: np.ndarray  # mean daily demand over the first 28 days after creation


def build_world(seed: int, n: int) -> World:
    rng = np.random.default_rng(seed)
    klass = rng.choice(np.array(CLASSES), size=n, p=[0.2, 0.15, 0.3, 0.35])
    frequent = np.isin(klass, ("smooth", "erratic"))
    variable = np.isin(klass, ("erratic", "lumpy"))
    # Chance of a demand on a weekday, and the weekend factor.
    p_week = np.where(
        frequent, rng.uniform(0.75, 1.0, n), np.exp(rng.uniform(np.log(0.1), np.log(2.0), n)) / 5
    )
    weekend = np.where(frequent, rng.uniform(0.3, 0.7, n), rng.uniform(0.05, 0.3, n))
    lo_hi = {"smooth": (2, 30), "erratic": (2, 40), "intermittent": (1, 12), "lumpy": (2, 30)}
    size_mean = np.array([math.exp(rng.uniform(*np.log(lo_hi[k]))) for k in klass])
    shape = np.where(variable, rng.uniform(0.5, 1.5, n), rng.uniform(3.0, 10.0, n))

    # Rate multipliers over time: trends, step changes.
    t = np.arange(T)
    mult = np.ones((n, T))
    trend = rng.random(n) < 0.12
    growth = np.exp(rng.uniform(np.log(0.4), np.log(2.5), n))
    mult[trend] = 1.0 + (growth[trend, None] - 1.0) * t[None, :] / T
    step = (rng.random(n) < 0.12) & ~trend
    step_day = rng.integers(200, T - 60, n)
    step_by = rng.choice(np.array([0.4, 0.5, 2.0, 2.5]), n)
    mult[step] = np.where(t[None, :] >= step_day[step, None], step_by[step, None], 1.0)
    new = (rng.random(n) < 0.1) & ~trend & ~step
    created = np.where(new, H - rng.integers(14, 151, n), 0)

    weekday = (t + START.weekday()) % 7
    day_factor = np.where(weekday[None, :] >= 5, weekend[:, None], 1.0)
    p_base = np.minimum(p_week[:, None] * day_factor, 1.0)
    p = np.minimum(p_base * np.sqrt(mult), 1.0)
    size = size_mean[:, None] * mult * p_base / np.maximum(p, 1e-9)
    events = rng.random((n, T)) < p
    sizes = np.maximum(np.rint(rng.gamma(shape[:, None], size / shape[:, None])), 1.0)
    demand = np.where(events, sizes, 0.0)
    demand[t[None, :] < created[:, None]] = 0.0
    true_rate = np.array(
        [(p[i, created[i] : created[i] + 28] * size[i, created[i] : created[i] + 28]).mean()
         for i in range(n)]
    )  # fmt: skip

    # Packs 1-100, at most about a quarter year of demand.
    pack = rng.choice(PACKS, n)
    cap = np.maximum(true_rate * 365, 1)
    while (over := pack > cap).any():
        pack[over] = np.array([PACKS[pk > PACKS].max() if pk > 1 else 1 for pk in pack[over]])
        over_one = pack > cap
        if (pack[over_one] == 1).all():
            break
    price = np.clip(np.exp(rng.normal(np.log(1.5), 1.3, n)), 0.02, 200.0).round(2)

    # Lead times: release wait (per customer policy) + nominal + vendor lateness.
    nominal = rng.integers(1, 15, n)
    customers = np.arange(n) // 50
    cust_policy = rng.choice(np.array(["auto", "scheduled", "approval"]), customers.max() + 1,
                             p=[0.5, 0.3, 0.2])  # fmt: skip
    policy = [str(cust_policy[c]) for c in customers]
    wait_sched = np.array([min((1 - d) % 7, (4 - d) % 7) for d in range(7)])
    wait_appr = np.array([1, 1, 1, 1, 3, 2, 1])
    pol = np.array(policy)
    wait = np.zeros((n, T), dtype=np.int64)
    wait[pol == "scheduled"] = wait_sched[weekday][None, :]
    appr = pol == "approval"
    wait[appr] = wait_appr[weekday][None, :] + (rng.random((appr.sum(), T)) < 0.2) * rng.integers(
        1, 4, (appr.sum(), T)
    )
    p_late = rng.uniform(0.0, 0.3, n)
    late = (rng.random((n, T)) < p_late[:, None]) * rng.geometric(0.5, (n, T))
    lead = np.maximum(wait + nominal[:, None] + late, 1)

    return World(
        skus=[f"SKU{seed}-{i:05d}" for i in range(n)],
        klass=klass,
        trend=trend,
        step=step,
        new=new,
        created=created,
        demand=demand,
        lead=lead,
        pack=pack.astype(np.int64),
        nominal=nominal,
        policy=policy,
        site=[f"S{c:03d}" for c in customers],
        price=price,
        true_rate=true_rate,
    )


@dataclass
class Ledger:
    """What the platform records for one trajectory: per bin and day."""

    issued: np.ndarray
    on_hand: np.ndarray
    ordered: np.ndarray


def rule_of_thumb(rate: np.ndarray, min_weeks: float = 2, max_weeks: float = 4):
    mn = np.rint(rate * 7 * min_weeks).astype(np.int64)
    mx = np.maximum(np.rint(rate * 7 * max_weeks).astype(np.int64), mn + 1)
    return mn, mx


def observed_rate(w: World, ledger: Ledger, day: int) -> np.ndarray:
    """Average daily issues over the last year (since creation), the rep's view; the true
    starting rate until a bin has four weeks of history."""
    first = np.minimum(np.maximum(w.created, day - 365), day)
    span = day - first
    cums = np.concatenate(
        [np.zeros((len(w.skus), 1)), np.cumsum(ledger.issued[:, :day], axis=1)], 1
    )
    total = cums[:, day] - cums[np.arange(len(w.skus)), first]
    rate = np.where(span >= 28, total / np.maximum(span, 1), w.true_rate)
    return rate


def month_starts() -> list[int]:
    return [(date(SCORE_START.year, m, 1) - START).days for m in range(1, 13)]


def history_months() -> list[int]:
    return [(date(START.year, m, 1) - START).days for m in range(1, 13)]


def run_period(w, state, ledger, day0, day1, mins, maxs):
    totals = run_rule(
        state,
        w.demand[:, day0:day1],
        w.lead[:, day0:day1],
        mins,
        maxs,
        w.pack,
        record=True,
    )
    ledger.issued[:, day0:day1] = totals.served_daily
    ledger.on_hand[:, day0:day1] = totals.on_hand_daily
    ledger.ordered[:, day0:day1] = totals.ordered_daily


def write_folder(w: World, ledger: Ledger, day: int, directory: Path) -> None:
    as_of = START + timedelta(days=day)
    (directory / "as_of.txt").write_text(as_of.isoformat() + "\n")
    dates = [START + timedelta(days=d) for d in range(day)]
    iso = [d.isoformat() for d in dates]
    live = [i for i in range(len(w.skus)) if w.created[i] < day]
    with (directory / "items.csv").open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(
            ("sku", "site", "release_policy", "pack_multiple", "lead_time_days", "unit_price",
             "created")
        )  # fmt: skip
        for i in live:
            out.writerow(
                (w.skus[i], w.site[i], w.policy[i], int(w.pack[i]), int(w.nominal[i]),
                 f"{w.price[i]:.2f}", (START + timedelta(days=int(w.created[i]))).isoformat())
            )  # fmt: skip
    issued = ledger.issued[:, :day]
    on_hand = ledger.on_hand[:, :day]
    with (directory / "history.csv").open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(("sku", "date", "quantity", "on_hand_after"))
        rows, cols = np.nonzero((issued > 0) | (on_hand <= 0))
        for i, d in zip(rows.tolist(), cols.tolist(), strict=True):
            if d >= w.created[i]:
                out.writerow((w.skus[i], iso[d], int(issued[i, d]), int(on_hand[i, d])))
    with (directory / "receipts.csv").open("w", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(("sku", "ordered", "received", "quantity"))
        rows, cols = np.nonzero(ledger.ordered[:, :day] > 0)
        for i, d in zip(rows.tolist(), cols.tolist(), strict=True):
            received = d + int(w.lead[i, d])
            if received < day:
                out.writerow(
                    (w.skus[i], iso[d], (START + timedelta(days=received)).isoformat(),
                     int(ledger.ordered[i, d]))
                )  # fmt: skip


def read_levels(w: World, path: Path, mins: np.ndarray, maxs: np.ndarray):
    index = {s: i for i, s in enumerate(w.skus)}
    mins, maxs = mins.copy(), maxs.copy()
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            i = index[row["sku"]]
            mn, mx = int(row["min"]), int(row["max"])
            assert 0 <= mn <= mx and mx % w.pack[i] == 0, (row, w.pack[i])
            mins[i], maxs[i] = mn, mx
    return mins, maxs


def engine_runner(mode: str, settings_overrides: dict):
    if mode == "command":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # a throwaway key
        import django
        from django.core.management import call_command

        django.setup()

        def run(directory: Path) -> None:
            call_command("recommend_levels", from_folder=str(directory), verbosity=0)

        return run
    from insight.engine.api import EngineSettings, recommend
    from insight.engine.folder import read_folder, write_recommendations

    settings = EngineSettings(**settings_overrides)

    def run_direct(directory: Path) -> None:
        folder = read_folder(directory)
        write_recommendations(directory, recommend(folder.bins, folder.as_of, settings=settings))

    return run_direct


def simulate(w: World, run_engine, rot_weeks=(2, 4)) -> dict:
    n = len(w.skus)
    ledger = Ledger(np.zeros((n, T)), np.zeros((n, T)), np.zeros((n, T)))
    mins, maxs = rule_of_thumb(w.true_rate)
    state = RuleState.start(maxs.astype(float), int(w.lead.max()) + 2)
    months = [*history_months(), H]
    for a, b in itertools.pairwise(months):
        if a > 0:
            mins, maxs = rule_of_thumb(observed_rate(w, ledger, a))
        run_period(w, state, ledger, a, b, mins, maxs)
    start_state = (state.on_hand.copy(), state.pipeline.copy())
    scored = {}
    engine_seconds = []
    engine_cpu = []
    bounds = [*month_starts(), T]
    for policy in ("rule", "engine"):
        st = RuleState(start_state[0].copy(), start_state[1].copy())
        led = Ledger(ledger.issued.copy(), ledger.on_hand.copy(), ledger.ordered.copy())
        mins_p, maxs_p = mins.copy(), maxs.copy()
        for a, b in itertools.pairwise(bounds):
            if policy == "rule":
                mins_p, maxs_p = rule_of_thumb(observed_rate(w, led, a), *rot_weeks)
            else:
                tmp = Path(tempfile.mkdtemp(prefix="bench-demand-"))
                try:
                    write_folder(w, led, a, tmp)
                    t0, c0 = time.perf_counter(), time.process_time()
                    run_engine(tmp)
                    engine_seconds.append(time.perf_counter() - t0)
                    engine_cpu.append(time.process_time() - c0)
                    mins_p, maxs_p = read_levels(w, tmp / "recommendations.csv", mins_p, maxs_p)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
            run_period(w, st, led, a, b, mins_p, maxs_p)
        scored[policy] = score(w, led)
    scored["engine_seconds"] = engine_seconds
    scored["engine_cpu"] = engine_cpu
    return scored


def score(w: World, led: Ledger) -> dict:
    dem = w.demand[:, H:].sum(axis=1)
    srv = led.issued[:, H:].sum(axis=1)
    value = led.on_hand[:, H:].mean(axis=1) * w.price
    orders = (led.ordered[:, H:] > 0).sum(axis=1)
    groups = {"all": np.ones(len(w.skus), bool)}
    for k in CLASSES:
        groups[k] = w.klass == k
    groups["trend"] = w.trend
    groups["step"] = w.step
    groups["new"] = w.new
    out = {}
    for name, g in groups.items():
        has = g & (dem > 0)
        fills = srv[has] / dem[has]
        out[name] = {
            "bins": int(g.sum()),
            "fill": float(srv[g].sum() / max(dem[g].sum(), 1)),
            "mean_bin_fill": float(fills.mean()) if fills.size else 1.0,
            "under_90": float((fills < 0.9).mean()) if fills.size else 0.0,
            "stock_value": float(value[g].sum()),
            "order_lines": int(orders[g].sum()),
        }
    return out


def print_table(result: dict, label: str) -> None:
    print(f"\n{label}")
    print(
        f"{'group':<13}{'bins':>6} | {'fill':>7}{'bin fill':>9}{'<90%':>7}{'stock $':>10}"
        f"{'lines':>7} | {'fill':>7}{'bin fill':>9}{'<90%':>7}{'stock $':>10}{'lines':>7}"
        f" | {'stock x':>8}{'lines x':>8}"
    )
    print(f"{'':<13}{'':>6} | {'rule of thumb':^40} | {'engine':^40} |")
    for name in result["rule"]:
        r, e = result["rule"][name], result["engine"][name]
        print(
            f"{name:<13}{r['bins']:>6} | {r['fill']:>7.2%}{r['mean_bin_fill']:>9.2%}"
            f"{r['under_90']:>7.1%}{r['stock_value']:>10.0f}{r['order_lines']:>7} | "
            f"{e['fill']:>7.2%}{e['mean_bin_fill']:>9.2%}{e['under_90']:>7.1%}"
            f"{e['stock_value']:>10.0f}{e['order_lines']:>7} | "
            f"{e['stock_value'] / max(r['stock_value'], 1e-9):>8.3f}"
            f"{e['order_lines'] / max(r['order_lines'], 1):>8.3f}"
        )
    secs = result["engine_seconds"]
    if secs:
        print(
            f"engine: {len(secs)} monthly runs, mean {np.mean(secs):.2f} s, max {max(secs):.2f} s"
            f" wall (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores);"
            f" CPU mean {np.mean(result['engine_cpu']):.2f} s, max {max(result['engine_cpu']):.2f} s"
        )


ACCEPT = (
    ("fill", ">=", 0.98),
    ("mean_bin_fill", ">=", 0.97),
    ("under_90", "<=", 0.08),
)


def verdict(avg: dict) -> list[str]:
    e, r = avg["engine"]["all"], avg["rule"]["all"]
    lines = []
    for key, op, bound in ACCEPT:
        ok = e[key] >= bound if op == ">=" else e[key] <= bound
        lines.append(f"  {key:<14} {e[key]:.4f} {op} {bound}  {'ok' if ok else 'MISS'}")
    ratio = e["stock_value"] / r["stock_value"]
    lines.append(f"  stock x rule   {ratio:.3f} <= 1.35  {'ok' if ratio <= 1.35 else 'MISS'}"
                 f"  (aim 1.2: {'ok' if ratio <= 1.2 else 'not yet'})")  # fmt: skip
    lr = e["order_lines"] / r["order_lines"]
    lines.append(f"  lines x rule   {lr:.3f} <= 1.00  {'ok' if lr <= 1.0 else 'MISS'}")
    return lines


def average(results: list[dict]) -> dict:
    out = {}
    for policy in ("rule", "engine"):
        out[policy] = {}
        for g in results[0][policy]:
            out[policy][g] = {
                k: float(np.mean([r[policy][g][k] for r in results])) for k in results[0][policy][g]
            }
    out["engine_seconds"] = [s for r in results for s in r["engine_seconds"]]
    out["engine_cpu"] = [s for r in results for s in r["engine_cpu"]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", help="comma-separated seeds; prints each and the average")
    parser.add_argument("--bins", type=int, default=1000)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="call the engine on the folder in-process instead of the management command",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="engine setting override (with --direct), for tuning")  # fmt: skip
    parser.add_argument("--rule-weeks", default="2,4", help="rule of thumb min,max weeks")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, value = item.split("=", 1)
        overrides[key] = None if value == "None" else float(value)
        if key in ("scenarios", "horizon_days", "window_days", "new_bin_days"):
            overrides[key] = int(float(value))
    if overrides and not args.direct:
        parser.error("--set needs --direct")
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    rot = tuple(float(x) for x in args.rule_weeks.split(","))
    runner = engine_runner("direct" if args.direct else "command", overrides)
    results = []
    for seed in seeds:
        t0 = time.perf_counter()
        w = build_world(seed, args.bins)
        res = simulate(w, runner, rot)
        results.append(res)
        print_table(res, f"seed {seed}: {args.bins} bins ({time.perf_counter() - t0:.0f} s)")
        print("\n".join(verdict(res)))
    if len(results) > 1:
        avg = average(results)
        print_table(avg, f"average over seeds {','.join(map(str, seeds))}")
        print("\n".join(verdict(avg)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

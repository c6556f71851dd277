"""Writes of recommended levels: compute, apply, dismiss; policies; backtests.

Bins are locked in primary-key order, as every other writer of bins locks them. The one
call that changes a bin's min/max is `_levels_write` below: every level this app sets
goes through the levels service the portal and the API use, audited as "recommendation".
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from cmi import events
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.scoping import Scope
from insight import engine
from insight.models import (
    Backtest,
    BacktestStatus,
    DemandPolicy,
    Recommendation,
    RecommendationStatus,
)
from insight.selectors import BinFacts, demand_inputs
from stocking import bulk
from stocking.models import Bin, BinLevelChange

log = logging.getLogger(__name__)

AUDIT_SOURCE = "recommendation"
BACKTEST_DAYS = (14, 365)
VARIANT_KINDS = ("as_was", "recommended", "min_pct", "target_fill", "levels")
MAX_VARIANTS = 6


def _customer(scope: Scope, customer_id: int) -> Customer:
    found = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
    if found is None:
        raise ApiError(
            "unknown_customer", f"No customer {customer_id}.", field="customer", status_code=404
        )
    return found


def _levels_write(
    scope: Scope, customer_id: int, user_id: int | None, changes: list[tuple[int, tuple, tuple]]
) -> None:
    """The single place insight changes min/max: the stocking levels service (checks,
    audit row per bin with source "recommendation", evaluation after commit)."""
    bulk.bins_levels_write(
        scope,
        customer_id,
        user_id,
        AUDIT_SOURCE,
        [(bin_id, bulk.Levels(*old), bulk.Levels(*new)) for bin_id, old, new in changes],
    )


# --- compute -----------------------------------------------------------------------------


def _expected(explanation: dict, which: str) -> dict:
    return (explanation.get("expected") or {}).get(which) or {}


def _row(vendor_id: int, customer_id: int, fact: BinFacts, rec, now: dt.datetime):
    explanation = dict(rec.explanation)
    cur, new = _expected(explanation, "current"), _expected(explanation, "recommended")
    # The engine gives None where there is nothing to simulate (no demand, no levels).
    sv_cur = Decimal(str(round(float(cur.get("avg_stock_value") or 0.0), 2)))
    sv_new = Decimal(str(round(float(new.get("avg_stock_value") or 0.0), 2)))
    fill_cur, fill_new = cur.get("fill"), new.get("fill")
    changed = (rec.min, rec.max) != (fact.engine.current_min, fact.engine.current_max)
    return Recommendation(
        vendor_id=vendor_id,
        customer_id=customer_id,
        site_id=fact.site_id,
        bin_id=fact.bin_id,
        min_qty=rec.min,
        max_qty=rec.max,
        current_min=fact.engine.current_min,
        current_max=fact.engine.current_max,
        changed=changed,
        demand_class=str(explanation.get("class", ""))[:16],
        explanation=explanation,
        fill_current=fill_cur,
        fill_recommended=fill_new,
        stock_value_current=sv_cur,
        stock_value_recommended=sv_new,
        orders_per_month_current=float(cur.get("orders_per_month") or 0.0),
        orders_per_month_recommended=float(new.get("orders_per_month") or 0.0),
        value_freed=sv_cur - sv_new,
        fill_gained=(fill_new - fill_cur) if fill_new is not None and fill_cur is not None else 0,
        history_mark=fact.history_mark,
        computed_at=now,
        status=RecommendationStatus.PENDING,
    )


UPDATED_FIELDS = [
    "site",
    "min_qty",
    "max_qty",
    "current_min",
    "current_max",
    "changed",
    "demand_class",
    "explanation",
    "fill_current",
    "fill_recommended",
    "stock_value_current",
    "stock_value_recommended",
    "orders_per_month_current",
    "orders_per_month_recommended",
    "value_freed",
    "fill_gained",
    "history_mark",
    "computed_at",
    "status",
]


def recommendations_compute(
    *,
    vendor_id: int,
    customer_id: int,
    bin_ids: list[int] | None = None,
    as_of: dt.date | None = None,
) -> int:
    """Recompute the recommendations of a customer's active bins (or some of them) from
    the ledger; bins opted out lose theirs. A recommendation a rep dismissed stays
    dismissed while the engine keeps recommending the same levels. Returns rows written."""
    _, as_of, facts = demand_inputs(
        vendor_id=vendor_id, customer_id=customer_id, as_of=as_of, bin_ids=bin_ids
    )
    wanted = [f for f in facts if not f.opt_out]
    results = engine.recommend([f.engine for f in wanted], as_of) if wanted else []
    now = timezone.now()
    rows = [
        _row(vendor_id, customer_id, fact, rec, now)
        for fact, rec in zip(wanted, results, strict=True)
    ]
    with transaction.atomic():
        previous = {
            bin_id: (low, high, status)
            for bin_id, low, high, status in Recommendation.objects.filter(
                vendor_id=vendor_id, bin_id__in=[f.bin_id for f in facts]
            ).values_list("bin_id", "min_qty", "max_qty", "status")
        }
        for row in rows:
            low, high, status = previous.get(row.bin_id, (None, None, None))
            if status == RecommendationStatus.DISMISSED and (low, high) == (
                row.min_qty,
                row.max_qty,
            ):
                row.status = RecommendationStatus.DISMISSED
        Recommendation.objects.filter(
            vendor_id=vendor_id, bin_id__in=[f.bin_id for f in facts if f.opt_out]
        ).delete()
        Recommendation.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["bin"],
            update_fields=UPDATED_FIELDS,
        )
        # News only when levels differ from what the bin was last recommended.
        fresh = sum(
            1
            for row in rows
            if row.status != RecommendationStatus.DISMISSED
            and previous.get(row.bin_id, (None, None, None))[:2] != (row.min_qty, row.max_qty)
        )
        if fresh:
            events.emit(
                "recommendations.ready",
                vendor_id=vendor_id,
                customer_id=customer_id,
                subject_type="customer",
                subject_id=customer_id,
                data={"count": fresh},
            )
    return len(rows)


# --- apply and dismiss -------------------------------------------------------------------


@dataclasses.dataclass
class ApplyResult:
    applied: list[int]
    skipped: list[dict]


@transaction.atomic
def recommendations_apply(
    *,
    scope: Scope,
    customer_id: int,
    bin_ids: list[int] | None = None,
    site_id: int | None = None,
    user_id: int | None = None,
) -> ApplyResult:
    """Set the named bins (or all the customer's changed ones, optionally at one site) to
    their pending recommended levels. Bins are locked in pk order; a bin whose levels or
    pack changed since the recommendation was computed is skipped with a reason rather
    than overwritten blindly."""
    _customer(scope, customer_id)
    recs = Recommendation.objects.for_scope(scope).filter(
        customer_id=customer_id, changed=True, status=RecommendationStatus.PENDING
    )
    if bin_ids is not None:
        recs = recs.filter(bin_id__in=bin_ids)
    if site_id is not None:
        recs = recs.filter(site_id=site_id)
    wanted = {
        r["bin_id"]: r
        for r in recs.values("bin_id", "min_qty", "max_qty", "current_min", "current_max")
    }
    bins = (
        Bin.objects.for_scope(scope)
        .filter(pk__in=sorted(wanted), customer_id=customer_id)
        .select_for_update(of=("self",))
        .order_by("pk")
        .values_list("pk", "min_qty", "max_qty", "pack_multiple", "active")
    )
    changes, skipped = [], []
    for pk, low, high, pack, active in bins:
        rec = wanted[pk]
        new = (rec["min_qty"], rec["max_qty"], pack)
        if not active:
            skipped.append({"bin": pk, "code": "bin_inactive", "detail": "The bin is inactive."})
        elif (low, high) != (rec["current_min"], rec["current_max"]):
            skipped.append(
                {
                    "bin": pk,
                    "code": "levels_changed",
                    "detail": "Its levels changed since this was computed; recompute first.",
                }
            )
        elif problems := bulk.levels_problems(bulk.Levels(*new)):
            skipped.append({"bin": pk, "code": "invalid_levels", "detail": " ".join(problems)})
        else:
            changes.append((pk, (low, high, pack), new))
    _levels_write(scope, customer_id, user_id, changes)
    applied = [pk for pk, _, _ in changes]
    Recommendation.objects.filter(vendor_id=scope.vendor_id, bin_id__in=applied).update(
        status=RecommendationStatus.APPLIED, status_changed_at=timezone.now()
    )
    if bin_ids is not None:
        missing = sorted(set(bin_ids) - set(wanted))
        skipped += [
            {"bin": pk, "code": "nothing_to_apply", "detail": "No pending change for this bin."}
            for pk in missing
        ]
    return ApplyResult(applied=applied, skipped=skipped)


@transaction.atomic
def recommendations_dismiss(*, scope: Scope, customer_id: int, bin_ids: list[int]) -> list[int]:
    """Set pending recommendations aside; a recompute that gives the same levels keeps
    them dismissed, new levels bring them back. Returns the bins dismissed."""
    _customer(scope, customer_id)
    recs = Recommendation.objects.for_scope(scope).filter(
        customer_id=customer_id, bin_id__in=bin_ids, status=RecommendationStatus.PENDING
    )
    dismissed = sorted(recs.values_list("bin_id", flat=True))
    Recommendation.objects.filter(vendor_id=scope.vendor_id, bin_id__in=dismissed).update(
        status=RecommendationStatus.DISMISSED, status_changed_at=timezone.now()
    )
    return dismissed


# --- policies ----------------------------------------------------------------------------


@transaction.atomic
def policy_set(
    *,
    scope: Scope,
    customer_id: int,
    item_id: int | None = None,
    bin_id: int | None = None,
    target_fill: float | None = None,
    floor_min: int | None = None,
    opt_out: bool = False,
    user_id: int | None = None,
) -> DemandPolicy:
    """Create or replace the policy of a customer, one of its items, or one of its bins."""
    from catalog.models import Item

    _customer(scope, customer_id)
    if bin_id is not None:
        found = Bin.objects.for_scope(scope).filter(pk=bin_id, customer_id=customer_id).first()
        if found is None:
            raise ApiError("unknown_bin", f"No bin {bin_id} at this customer.", field="bin")
        item_id = None
    elif item_id is not None and not Item.objects.for_scope(scope).filter(pk=item_id).exists():
        raise ApiError("unknown_item", f"No item {item_id}.", field="item")
    if target_fill is not None and not 0.5 <= target_fill <= 0.999:
        raise ApiError(
            "invalid_target_fill", "The target fill must be 0.5 to 0.999.", field="target_fill"
        )
    if floor_min is not None and floor_min < 0:
        raise ApiError("invalid_floor", "The floor cannot be negative.", field="floor_min")
    policy = (
        DemandPolicy.objects.select_for_update()
        .filter(vendor_id=scope.vendor_id, customer_id=customer_id, item_id=item_id, bin_id=bin_id)
        .first()
    ) or DemandPolicy(
        vendor_id=scope.vendor_id, customer_id=customer_id, item_id=item_id, bin_id=bin_id
    )
    policy.target_fill, policy.floor_min, policy.opt_out = target_fill, floor_min, opt_out
    policy.updated_by_id = user_id
    policy.save()
    return policy


@transaction.atomic
def policy_delete(*, scope: Scope, policy_id: int) -> None:
    deleted, _ = DemandPolicy.objects.for_scope(scope).filter(pk=policy_id).delete()
    if not deleted:
        raise ApiError("not_found", "Not found.", status_code=404)


# --- backtests ---------------------------------------------------------------------------


def _levels_csv(text: str) -> dict[str, tuple[int, int]]:
    """`bin,min,max` (bin = the shelf label) or `sku,min,max`: {label or sku: (min, max)}."""
    reader = csv.DictReader(io.StringIO(text))
    names = {n.strip().lower() for n in (reader.fieldnames or [])}
    key = "bin" if "bin" in names else "sku" if "sku" in names else None
    if key is None or not {"min", "max"} <= names:
        raise ApiError(
            "invalid_levels_csv",
            "The levels CSV needs columns bin (or sku), min, max.",
            field="variants",
        )
    out: dict[str, tuple[int, int]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        try:
            low, high = int(row["min"]), int(row["max"])
        except ValueError:
            raise ApiError(
                "invalid_levels_csv",
                f"Line {number}: min and max must be whole numbers.",
                field="variants",
            ) from None
        if not 0 <= low <= high:
            raise ApiError(
                "invalid_levels_csv", f"Line {number}: need 0 <= min <= max.", field="variants"
            )
        out[row[key]] = (low, high)
    return out


def backtest_params_clean(params: dict) -> dict:
    """Checked here so a bad request is a 400, never a failed task."""
    days = params.get("days", 90)
    if not isinstance(days, int) or not BACKTEST_DAYS[0] <= days <= BACKTEST_DAYS[1]:
        raise ApiError("invalid_days", "days must be 14 to 365.", field="days")
    variants = params.get("variants") or [{"kind": "as_was"}, {"kind": "recommended"}]
    if not isinstance(variants, list) or len(variants) > MAX_VARIANTS:
        raise ApiError("invalid_variants", f"At most {MAX_VARIANTS} variants.", field="variants")
    clean = []
    for v in variants:
        kind = v.get("kind") if isinstance(v, dict) else None
        if kind not in VARIANT_KINDS:
            raise ApiError(
                "invalid_variant",
                f"A variant kind is one of {', '.join(VARIANT_KINDS)}.",
                field="variants",
            )
        item = {"kind": kind}
        if kind == "min_pct":
            pct = v.get("percent")
            if not isinstance(pct, int) or not -90 <= pct <= 500:
                raise ApiError("invalid_percent", "percent must be -90 to 500.", field="variants")
            item["percent"] = pct
        elif kind == "target_fill":
            target = v.get("target")
            if not isinstance(target, int | float) or not 0.5 <= target <= 0.999:
                raise ApiError(
                    "invalid_target_fill", "target must be 0.5 to 0.999.", field="variants"
                )
            item["target"] = float(target)
        elif kind == "levels":
            text = v.get("csv")
            if not isinstance(text, str) or not text.strip():
                raise ApiError("invalid_levels_csv", "csv is required.", field="variants")
            _levels_csv(text)
            item["csv"] = text
        clean.append(item)
    bin_ids = params.get("bin_ids")
    if bin_ids is not None and (
        not isinstance(bin_ids, list) or not all(isinstance(b, int) for b in bin_ids)
    ):
        raise ApiError("invalid_bins", "bin_ids must be a list of ids.", field="bin_ids")
    return {"days": days, "variants": clean, "bin_ids": bin_ids}


def backtest_create(
    *, scope: Scope, customer_id: int, params: dict, user_id: int | None = None
) -> Backtest:
    """Queue a backtest; it runs on a worker after commit."""
    _customer(scope, customer_id)
    clean = backtest_params_clean(params)
    if clean["bin_ids"] is not None:
        known = set(
            Bin.objects.for_scope(scope)
            .filter(customer_id=customer_id, pk__in=clean["bin_ids"])
            .values_list("pk", flat=True)
        )
        unknown = sorted(set(clean["bin_ids"]) - known)
        if unknown:
            raise ApiError("unknown_bin", f"No bin {unknown[0]} at this customer.", field="bin_ids")
    with transaction.atomic():
        found = Backtest.objects.create(
            vendor_id=scope.vendor_id, customer_id=customer_id, params=clean, created_by_id=user_id
        )
        backtest_enqueue(backtest_id=found.pk)
    return found


def backtest_enqueue(*, backtest_id: int) -> None:
    def send() -> None:
        from insight.tasks import backtest_run as task

        try:
            task.apply_async(args=(backtest_id,), retry=False)
        except Exception:  # the broker is the outside world; the beat sweep retries
            log.warning("could not enqueue backtest %s", backtest_id, exc_info=True)

    transaction.on_commit(send)


def _variant_label(v: dict) -> str:
    return {
        "as_was": "Levels as they were",
        "recommended": "Recommended",
        "min_pct": f"All mins {v.get('percent', 0):+d}%",
        "target_fill": f"Target fill {v.get('target', 0) * 100:.1f}%",
        "levels": "Levels from CSV",
    }[v["kind"]]


def _levels_at_start(vendor_id: int, bin_ids: list[int], start: dt.datetime) -> dict[int, tuple]:
    """The levels each bin had when the window opened: the old side of its first change
    after that, for the bins changed since."""
    first: dict[int, tuple] = {}
    for bin_id, low, high in (
        BinLevelChange.objects.filter(
            vendor_id=vendor_id, bin_id__in=bin_ids, changed_at__gte=start, old_min__isnull=False
        )
        .order_by("bin_id", "changed_at", "pk")
        .values_list("bin_id", "old_min", "old_max")
    ):
        first.setdefault(bin_id, (low, high))
    return first


def _lead_time(fact: BinFacts) -> int:
    gaps = [(r.received - r.ordered).days for r in fact.engine.receipts]
    if gaps:
        return max(1, round(sum(gaps) / len(gaps)))
    return max(1, fact.engine.lead_time_days)


def backtest_run(*, backtest_id: int) -> Backtest | None:
    """Replay the last N days of the customer's real demand (units issued per day: what
    the shelf gave, a lower bound on days it ran empty) against each variant's levels
    under the platform's rule. Recommended levels are computed from the history before
    the window, as they would have been. Progress is written after each variant."""
    claimed = Backtest.objects.filter(
        pk=backtest_id, status__in=(BacktestStatus.QUEUED, BacktestStatus.RUNNING)
    ).update(status=BacktestStatus.RUNNING, progress=1)
    if not claimed:
        return None
    found = Backtest.objects.get(pk=backtest_id)
    try:
        result = _backtest_compute(found)
    except Exception as exc:
        log.exception("backtest %s failed", backtest_id)
        Backtest.objects.filter(pk=backtest_id).update(
            status=BacktestStatus.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    Backtest.objects.filter(pk=backtest_id).update(
        status=BacktestStatus.DONE, progress=100, result=result, finished_at=timezone.now()
    )
    found.refresh_from_db()
    return found


def _backtest_compute(found: Backtest) -> dict:
    params = found.params
    days, bin_ids = params["days"], params.get("bin_ids")
    customer, today, recent = demand_inputs(
        vendor_id=found.vendor_id,
        customer_id=found.customer_id,
        bin_ids=bin_ids,
        window_days=days,
    )
    start_day = today - dt.timedelta(days=days)
    _, _, before = demand_inputs(
        vendor_id=found.vendor_id,
        customer_id=found.customer_id,
        bin_ids=bin_ids,
        as_of=start_day,
    )
    by_bin_before = {f.bin_id: f for f in before}
    demand: dict[int, list[int]] = {}
    for fact in recent:
        series = [0] * days
        for day, issued, _ in fact.engine.history:
            index = (day - start_day).days
            if 0 <= index < days:
                series[index] += issued
        demand[fact.bin_id] = series
    from zoneinfo import ZoneInfo

    start_at = dt.datetime.combine(start_day, dt.time(), ZoneInfo(customer.timezone))
    as_was = _levels_at_start(found.vendor_id, [f.bin_id for f in recent], start_at)
    variants = params["variants"]
    out = []
    for number, variant in enumerate(variants, start=1):
        levels = _variant_levels(variant, recent, by_bin_before, as_was, start_day)
        bins = [
            engine.BacktestBin(
                key=fact.bin_id,
                min_qty=levels[fact.bin_id][0],
                max_qty=levels[fact.bin_id][1],
                pack_multiple=fact.engine.pack_multiple,
                lead_time_days=_lead_time(fact),
                unit_price=fact.unit_price,
                demand=demand[fact.bin_id],
            )
            for fact in recent
        ]
        results = engine.backtest(bins) if bins else []
        out.append(
            {
                "kind": variant["kind"],
                "label": _variant_label(variant),
                "summary": engine.summarize(results) if results else {"bins": 0},
                "bins": [
                    {
                        "bin": fact.bin_id,
                        "label": fact.label,
                        "sku": fact.sku,
                        "min": b.min_qty,
                        "max": b.max_qty,
                        "fill": r.fill,
                        "days_at_zero": r.days_at_zero,
                        "avg_stock_units": r.avg_stock_units,
                        "avg_stock_value": r.avg_stock_value,
                        "order_lines": r.order_lines,
                    }
                    for fact, b, r in zip(recent, bins, results, strict=True)
                ],
            }
        )
        Backtest.objects.filter(pk=found.pk).update(
            progress=max(1, min(99, round(100 * number / len(variants))))
        )
    return {"days": days, "from": start_day.isoformat(), "to": today.isoformat(), "variants": out}


def _whole_packs(low: int, high: int, pack: int) -> tuple[int, int]:
    high = max(high, low)
    return low, -(-high // pack) * pack


def _variant_levels(
    variant: dict,
    recent: list[BinFacts],
    before: dict[int, BinFacts],
    as_was: dict[int, tuple],
    start_day: dt.date,
) -> dict[int, tuple[int, int]]:
    kind = variant["kind"]
    current = {
        f.bin_id: as_was.get(f.bin_id, (f.engine.current_min, f.engine.current_max)) for f in recent
    }
    if kind == "as_was":
        return current
    if kind == "min_pct":
        factor = 100 + variant["percent"]
        return {
            f.bin_id: _whole_packs(
                -(-current[f.bin_id][0] * factor // 100),
                current[f.bin_id][1],
                f.engine.pack_multiple,
            )
            for f in recent
        }
    if kind == "levels":
        table = _levels_csv(variant["csv"])
        return {
            f.bin_id: _whole_packs(
                *table.get(f.label, table.get(f.sku, current[f.bin_id])), f.engine.pack_multiple
            )
            for f in recent
        }
    inputs = []
    for f in recent:
        base = before.get(f.bin_id, f).engine
        base = dataclasses.replace(
            base, current_min=current[f.bin_id][0], current_max=current[f.bin_id][1]
        )
        if kind == "target_fill":
            base = dataclasses.replace(base, target_fill=variant["target"])
        inputs.append(base)
    recs = engine.recommend(inputs, start_day) if inputs else []
    return {f.bin_id: (r.min, r.max) for f, r in zip(recent, recs, strict=True)}


def recommendations_recompute_enqueue(*, scope: Scope, customer_id: int) -> None:
    """Recompute one customer's bins on a worker (the on-demand button)."""
    _customer(scope, customer_id)
    vendor_id = scope.vendor_id

    def send() -> None:
        from insight.tasks import recommendations_compute_customer as task

        try:
            task.apply_async(args=(vendor_id, customer_id), retry=False)
        except Exception as exc:
            log.warning("could not enqueue recompute of customer %s", customer_id, exc_info=True)
            raise ApiError(
                "queue_unavailable",
                "The work queue is unavailable; try again shortly.",
                status_code=503,
            ) from exc

    send()

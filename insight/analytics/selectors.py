"""Reads over the usage aggregates, for the API and the portal pages alike.

Every read takes the scope and a `Subject` (what the numbers are of: the whole vendor,
a customer, a site, an item or a bin), resolved once through the scope: an id of
another vendor or customer is a 404 here, before anything is read.

Series read the per-site rows (customer, site, vendor-wide), the per-item-and-site rows
(item) or the per-bin rows (bin): a few thousand rows for two years, whatever the
number of bins. Lists that rank
bins (movers, cover, dead stock) read one narrow row per bin (`UsageBinRecent`: the
windows they use, counted back from the day of the aggregates' last pass, and the last
issue); a window it does not hold is summed from the daily bin rows instead. Nothing
is cached: every request reads what the aggregates say now. Each function runs a
fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from catalog.models import Item
from cmi.models import Customer
from cmi.scoping import Scope
from insight.analytics.models import (
    UsageBinRecent,
    UsageDaily,
    UsageItemDaily,
    UsageSiteDaily,
)
from stocking.models import Bin, Site

GRAINS = ("day", "week", "month")
DEFAULT_SPAN = {"day": 90, "week": 26 * 7, "month": 730}
MAX_SPAN_DAYS = 3 * 366
COVER_BUCKETS = (
    ("under_7", "Under a week", 0, 7),
    ("7_to_14", "1 to 2 weeks", 7, 14),
    ("14_to_30", "2 weeks to a month", 14, 30),
    ("30_to_90", "1 to 3 months", 30, 90),
    ("over_90", "Over 3 months", 90, None),
)
MONEY = DecimalField(max_digits=18, decimal_places=2)


@dataclass(frozen=True)
class Subject:
    """What the numbers are of. None everywhere (vendor staff only): the whole vendor."""

    customer: Customer | None = None
    site: Site | None = None
    item: Item | None = None
    bin: Bin | None = None
    customer_ids: frozenset[int] | None = None  # the scope's customers (None: all)

    @property
    def label(self) -> str:
        if self.bin is not None:
            return f"bin {self.bin.label} ({self.bin.item.sku})"
        if self.item is not None:
            return f"item {self.item.sku}"
        if self.site is not None:
            return f"site {self.site.name}"
        if self.customer is not None:
            return self.customer.name
        return "all customers"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.customer.timezone if self.customer is not None else "UTC")

    def today(self) -> dt.date:
        return timezone.now().astimezone(self.tz).date()

    def filters(self, *, on_bins: bool = False) -> Q:
        """The subject as a filter on rows that carry customer, site, item and bin (or on
        the bins themselves)."""
        q = Q()
        if self.customer_ids is not None:
            q &= Q(customer_id__in=self.customer_ids)
        for name in ("customer", "site", "item", "bin"):
            obj = getattr(self, name)
            if obj is not None:
                q &= Q(**{"pk" if on_bins and name == "bin" else f"{name}_id": obj.pk})
        return q


def subject_resolve(
    *,
    scope: Scope,
    customer_id: int | None = None,
    site_id: int | None = None,
    item_id: int | None = None,
    bin_id: int | None = None,
) -> Subject:
    """Look every id up through the scope (one query each given); outside it: Http404.

    A customer user is always held to their customer, named or not."""
    if customer_id is None and scope.customer_id is not None:
        customer_id = scope.customer_id
    customer = site = item = found_bin = None
    if bin_id is not None:
        found_bin = (
            Bin.objects.for_scope(scope)
            .select_related("item", "customer", "site")
            .filter(pk=bin_id)
            .first()
        )
        if found_bin is None or customer_id not in (None, found_bin.customer_id):
            raise Http404("No such bin.")
        customer, customer_id = found_bin.customer, found_bin.customer_id
    if site_id is not None:
        site = Site.objects.for_scope(scope).select_related("customer").filter(pk=site_id).first()
        if site is None or customer_id not in (None, site.customer_id):
            raise Http404("No such site.")
        customer, customer_id = site.customer, site.customer_id
    if customer is None and customer_id is not None:
        customer = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
        if customer is None:
            raise Http404("No such customer.")
    if item_id is not None:
        item = Item.objects.for_scope(scope).filter(pk=item_id).first()
        if item is None or (found_bin is not None and found_bin.item_id != item.pk):
            raise Http404("No such item.")
    if customer is None and not scope.is_vendor_staff:
        raise Http404("No such customer.")
    return Subject(
        customer=customer, site=site, item=item, bin=found_bin, customer_ids=scope.customer_ids
    )


# --- series -----------------------------------------------------------------------------


@dataclass
class Period:
    start: dt.date
    end: dt.date
    issued: int = 0
    received: int = 0
    on_hand: int = 0
    stock_value: Decimal = Decimal(0)


@dataclass
class Series:
    subject: str
    grain: str
    start: dt.date
    end: dt.date
    periods: list[Period] = field(default_factory=list)
    issued: int = 0
    previous_issued: int = 0

    @property
    def trend_pct(self) -> float | None:
        """Units issued against the period of the same length just before; None from zero."""
        if not self.previous_issued:
            return None
        return round((self.issued - self.previous_issued) / self.previous_issued * 100, 1)

    @property
    def average_daily(self) -> float:
        return self.issued / ((self.end - self.start).days + 1)


def period_start(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())  # weeks start on Monday
    if grain == "month":
        return day.replace(day=1)
    return day


def _period_end(start: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=6)
    if grain == "month":
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    return start


def span_for(
    subject: Subject, *, grain: str, days: int | None = None, end: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The days a series covers: `days` up to `end` (today), widened to whole periods."""
    end = end or subject.today()
    days = max(1, min(days or DEFAULT_SPAN[grain], MAX_SPAN_DAYS))
    return period_start(end - dt.timedelta(days=days - 1), grain), end


def _source(subject: Subject) -> tuple[QuerySet, str]:
    """Per-bin rows for a bin; per item and site for an item; per-site rows (fewer by
    far) for the rest. Each keyed by what carries its own stock over quiet days."""
    if subject.bin is not None:
        return UsageDaily.objects.filter(subject.filters()), "bin_id"
    if subject.item is not None:
        return UsageItemDaily.objects.filter(subject.filters()), "site_id"
    q = subject.filters()
    return UsageSiteDaily.objects.filter(q), "site_id"


def usage_series(
    *, scope: Scope, subject: Subject, grain: str, start: dt.date, end: dt.date
) -> Series:
    """Units issued and received per period, with on-hand and its value at each period's
    end (carried over quiet days), and the total against the previous period.

    Three queries: the opening stock, the rows of the span, the previous span's total."""
    rows_qs, key = _source(subject)
    rows_qs = rows_qs.filter(vendor_id=scope.vendor_id)
    # Each bin's (site's) last row before the span: the stock it starts with.
    level: dict[int, tuple[int, Decimal]] = {
        entity: (on_hand, value)
        for entity, on_hand, value in _latest_before(rows_qs.filter(day__lt=start), key)
    }
    units = sum(v[0] for v in level.values())
    value = sum((v[1] for v in level.values()), Decimal(0))
    carried = (units, value)  # the stock when the span starts
    flows: dict[dt.date, list[int]] = defaultdict(lambda: [0, 0])
    closing: dict[dt.date, tuple[int, Decimal]] = {}
    for entity, day, issued, received, on_hand, stock_value in (
        rows_qs.filter(day__gte=start, day__lte=end)
        .order_by("day", key)
        .values_list(key, "day", "issued", "received", "on_hand", "stock_value")
    ):
        before = level.get(entity, (0, Decimal(0)))
        units += on_hand - before[0]
        value += stock_value - before[1]
        level[entity] = (on_hand, stock_value)
        flows[day][0] += issued
        flows[day][1] += received
        closing[day] = (units, value)
    # Walk the days once, carrying the stock over quiet days.
    periods: dict[dt.date, Period] = {}
    day = start
    while day <= end:
        carried = closing.get(day, carried)
        p_start = period_start(day, grain)
        period = periods.get(p_start)
        if period is None:
            period = periods[p_start] = Period(
                start=p_start, end=min(_period_end(p_start, grain), end)
            )
        moved = flows.get(day)
        if moved:
            period.issued += moved[0]
            period.received += moved[1]
        period.on_hand, period.stock_value = carried
        day += dt.timedelta(days=1)
    series = Series(subject=subject.label, grain=grain, start=start, end=end)
    series.periods = list(periods.values())
    series.issued = sum(p.issued for p in series.periods)
    length = (end - start).days + 1
    series.previous_issued = (
        rows_qs.filter(day__gte=start - dt.timedelta(days=length), day__lt=start).aggregate(
            total=Sum("issued")
        )["total"]
        or 0
    )
    return series


def _latest_before(qs: QuerySet, key: str) -> list[tuple[int, int, Decimal]]:
    """The latest row per bin (site) of `qs`: DISTINCT ON where PostgreSQL has it, a
    correlated subquery elsewhere (SQLite)."""
    if connection.vendor == "postgresql":
        return list(
            qs.order_by(key, "-day").distinct(key).values_list(key, "on_hand", "stock_value")
        )
    latest = qs.filter(**{key: OuterRef(key)}).order_by("-day").values("day")[:1]
    return list(
        qs.annotate(latest=Subquery(latest))
        .filter(day=F("latest"))
        .values_list(key, "on_hand", "stock_value")
    )


# --- rankings over a window of bin rows ---------------------------------------------------


def _bins(scope: Scope, subject: Subject) -> QuerySet[Bin]:
    return Bin.objects.for_scope(scope).filter(subject.filters(on_bins=True), active=True)


def top_items(*, scope: Scope, subject: Subject, days: int = 30, limit: int = 10) -> list[dict]:
    """The items issued most in the last `days`, with the `days` before for the trend.

    One grouped query: over the bins' recent rows when they hold both windows (30 days),
    over the window's daily bin rows otherwise, from each customer's own first day (and
    one more query for the zones when no customer is chosen: window_starts)."""
    if days in UsageBinRecent.WINDOWS and days * 2 in UsageBinRecent.WINDOWS:
        rows = UsageBinRecent.objects.filter(subject.filters(), vendor_id=scope.vendor_id)
        sums = {
            "units": Sum(f"issued_{days}", default=0),
            "previous": Sum(F(f"issued_{days * 2}") - F(f"issued_{days}"), default=0),
        }
    else:
        rows, sums = _two_windows(
            UsageDaily.objects.filter(subject.filters(), vendor_id=scope.vendor_id),
            window_starts(scope, days, subject),
            days,
        )
    return list(
        rows.values("item_id", "item__sku", "item__description")
        .annotate(**sums)
        .filter(units__gt=0)
        .order_by("-units", "item__sku")[:limit]
    )


def _value() -> ExpressionWrapper:
    return ExpressionWrapper(F("on_hand") * F("item__unit_price"), output_field=MONEY)


def window_starts(scope: Scope, days: int, subject: Subject | None = None) -> dict[str, dt.date]:
    """The first day of the last `days` in each time zone the bins' customers keep their
    days in (the daily rows are the customer's own days): the subject's customer's zone,
    or every zone of the customers in scope (one query)."""
    if subject is not None and subject.customer is not None:
        return _zone_firsts([subject.customer.timezone], days)
    return _zone_firsts(
        Customer.objects.for_scope(scope).values_list("timezone", flat=True).distinct(), days
    )


def _zone_firsts(zones: Iterable[str], days: int) -> dict[str, dt.date]:
    """Per zone, the first of the last `days` days (today's date in that zone the last)."""
    now = timezone.now()
    span = dt.timedelta(days=max(1, days) - 1)
    return {zone: now.astimezone(ZoneInfo(zone)).date() - span for zone in zones}


def in_window(starts: dict[str, dt.date], day: str, customer: str = "customer") -> Q:
    """Rows whose `day` falls on or after their customer's zone's first day of the window
    (no condition on the zone when there is only one)."""
    if len(starts) == 1:
        return Q(**{f"{day}__gte": next(iter(starts.values()))})
    either = Q(pk__in=[])
    for zone, first in starts.items():
        either |= Q(**{f"{customer}__timezone": zone, f"{day}__gte": first})
    return either


def _two_windows(rows: QuerySet, starts: dict[str, dt.date], days: int) -> tuple[QuerySet, dict]:
    """Daily `rows` from each zone's first day of the `days` before the window (`starts`,
    window_starts), and the sums for `annotate`: `units` issued in the window, `previous`
    in the days before."""
    befores = {zone: first - dt.timedelta(days=max(1, days)) for zone, first in starts.items()}
    inside = in_window(starts, "day")
    return rows.filter(in_window(befores, "day")), {
        "units": Sum("issued", filter=inside, default=0),
        "previous": Sum("issued", filter=~inside, default=0),
    }


def _with_issued(
    qs: QuerySet[Bin], days: int, starts: Callable[[], dict[str, dt.date]]
) -> QuerySet[Bin]:
    """Bins with `issued`, units issued in the last `days`: the bin's recent row where it
    holds that window (a join on one row per bin), else one join on the window's daily
    rows (from the earliest zone's first day in the join's condition, each bin's own
    zone in the sum) and a GROUP BY. `starts` (window_starts) is asked only then."""
    if days in UsageBinRecent.WINDOWS:
        return qs.annotate(issued=Coalesce(F(f"usage_recent__issued_{days}"), 0))
    firsts = starts()
    if not firsts:
        return qs.annotate(issued=Value(0))
    return qs.annotate(
        recent=FilteredRelation(
            "usage_days", condition=Q(usage_days__day__gte=min(firsts.values()))
        )
    ).annotate(issued=Coalesce(Sum("recent__issued", filter=in_window(firsts, "recent__day")), 0))


# What a download writes of each bin (the portals' CSVs), as `values_list` names: one
# tuple a row instead of five model instances (the bin, its item, customer, site and
# location), which cost a 5,000-row download most of its time.
BIN_CELLS = (
    "customer__name",
    "site__name",
    "location__code",
    "item__sku",
    "item__description",
    "label",
    "on_hand",
    "value",
)


def _first(
    bins: QuerySet[Bin], build, order: tuple[str, ...], limit: int, cells: tuple[str, ...] = ()
) -> list:
    """The first `limit` of `bins` as `build` annotates them, by `order`, in one query:
    ranked in a subquery on the narrow columns (the bin, its recent row, its item's
    price), then only those bins read whole with their item, customer, site and
    location (joining those for every bin before the sort costs more than the sort).
    With `cells`, each is that tuple of values (`values_list`) instead of a bin."""
    ranked = build(bins).order_by(*order).values("pk")[:limit]
    chosen = build(bins.filter(pk__in=Subquery(ranked))).order_by(*order)
    if cells:
        return list(chosen.values_list(*cells))
    return list(chosen.select_related("item", "customer", "site", "location"))


def slow_movers(
    *, scope: Scope, subject: Subject, days: int = 30, limit: int = 10, cells: tuple[str, ...] = ()
) -> list:
    """Bins holding stock that were issued least in the last `days`, the most value first
    among equals (what sits on the shelf costs the most there); `cells`: see _first."""

    def build(qs: QuerySet[Bin]) -> QuerySet[Bin]:
        starts = partial(window_starts, scope, days, subject)
        return _with_issued(qs.filter(on_hand__gt=0), days, starts).annotate(value=_value())

    return _first(_bins(scope, subject), build, ("issued", "-value", "pk"), limit, cells)


def _cover_expression(days: int):
    return ExpressionWrapper(
        F("on_hand") * Value(float(days)) / F("issued"), output_field=FloatField()
    )


def cover_list(
    *, scope: Scope, subject: Subject, days: int = 28, limit: int = 20, cells: tuple[str, ...] = ()
) -> list:
    """Bins with the fewest days of cover: on-hand over the average daily issue of the
    last `days`. Bins not issued in that window have no rate and are not listed.
    `cells`: see _first."""

    def build(qs: QuerySet[Bin]) -> QuerySet[Bin]:
        return (
            _with_issued(qs, days, partial(window_starts, scope, days, subject))
            .filter(issued__gt=0)
            .annotate(cover=_cover_expression(days), value=_value())
        )

    return _first(_bins(scope, subject), build, ("cover", "pk"), limit, cells)


def cover_buckets(*, scope: Scope, subject: Subject, days: int = 28) -> list[dict]:
    """How many bins have how many days of cover (and those with no issue at all).

    One query: counted by band in the database over the bins' recent rows; for a window
    they do not hold, each bin's on-hand and units issued, banded here."""
    if days in UsageBinRecent.WINDOWS:
        return _bands(
            _bins(scope, subject)
            .annotate(covered=F("on_hand") * Value(days))
            .aggregate(**_band_counts(F(f"usage_recent__issued_{days}"))),
            days,
        )
    counts: dict[str, int] = defaultdict(int)
    starts = partial(window_starts, scope, days, subject)
    for on_hand, issued in _with_issued(_bins(scope, subject), days, starts).values_list(
        "on_hand", "issued"
    ):
        if not issued:
            counts["not_issued"] += 1
            continue
        cover = on_hand * days / issued
        for key, _, _, high in COVER_BUCKETS:
            if high is None or cover < high:
                counts[key] += 1
                break
    out = [
        {"key": key, "label": label, "bins": counts.get(key, 0)}
        for key, label, _, _ in COVER_BUCKETS
    ]
    out.append(
        {"key": "not_issued", "label": f"No issue in {days} days", "bins": counts["not_issued"]}
    )
    return out


def _is_dead(starts: dict[str, dt.date]) -> Q:
    """Bins holding stock that nobody issued from since their customer's first day of the
    window (`starts`, window_starts): no recent row, or its last issue before that day."""
    return Q(on_hand__gt=0) & (
        Q(usage_recent__isnull=True) | ~in_window(starts, "usage_recent__last_issued")
    )


def _dead(starts: dict[str, dt.date]):
    """Annotates the dead bins (`_is_dead`) with their value and last issue (None: never)."""

    def build(qs: QuerySet[Bin]) -> QuerySet[Bin]:
        return qs.filter(_is_dead(starts)).annotate(
            value=_value(), last_issued=F("usage_recent__last_issued")
        )

    return build


def dead_stock(*, scope: Scope, subject: Subject, days: int = 90) -> QuerySet[Bin]:
    """Bins holding stock that nobody issued from in the last `days`, the most value first;
    each with the day it was last issued from (None: never), from its recent row."""
    return (
        _dead(window_starts(scope, days, subject))(_bins(scope, subject))
        .select_related("item", "customer", "site", "location")
        .order_by("-value", "pk")
    )


def dead_stock_first(*, scope: Scope, subject: Subject, days: int = 90, limit: int) -> list[Bin]:
    """The first `limit` of `dead_stock`, ranked on the narrow columns first."""
    starts = window_starts(scope, days, subject)
    return _first(_bins(scope, subject), _dead(starts), ("-value", "pk"), limit)


def stock_value_now(*, scope: Scope, subject: Subject) -> dict:
    """Units and value on the shelves now (from the bins themselves)."""
    got = _bins(scope, subject).aggregate(
        units=Sum("on_hand", default=0), value=Sum(_value(), default=Decimal(0))
    )
    return {"units": got["units"], "value": Decimal(got["value"]).quantize(Decimal("0.01"))}


# --- across customers (vendor staff) ---------------------------------------------------


def customers_usage(*, scope: Scope, days: int = 30) -> list[dict]:
    """Per customer in scope: units issued in the last `days` and the `days` before, and
    the stock (units, value) held there now. Three queries whatever the size."""
    customers = list(
        Customer.objects.for_scope(scope)
        .order_by("name", "pk")
        .values("pk", "name", "code", "timezone")
    )
    # Each customer's days are its own (its time zone): the window starts per zone.
    rows, sums = _two_windows(
        UsageSiteDaily.objects.for_scope(scope),
        _zone_firsts({c["timezone"] for c in customers}, days),
        days,
    )
    usage = (
        {r["customer_id"]: r for r in rows.values("customer_id").annotate(**sums)}
        if customers
        else {}
    )
    held = {
        r["customer_id"]: r
        for r in Bin.objects.for_scope(scope)
        .filter(active=True)
        .values("customer_id")
        .annotate(units=Sum("on_hand", default=0), value=Sum(_value(), default=Decimal(0)))
    }
    out = []
    for c in customers:
        u, h = usage.get(c["pk"], {}), held.get(c["pk"], {})
        issued, previous = u.get("units", 0), u.get("previous", 0)
        out.append(
            {
                "customer_id": c["pk"],
                "name": c["name"],
                "code": c["code"],
                "issued": issued,
                "previous": previous,
                "trend_pct": round((issued - previous) / previous * 100, 1) if previous else None,
                "units": h.get("units", 0),
                "value": Decimal(h.get("value", 0)).quantize(Decimal("0.01")),
            }
        )
    return out


SEARCH_LIMIT = 200


def item_search(*, scope: Scope, text: str, days: int = 30) -> QuerySet[Bin]:
    """Bins across every customer in scope whose item's SKU or description, the bin's
    label, or the customer's own part number contains `text`; with units issued in the
    last `days` and the value on hand."""
    text = text.strip()[:64]
    match = (
        Q(item__sku__icontains=text)
        | Q(item__description__icontains=text)
        | Q(label__icontains=text)
        | Exists(
            Item.objects.filter(
                pk=OuterRef("item_id"),
                cross_references__customer_id=OuterRef("customer_id"),
                cross_references__code__icontains=text,
            )
        )
    )
    return (
        _with_issued(
            Bin.objects.for_scope(scope).filter(match, active=True),
            days,
            partial(window_starts, scope, days),
        )
        .select_related("item", "customer", "site", "location")
        .annotate(value=_value())
        .order_by("item__sku", "customer__name", "location__code", "pk")
    )


def dead_stock_totals(qs: QuerySet[Bin]) -> dict:
    """How many bins of a `dead_stock` queryset, and the value they hold."""
    got = qs.order_by().aggregate(count=Count("pk"), stock_value=Sum("value", default=Decimal(0)))
    return {
        "count": got["count"],
        "stock_value": Decimal(got["stock_value"]).quantize(Decimal("0.01")),
    }


# --- the customer page's rankings ---------------------------------------------------------


def _band_counts(issued: F) -> dict:
    """Counts of bins per band of days of cover (`covered` is on-hand times the window's
    days; cover = covered / issued, compared without dividing) and of bins not issued."""
    sums = {"not_issued": Count("pk", filter=Q(usage_recent__isnull=True) | Q(**{issued.name: 0}))}
    for key, _, low, high in COVER_BUCKETS:
        band = Q(**{f"{issued.name}__gt": 0}, covered__gte=issued * low)
        if high is not None:
            band &= Q(covered__lt=issued * high)
        sums[key] = Count("pk", filter=band)
    return sums


def _bands(counts: dict, days: int) -> list[dict]:
    out = [{"key": key, "label": label, "bins": counts[key]} for key, label, _, _ in COVER_BUCKETS]
    out.append(
        {"key": "not_issued", "label": f"No issue in {days} days", "bins": counts["not_issued"]}
    )
    return out


def bins_summary(*, scope: Scope, subject: Subject, cover_days: int, dead_days: int) -> dict:
    """The subject's stock value now, its dead stock's count and value, and its bins by
    days of cover, in one pass over the bins and their recent rows (conditional sums);
    a cover window the recent rows do not hold is banded by `cover_buckets` instead."""
    if cover_days not in UsageBinRecent.WINDOWS:
        dead = dead_stock(scope=scope, subject=subject, days=dead_days)
        return {
            "value_now": stock_value_now(scope=scope, subject=subject),
            "dead_totals": dead_stock_totals(dead),
            "buckets": cover_buckets(scope=scope, subject=subject, days=cover_days),
        }
    issued = F(f"usage_recent__issued_{cover_days}")
    dead = _is_dead(window_starts(scope, dead_days, subject))
    sums = {
        "units": Sum("on_hand", default=0),
        "value_sum": Sum("value", default=Decimal(0)),
        "dead_count": Count("pk", filter=dead),
        "dead_value": Sum("value", filter=dead, default=Decimal(0)),
    }
    sums.update(_band_counts(issued))
    got = (
        _bins(scope, subject)
        .annotate(value=_value(), covered=F("on_hand") * Value(cover_days))
        .aggregate(**sums)
    )
    cent = Decimal("0.01")
    buckets = _bands(got, cover_days)
    return {
        "value_now": {"units": got["units"], "value": Decimal(got["value_sum"]).quantize(cent)},
        "dead_totals": {
            "count": got["dead_count"],
            "stock_value": Decimal(got["dead_value"]).quantize(cent),
        },
        "buckets": buckets,
    }


def usage_rankings(
    *,
    scope: Scope,
    subject: Subject,
    window_days: int,
    cover_days: int,
    dead_days: int,
    rows: int,
    dead_rows: int,
) -> dict:
    """Top items, slow movers, days of cover, dead stock and the stock value of a subject.

    Read cold on every request (five queries): each ranks the subject's bins over their
    narrow recent rows, one per bin, so a cache would only hide the path it measures."""
    return {
        "top": top_items(scope=scope, subject=subject, days=window_days, limit=rows),
        "slow": slow_movers(scope=scope, subject=subject, days=window_days, limit=rows),
        "cover": cover_list(scope=scope, subject=subject, days=cover_days, limit=rows),
        "dead": dead_stock_first(scope=scope, subject=subject, days=dead_days, limit=dead_rows),
        **bins_summary(scope=scope, subject=subject, cover_days=cover_days, dead_days=dead_days),
    }

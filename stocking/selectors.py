"""Reads of stock: annotated and prefetched so a page costs a fixed number of queries."""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from catalog.models import CrossReference, CrossReferenceKind, ItemBarcode
from cmi.scoping import Scope
from stocking.models import (
    Bin,
    BinLevelChange,
    LedgerEntry,
    Location,
    ScanEvent,
    ScannerDevice,
    Site,
)

BIN_STATUSES = ("below_min", "at_zero", "over_max", "ok", "kanban")


def bin_status_q(status: str, prefix: str = "") -> Q:
    """The one status rule of a bin, as a filter. At zero is any bin with nothing on the
    shelf; below min, over max and OK are min/max bins only; a kanban bin (one with a card
    quantity) has no min or max, so with stock on the shelf its status is "kanban".
    `prefix` is the path to the bin ("bins__" from a customer)."""

    def q(**lookups: object) -> Q:
        return Q(**{f"{prefix}{name}": value for name, value in lookups.items()})

    min_max = q(kanban_quantity__isnull=True)
    if status == "at_zero":
        return q(on_hand__lte=0)
    if status == "kanban":
        return q(kanban_quantity__isnull=False, on_hand__gt=0)
    if status == "below_min":
        return min_max & q(on_hand__lt=F(f"{prefix}min_qty"))
    if status == "over_max":
        return min_max & q(on_hand__gt=F(f"{prefix}max_qty"))
    return min_max & q(
        on_hand__gte=F(f"{prefix}min_qty"), on_hand__lte=F(f"{prefix}max_qty"), on_hand__gt=0
    )


def bin_status_case() -> Case:
    """The status of each bin as an annotation, from the same rule as the filters."""
    return Case(
        *(When(bin_status_q(s), then=Value(s)) for s in ("at_zero", "kanban", "below_min")),
        When(bin_status_q("over_max"), then=Value("over_max")),
        default=Value("ok"),
        output_field=CharField(),
    )


def bin_list(*, scope: Scope) -> QuerySet[Bin]:
    return (
        Bin.objects.for_scope(scope)
        .select_related("item", "location", "customer")
        .order_by("customer_id", "location_id", "item__sku", "pk")
    )


def customer_bin_list(*, scope: Scope, customer_id: int) -> QuerySet[Bin]:
    """A customer's bins with what every stock row shows (site, status, the customer's
    part number), computed in the same query."""
    part_numbers = CrossReference.objects.for_scope(scope).filter(
        customer_id=OuterRef("customer_id"),
        item_id=OuterRef("item_id"),
        kind=CrossReferenceKind.PART_NUMBER,
    )
    return (
        bin_list(scope=scope)
        .filter(customer_id=customer_id)
        .select_related("site")
        .annotate(
            # The status rule's own definitions, so the list, the filters and the counts agree.
            status=bin_status_case(),
            part_number=Subquery(part_numbers.order_by("code").values("code")[:1]),
        )
    )


def bin_search(*, scope: Scope, bins: QuerySet[Bin], text: str) -> QuerySet[Bin]:
    """The bins that `text` finds: SKU, description, the shelf label, the customer's part
    numbers and barcodes, and the item's barcodes. The stock page and the API's `q` use
    it. Subqueries rather than joins: one bin stays one row.

    The barcodes are an uncorrelated IN (the matching items, read once): as a correlated
    Exists, SQLite scanned the vendor's barcodes once per bin (1.2 s at 10,000 bins).
    """
    own_codes = CrossReference.objects.for_scope(scope).filter(
        customer_id=OuterRef("customer_id"), item_id=OuterRef("item_id"), code__icontains=text
    )
    barcoded = ItemBarcode.objects.for_scope(scope).filter(code__icontains=text).values("item_id")
    return bins.filter(
        Q(item__sku__icontains=text)
        | Q(item__description__icontains=text)
        | Q(label__iexact=text)
        | Exists(own_codes)
        | Q(item_id__in=barcoded)
    )


def bin_export_rows(*, scope: Scope, customer_id: int, columns: tuple[str, ...]) -> QuerySet:
    """A customer's bins as tuples of `columns`, site and location in natural order."""
    return (
        Bin.objects.for_scope(scope)
        .filter(customer_id=customer_id)
        .order_by("site__code", "location__sort_key", "item__sku", "pk")
        .values_list(*columns)
    )


def site_list(*, scope: Scope) -> QuerySet[Site]:
    qs = Site.objects.for_scope(scope).order_by("customer_id", "code")
    if scope.site_id is not None:
        qs = qs.filter(pk=scope.site_id)
    return qs


def location_list(*, scope: Scope) -> QuerySet[Location]:
    return (
        Location.objects.for_scope(scope)
        .select_related("parent")
        .order_by("customer_id", "sort_key", "pk")
    )


def location_subtree_q(location: Location, prefix: str = "location__") -> Q:
    return Q(**{f"{prefix}path__startswith": location.path})


def ledger_list(*, scope: Scope, bin_id: int) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.for_scope(scope).filter(bin_id=bin_id).order_by("-occurred_at", "-id")
    )


def level_change_list(*, scope: Scope, bin_id: int) -> QuerySet[BinLevelChange]:
    return (
        BinLevelChange.objects.for_scope(scope)
        .filter(bin_id=bin_id)
        .select_related("user")
        .order_by("-changed_at", "-id")
    )


def device_list(*, scope: Scope) -> QuerySet[ScannerDevice]:
    return ScannerDevice.objects.for_scope(scope).order_by("customer_id", "name", "pk")


def customer_device_list(*, scope: Scope, customer_id: int) -> QuerySet[ScannerDevice]:
    """A customer's scanners with their site: active ones first, then by name."""
    return (
        device_list(scope=scope)
        .filter(customer_id=customer_id)
        .select_related("site")
        .order_by(F("revoked_at").asc(nulls_first=True), "name", "pk")
    )


SCAN_HISTORY_COLUMNS = (
    "occurred_at",
    "kind",
    "code",
    "bin__item__sku",
    "bin__location__code",
    "quantity",
    "ledger_entry__quantity",
    "ledger_entry__delta",
    "ledger_entry__on_hand_after",
    "device__name",
    "user__username",
    "event_id",
)


def scan_history(
    *, scope: Scope, customer_id: int, start: datetime, end: datetime
) -> QuerySet[ScanEvent]:
    """A customer's scans that happened in [start, end), oldest first, as tuples of
    SCAN_HISTORY_COLUMNS: one query however many rows (every name is a join)."""
    return (
        ScanEvent.objects.for_scope(scope)
        .filter(customer_id=customer_id, occurred_at__gte=start, occurred_at__lt=end)
        .order_by("occurred_at", "id")
        .values_list(*SCAN_HISTORY_COLUMNS)
    )


def bin_health_counts(*, scope: Scope, customer_id: int) -> dict[str, int]:
    """The customer's active bins: total, at zero, below min, over max, in one query."""
    return (
        bin_list(scope=scope)
        .filter(customer_id=customer_id, active=True)
        .aggregate(
            total=Count("pk"),
            at_zero=Count("pk", filter=bin_status_q("at_zero")),
            below_min=Count("pk", filter=bin_status_q("below_min")),
            over_max=Count("pk", filter=bin_status_q("over_max")),
            kanban=Count("pk", filter=Q(kanban_quantity__isnull=False)),
        )
    )


def scan_recent(*, scope: Scope, customer_id: int) -> QuerySet[ScanEvent]:
    """The customer's scans, newest first, with what a line about each one names."""
    return (
        ScanEvent.objects.for_scope(scope)
        .filter(customer_id=customer_id)
        .select_related("bin__item", "bin__location", "device", "user")
        .order_by("-occurred_at", "-id")
    )


SCAN_BIN_COLUMNS = ("label", "item__sku", "item__description", "location__code", "kanban_quantity")
SCAN_BINS_MAX = 5000  # what a phone keeps for offline use; a stock room rarely has more


def scan_bin_list(*, scope: Scope, customer_id: int) -> QuerySet:
    """The active bins a person may scan at a customer, as tuples of SCAN_BIN_COLUMNS,
    kanban bins first (they are shown as cards), then by location and label: one query."""
    return (
        Bin.objects.for_scope(scope)
        .filter(customer_id=customer_id, active=True)
        .order_by(F("kanban_quantity").asc(nulls_last=True), "location__code", "label")
        .values_list(*SCAN_BIN_COLUMNS)[:SCAN_BINS_MAX]
    )

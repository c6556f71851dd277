"""Bins in bulk: min/max from a CSV, and a percentage adjustment of many bins at once.

Both work in two steps. The plan (a read) says what each row or bin would become and
why a row cannot be used; the apply (a write) makes the plan again inside its
transaction, with the bins it touches locked, so a preview that has gone stale is never
written blindly. Writes are set-based: a handful of queries for the whole file (Django
splits a bulk statement into batches only where the database limits its parameters),
and one `BinLevelChange` per bin created or changed, as `bin_levels_update` writes them.

The rules are `stocking.levels`, the same for every entry point.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Item
from cmi import events
from cmi.csvin import MAX_QUANTITY, CsvTable, ImportPlan, whole_number
from cmi.errors import ApiError, Conflict
from cmi.models import Customer
from cmi.rows import rows_update
from cmi.scoping import Scope
from cmi.services import ObjectChange, setting_changes_record
from stocking import hooks
from stocking.levels import Levels, levels_check, levels_problems, packs_up
from stocking.models import Bin, BinLevelChange, Location, Site
from stocking.selectors import location_subtree_q
from stocking.setup import label_new

BIN_COLUMNS = ("site", "location", "sku", "min", "max", "pack_multiple")
BIN_REQUIRED = ("location", "sku", "min", "max")
BIN_READ_ONLY = ("label", "on_hand")  # in the export for people; the import ignores them
SKU_CHUNK = 2000  # ids per IN (...): far below every database's parameter limit
ADJUST_LEVELS = ("min", "max", "both")
SAMPLE_SIZE = 20


def _short(value: str) -> str:
    """A cell quoted in a message: long garbage is cut, not repeated in full."""
    return value if len(value) <= 40 else value[:39] + "\u2026"


def _customer_check(scope: Scope, customer_id: int) -> None:
    if not Customer.objects.for_scope(scope).filter(pk=customer_id).exists():
        raise ApiError("unknown_customer", f"No customer {customer_id}.", field="customer")


# --- the CSV import ----------------------------------------------------------------------


@dataclass(slots=True)
class BinRow:
    """One row of the file and what it would do."""

    line: int
    site: str
    location: str
    sku: str
    errors: list[str] = field(default_factory=list)
    bin_id: int | None = None
    location_id: int | None = None
    site_id: int | None = None
    item_id: int | None = None
    old: Levels | None = None
    new: Levels | None = None

    @property
    def action(self) -> str:
        """error, create (a new bin), change or same."""
        if self.errors:
            return "error"
        if self.bin_id is None:
            return "create"
        return "same" if self.old == self.new else "change"


class BinImportPlan(ImportPlan):
    rows: list[BinRow]


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), SKU_CHUNK):
        yield values[start : start + SKU_CHUNK]


def _items_by_sku(scope: Scope, skus: Iterable[str]) -> dict[str, dict]:
    wanted = sorted({s for s in skus if s})
    found: dict[str, dict] = {}
    for chunk in _chunks(wanted):
        for row in (
            Item.objects.for_scope(scope)
            .filter(sku__in=chunk)
            .values("pk", "sku", "pack_quantity", "active")
        ):
            found[row["sku"]] = row
    return found


def bins_import_plan(
    *, scope: Scope, customer_id: int, table: CsvTable, lock: bool = False
) -> BinImportPlan:
    """What each row of a bins CSV would do: four queries, however long the file.

    With `lock`, the existing bins the file names are read under their row locks (in
    primary-key order), so the plan is what the transaction will write."""
    sites = {
        s["code"]: s
        for s in Site.objects.for_scope(scope).filter(customer_id=customer_id).values("pk", "code")
    }
    site_codes = {s["pk"]: s["code"] for s in sites.values()}
    locations = {
        loc["code"]: loc
        for loc in Location.objects.for_scope(scope)
        .filter(customer_id=customer_id)
        .values("pk", "code", "site_id")
    }
    by_upper = defaultdict(list)
    for code in locations:
        by_upper[code.upper()].append(code)
    items = _items_by_sku(scope, (row.get("sku") for row in table.rows))

    rows: list[BinRow] = []
    for raw in table.rows:
        row = BinRow(
            line=raw.line,
            site=raw.get("site"),
            location=raw.get("location"),
            sku=raw.get("sku"),
            errors=list(raw.errors),
        )
        location = locations.get(row.location)
        if not row.location:
            row.errors.append("location is empty.")
        elif location is None:
            near = by_upper.get(row.location.upper(), [])
            hint = f" Did you mean {near[0]}?" if len(near) == 1 else ""
            row.errors.append(f"Unknown location \u201c{_short(row.location)}\u201d.{hint}")
        if row.site:
            site = sites.get(row.site)
            if site is None:
                row.errors.append(f"Unknown site \u201c{_short(row.site)}\u201d.")
            elif location is not None and location["site_id"] != site["pk"]:
                row.errors.append(
                    f"Location {row.location} is at site {site_codes[location['site_id']]}, "
                    f"not {row.site}."
                )
        item = items.get(row.sku)
        if not row.sku:
            row.errors.append("sku is empty.")
        elif item is None:
            row.errors.append(
                f"Unknown SKU \u201c{_short(row.sku)}\u201d (it is not in the catalog)."
            )
        if location is not None:
            row.location_id, row.site_id = location["pk"], location["site_id"]
        if item is not None:
            row.item_id = item["pk"]
        rows.append(row)

    used_locations = sorted({r.location_id for r in rows if r.location_id})
    existing_qs = Bin.objects.for_scope(scope).filter(
        customer_id=customer_id, location_id__in=used_locations
    )
    if lock:
        existing_qs = existing_qs.select_for_update().order_by("pk")
    existing = {
        (b["location_id"], b["item_id"]): b
        for b in existing_qs.values(
            "pk", "location_id", "item_id", "min_qty", "max_qty", "pack_multiple"
        )
    }

    lines_of: dict[tuple[int, int], list[int]] = defaultdict(list)
    for row, raw in zip(rows, table.rows, strict=True):
        key = (row.location_id, row.item_id)
        found = existing.get(key) if None not in key else None
        if None not in key:
            lines_of[key].append(row.line)
        low, low_problem = whole_number(raw.get("min"), "min")
        high, high_problem = whole_number(raw.get("max"), "max")
        row.errors += [p for p in (low_problem, high_problem) if p]
        pack: int | None = None
        if raw.get("pack_multiple").strip():
            pack, pack_problem = whole_number(raw.get("pack_multiple"), "pack_multiple", minimum=1)
            if pack_problem:
                row.errors.append(pack_problem)
        elif found is not None:
            pack = found["pack_multiple"]
        elif row.item_id is not None:
            pack = items[row.sku]["pack_quantity"]
        if found is not None:
            row.bin_id = found["pk"]
            row.old = Levels(found["min_qty"], found["max_qty"], found["pack_multiple"])
        elif row.item_id is not None and not items[row.sku]["active"]:
            row.errors.append(f"SKU {row.sku} is inactive: no new bins can be made for it.")
        if low is not None and high is not None and pack is not None:
            row.new = Levels(low, high, pack)
            row.errors += [p.message for p in levels_problems(row.new)]
    for row in rows:
        lines = lines_of.get((row.location_id, row.item_id), [])
        if len(lines) > 1:
            others = ", ".join(str(n) for n in lines if n != row.line)
            row.errors.append(
                f"Duplicate: line {others} is for the same bin ({row.sku} at {row.location}). "
                "Keep one of them."
            )
    return BinImportPlan(rows=rows, ignored=list(table.ignored))


def _labels_new(scope: Scope, count: int) -> list[str]:
    """`count` shelf labels not used by the vendor: one query, again only on a collision."""
    labels: list[str] = []
    while len(labels) < count:
        fresh = {label_new() for _ in range(count - len(labels))} - set(labels)
        taken = set(
            Bin.objects.filter(vendor_id=scope.vendor_id, label__in=fresh).values_list(
                "label", flat=True
            )
        )
        labels += sorted(fresh - taken)
    return labels


def _audit(
    scope: Scope, customer_id: int, user_id: int | None, source: str, changes
) -> list[BinLevelChange]:
    return [
        BinLevelChange(
            vendor_id=scope.vendor_id,
            customer_id=customer_id,
            bin_id=bin_id,
            user_id=user_id,
            source=source,
            old_min=old.min if old else None,
            new_min=new.min,
            old_max=old.max if old else None,
            new_max=new.max,
            old_pack_multiple=old.pack if old else None,
            new_pack_multiple=new.pack,
        )
        for bin_id, old, new in changes
    ]


def bins_levels_write(
    scope: Scope, customer_id: int, user_id: int | None, source: str, changes
) -> None:
    """The levels rule for many bins at once (import, adjust, recommendations): check each,
    write (bin_id, old, new) and their audit rows; the bins are then evaluated
    (after commit), so a raised min orders at once rather than at the next sweep."""
    for _, _, new in changes:
        levels_check(new)  # the plans checked already; this keeps the write honest
    now = timezone.now()
    rows_update(
        Bin,
        [
            Bin(pk=bin_id, min_qty=new.min, max_qty=new.max, pack_multiple=new.pack, updated_at=now)
            for bin_id, _, new in changes
        ],
        ["min_qty", "max_qty", "pack_multiple", "updated_at"],
    )
    BinLevelChange.objects.bulk_create(_audit(scope, customer_id, user_id, source, changes))
    _settings_audit(scope, customer_id, user_id, source, changes)
    hooks.bins_touched(vendor_id=scope.vendor_id, bin_ids=[bin_id for bin_id, _, _ in changes])


def _settings_audit(
    scope: Scope, customer_id: int, user_id: int | None, source: str, changes
) -> None:
    """The same changes in the settings audit (the customer's history): one query for
    the bins' labels, one INSERT."""
    if not changes:
        return
    labels = dict(
        Bin.objects.filter(
            vendor_id=scope.vendor_id, pk__in=[bin_id for bin_id, _, _ in changes]
        ).values_list("pk", "label")
    )

    def named(levels: Levels | None) -> dict:
        return (
            {}
            if levels is None
            else {"min": levels.min, "max": levels.max, "pack_multiple": levels.pack}
        )

    setting_changes_record(
        vendor_id=scope.vendor_id,
        user_id=user_id,
        source=source,
        changes=[
            ObjectChange(
                customer_id=customer_id,
                object_type="bin",
                object_id=bin_id,
                object_label=labels.get(bin_id, ""),
                before=named(old),
                after=named(new),
            )
            for bin_id, old, new in changes
        ],
    )


@transaction.atomic
def bins_import_apply(
    *, scope: Scope, customer_id: int, table: CsvTable, user_id: int | None = None
) -> BinImportPlan:
    """Create and change the bins of the good rows; skip the rows with errors.

    The file is checked again here (the bins may have changed since the preview)."""
    _customer_check(scope, customer_id)
    plan = bins_import_plan(scope=scope, customer_id=customer_id, table=table, lock=True)
    creates, changes = plan.of("create"), plan.of("change")
    import_id = uuid.uuid4().hex  # an import leaves no row of its own: its event names it
    try:
        with transaction.atomic():
            labels = _labels_new(scope, len(creates))
            made = Bin.objects.bulk_create(
                [
                    Bin(
                        vendor_id=scope.vendor_id,
                        customer_id=customer_id,
                        site_id=row.site_id,
                        location_id=row.location_id,
                        item_id=row.item_id,
                        label=label,
                        min_qty=row.new.min,
                        max_qty=row.new.max,
                        pack_multiple=row.new.pack,
                    )
                    for row, label in zip(creates, labels, strict=True)
                ]
            )
            bins_levels_write(
                scope,
                customer_id,
                user_id,
                "import",
                [(row.bin_id, row.old, row.new) for row in changes],
            )
            BinLevelChange.objects.bulk_create(
                _audit(
                    scope,
                    customer_id,
                    user_id,
                    "import",
                    [
                        (new_bin.pk, None, row.new)
                        for row, new_bin in zip(creates, made, strict=True)
                    ],
                )
            )
            _settings_audit(
                scope,
                customer_id,
                user_id,
                "import",
                [(new_bin.pk, None, row.new) for row, new_bin in zip(creates, made, strict=True)],
            )
            hooks.bins_touched(vendor_id=scope.vendor_id, bin_ids=[b.pk for b in made])
            events.emit(
                "import.finished",
                vendor_id=scope.vendor_id,
                customer_id=customer_id,
                subject_type="import",
                subject_id=import_id,
                data={
                    "import_id": import_id,
                    "rows": len(creates) + len(changes),
                    "errors": len(plan.of("error")),
                },
            )
    except IntegrityError:
        # Someone else made one of these bins a moment ago: nothing of this file is saved.
        raise Conflict(
            "conflict",
            "Some of these bins were changed at the same moment by someone else. "
            "Nothing was saved; preview the file again.",
        ) from None
    return plan


# --- the percentage adjustment -----------------------------------------------------------


@dataclass
class AdjustChange:
    bin_id: int
    site: str
    location: str
    sku: str
    old: Levels
    new: Levels


@dataclass
class AdjustPlan:
    matched: int
    changes: list[AdjustChange]

    @property
    def sample(self) -> list[AdjustChange]:
        return self.changes[:SAMPLE_SIZE]


def adjusted_levels(old: Levels, *, levels: str, percent: int) -> Levels:
    """Levels scaled by `percent`: min rounds up to a whole unit, max up to a whole pack
    and never below min. A level that is not adjusted stays, except that max is raised
    (to whole packs) when the new min went above it."""
    factor = 100 + percent
    new_min, new_max = old.min, old.max
    if levels in ("min", "both"):
        new_min = min(-(-old.min * factor // 100), MAX_QUANTITY)
    if levels in ("max", "both"):
        new_max = packs_up(-(-old.max * factor // 100), old.pack)
    if new_max < new_min:
        new_max = packs_up(new_min, old.pack)
    if new_max > MAX_QUANTITY:
        new_max = MAX_QUANTITY - MAX_QUANTITY % old.pack
        new_min = min(new_min, new_max)
    return Levels(new_min, new_max, old.pack)


def _adjust_bins(
    scope: Scope, customer_id: int, site_id: int | None, location_code: str, sku_prefix: str
) -> QuerySet[Bin]:
    qs = Bin.objects.for_scope(scope).filter(customer_id=customer_id, active=True)
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if location_code:
        location = (
            Location.objects.for_scope(scope)
            .filter(customer_id=customer_id, code=location_code)
            .first()
        )
        if location is None:
            raise ApiError(
                "unknown_location", f"No location {location_code!r} here.", field="location"
            )
        qs = qs.filter(location_subtree_q(location))
    if sku_prefix:
        qs = qs.filter(item__sku__istartswith=sku_prefix)
    return qs


def bins_adjust_plan(
    *,
    scope: Scope,
    customer_id: int,
    levels: str,
    percent: int,
    site_id: int | None = None,
    location_code: str = "",
    sku_prefix: str = "",
    lock: bool = False,
) -> AdjustPlan:
    """Which active bins the adjustment matches and which of them it changes."""
    if levels not in ADJUST_LEVELS:
        raise ApiError("invalid_levels", "Choose min, max or both.", field="levels")
    if not -90 <= percent <= 500:
        raise ApiError("invalid_percent", "The percent must be -90 to 500.", field="percent")
    qs = _adjust_bins(scope, customer_id, site_id, location_code, sku_prefix)
    if lock:
        # Locks are taken in primary-key order, as every other writer of bins takes them.
        qs = qs.select_for_update(of=("self",)).order_by("pk")
    rows = qs.values_list(
        "pk", "site__code", "location__code", "item__sku", "min_qty", "max_qty", "pack_multiple"
    )
    matched, changes = 0, []
    for pk, site, location, sku, low, high, pack in rows:
        matched += 1
        old = Levels(low, high, pack)
        new = adjusted_levels(old, levels=levels, percent=percent)
        if new != old:
            changes.append(AdjustChange(pk, site, location, sku, old, new))
    changes.sort(key=lambda c: (c.site, c.location, c.sku, c.bin_id))
    return AdjustPlan(matched=matched, changes=changes)


@transaction.atomic
def bins_adjust_apply(
    *,
    scope: Scope,
    customer_id: int,
    levels: str,
    percent: int,
    site_id: int | None = None,
    location_code: str = "",
    sku_prefix: str = "",
    user_id: int | None = None,
) -> AdjustPlan:
    """Scale the matched bins' levels, under their locks; audited as source "adjust"."""
    _customer_check(scope, customer_id)
    plan = bins_adjust_plan(
        scope=scope,
        customer_id=customer_id,
        levels=levels,
        percent=percent,
        site_id=site_id,
        location_code=location_code,
        sku_prefix=sku_prefix,
        lock=True,
    )
    bins_levels_write(
        scope, customer_id, user_id, "adjust", [(c.bin_id, c.old, c.new) for c in plan.changes]
    )
    return plan

"""The catalog from a CSV: new items made and existing ones (by SKU) updated, set-based.

As with bins, a plan (a read) says what each row would do or why it cannot, and the
apply makes the plan again inside its transaction, with the named items locked.

A blank cell keeps what the item has (a new item gets the defaults: unit EA, pack 1,
no barcodes); a filled barcodes cell is the item's whole list, `|` between codes, so
codes missing from it are removed. A barcode that belongs to another item is an error
of the row: it must be taken off that item first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.gtin import gtin_kind, gtin_valid
from catalog.models import Item, ItemBarcode
from cmi.csvin import MAX_QUANTITY, CsvTable, ImportPlan, whole_number
from cmi.errors import Conflict
from cmi.scoping import Scope
from cmi.services import ObjectChange, setting_changes_record

CATALOG_COLUMNS = ("sku", "description", "uom", "pack_quantity", "barcodes")
CATALOG_REQUIRED = ("sku", "description")
CHUNK = 2000  # values per IN (...)
SKU_MAX, DESCRIPTION_MAX, UOM_MAX, BARCODE_MAX = 48, 200, 4, 48


def _short(value: str) -> str:
    return value if len(value) <= 40 else value[:39] + "\u2026"


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


@dataclass(slots=True)
class ItemRow:
    line: int
    sku: str
    errors: list[str] = field(default_factory=list)
    item_id: int | None = None
    description: str = ""
    unit_of_measure: str = "EA"
    pack_quantity: int = 1
    barcodes_add: list[str] = field(default_factory=list)
    barcodes_remove: list[str] = field(default_factory=list)
    barcode_ids_remove: list[int] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)  # what an update changes, in words
    item_changed: bool = False
    old: dict = field(default_factory=dict)  # the item's fields before, for the audit

    @property
    def action(self) -> str:
        if self.errors:
            return "error"
        if self.item_id is None:
            return "create"
        return "change" if self.changes else "same"


class CatalogImportPlan(ImportPlan):
    rows: list[ItemRow]


def _barcodes_parse(cell: str, row: ItemRow) -> list[str]:
    codes = list(dict.fromkeys(c.strip() for c in cell.split("|") if c.strip()))
    for code in codes:
        if len(code) > BARCODE_MAX:
            row.errors.append(f"Barcode {_short(code)} is longer than {BARCODE_MAX} characters.")
        elif code.isdigit() and len(code) in (8, 12, 13, 14) and not gtin_valid(code):
            row.errors.append(f"Barcode {code} has a wrong check digit.")
    return codes


def catalog_import_plan(*, scope: Scope, table: CsvTable, lock: bool = False) -> CatalogImportPlan:
    """What each row would do: three queries for a file of up to 2,000 SKUs and barcodes
    (one more of each per 2,000 beyond)."""
    skus = sorted({raw.get("sku") for raw in table.rows if raw.get("sku")})
    items: dict[str, Item] = {}
    for chunk in _chunks(skus):
        qs = Item.objects.for_scope(scope).filter(sku__in=chunk)
        if lock:
            qs = qs.select_for_update().order_by("pk")
        items.update((item.sku, item) for item in qs)
    barcodes_column = "barcodes" in table.columns

    rows: list[ItemRow] = []
    listed: dict[int, list[str]] = {}  # row index -> the codes its barcodes cell lists
    for index, raw in enumerate(table.rows):
        row = ItemRow(line=raw.line, sku=raw.get("sku"), errors=list(raw.errors))
        item = items.get(row.sku)
        if not row.sku:
            row.errors.append("sku is empty.")
        elif len(row.sku) > SKU_MAX:
            row.errors.append(f"sku is longer than {SKU_MAX} characters.")
        description = raw.get("description")
        if len(description) > DESCRIPTION_MAX:
            row.errors.append(f"description is longer than {DESCRIPTION_MAX} characters.")
        elif not description and item is None:
            row.errors.append("description is empty (a new item needs one).")
        unit = raw.get("uom").upper()
        if len(unit) > UOM_MAX:
            row.errors.append(f"uom must be at most {UOM_MAX} characters, like EA or BX.")
        pack = None
        if raw.get("pack_quantity"):
            pack, problem = whole_number(
                raw.get("pack_quantity"), "pack_quantity", minimum=1, maximum=MAX_QUANTITY
            )
            if problem:
                row.errors.append(problem)
        if item is not None:
            row.item_id = item.pk
            row.old = {
                "description": item.description,
                "unit_of_measure": item.unit_of_measure,
                "pack_quantity": item.pack_quantity,
            }
            row.description = description or item.description
            row.unit_of_measure = unit or item.unit_of_measure
            row.pack_quantity = pack or item.pack_quantity
            for label, old, new in (
                ("description", item.description, row.description),
                ("unit", item.unit_of_measure, row.unit_of_measure),
                ("pack", item.pack_quantity, row.pack_quantity),
            ):
                if old != new:
                    row.changes.append(f"{label} {old} \u2192 {new}")
                    row.item_changed = True
        else:
            row.description = description
            row.unit_of_measure = unit or "EA"
            row.pack_quantity = pack or 1
        if barcodes_column and raw.get("barcodes"):
            listed[index] = _barcodes_parse(raw.get("barcodes"), row)
        rows.append(row)

    # Barcodes: who owns the codes the file lists, and what its items have now.
    codes = sorted({code for found in listed.values() for code in found})
    item_ids = sorted(item.pk for item in items.values())
    owner: dict[str, tuple[int, str]] = {}
    have: dict[int, dict[str, int]] = defaultdict(dict)
    for chunk in _chunks(codes):
        for code, item_id, sku in (
            ItemBarcode.objects.for_scope(scope)
            .filter(code__in=chunk)
            .values_list("code", "item_id", "item__sku")
        ):
            owner[code] = (item_id, sku)
    for chunk in _chunks(item_ids):
        for pk, code, item_id in (
            ItemBarcode.objects.for_scope(scope)
            .filter(item_id__in=chunk)
            .values_list("pk", "code", "item_id")
        ):
            have[item_id][code] = pk

    rows_of_code: dict[str, list[int]] = defaultdict(list)
    rows_of_sku: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        if row.sku:
            rows_of_sku[row.sku].append(row.line)
        for code in listed.get(index, ()):
            rows_of_code[code].append(row.line)
            holder = owner.get(code)
            if holder is not None and holder[0] != row.item_id:
                row.errors.append(f"Barcode {code} belongs to another item, {holder[1]}.")
        if index in listed:
            current = have.get(row.item_id, {}) if row.item_id else {}
            row.barcodes_add = [c for c in listed[index] if c not in current]
            row.barcodes_remove = [c for c in current if c not in listed[index]]
            row.barcode_ids_remove = [current[c] for c in row.barcodes_remove]
            if row.item_id and row.barcodes_add:
                row.changes.append("barcodes + " + ", ".join(row.barcodes_add))
            if row.barcodes_remove:
                row.changes.append("barcodes \u2212 " + ", ".join(row.barcodes_remove))
    for row_index, row in enumerate(rows):
        lines = rows_of_sku.get(row.sku, [])
        if len(lines) > 1:
            others = ", ".join(str(n) for n in lines if n != row.line)
            row.errors.append(f"Duplicate: line {others} is for the same SKU. Keep one of them.")
        for code in listed.get(row_index, ()):
            lines = rows_of_code[code]
            if len(lines) > 1:
                others = ", ".join(str(n) for n in lines if n != row.line)
                row.errors.append(f"Barcode {code} is also on line {others}.")
    return CatalogImportPlan(rows=rows, ignored=list(table.ignored))


@transaction.atomic
def catalog_import_apply(
    *, scope: Scope, table: CsvTable, user_id: int | None = None
) -> CatalogImportPlan:
    """Create and update the items of the good rows (and their barcodes); skip the rest."""
    plan = catalog_import_plan(scope=scope, table=table, lock=True)
    creates, changes = plan.of("create"), plan.of("change")
    now = timezone.now()
    try:
        with transaction.atomic():
            made = Item.objects.bulk_create(
                [
                    Item(
                        vendor_id=scope.vendor_id,
                        sku=row.sku,
                        description=row.description,
                        unit_of_measure=row.unit_of_measure,
                        pack_quantity=row.pack_quantity,
                    )
                    for row in creates
                ]
            )
            Item.objects.bulk_update(
                [
                    Item(
                        pk=row.item_id,
                        description=row.description,
                        unit_of_measure=row.unit_of_measure,
                        pack_quantity=row.pack_quantity,
                        updated_at=now,
                    )
                    for row in changes
                    if row.item_changed
                ],
                ["description", "unit_of_measure", "pack_quantity", "updated_at"],
            )
            setting_changes_record(
                vendor_id=scope.vendor_id,
                user_id=user_id,
                source="import",
                changes=[
                    ObjectChange(
                        customer_id=None,
                        object_type="item",
                        object_id=row.item_id,
                        object_label=row.sku,
                        before=row.old,
                        after={
                            "description": row.description,
                            "unit_of_measure": row.unit_of_measure,
                            "pack_quantity": row.pack_quantity,
                        },
                    )
                    for row in changes
                    if row.item_changed
                ],
            )
            removed = [pk for row in changes for pk in row.barcode_ids_remove]
            if removed:
                ItemBarcode.objects.filter(vendor_id=scope.vendor_id, pk__in=removed).delete()
            ItemBarcode.objects.bulk_create(
                [
                    ItemBarcode(
                        vendor_id=scope.vendor_id, item_id=item_id, code=code, kind=gtin_kind(code)
                    )
                    for item_id, row in [
                        *((item.pk, row) for row, item in zip(creates, made, strict=True)),
                        *((row.item_id, row) for row in changes),
                    ]
                    for code in row.barcodes_add
                ]
            )
    except IntegrityError:
        raise Conflict(
            "conflict",
            "Some of these items or barcodes were saved at the same moment by someone else. "
            "Nothing was saved; preview the file again.",
        ) from None
    return plan

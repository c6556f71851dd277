"""Turning scanned codes into bins: a handful of set-based queries per batch.

A code is a bin label, an item barcode, the SKU, or the customer's own part number
or barcode. Labels name a bin on their own; the rest name an item, and the location
picks the bin.

A GS1 code (a GS1-128 or DataMatrix element string, its human-readable form, a UPC or
EAN with or without check digit: catalog/gs1.py) names an item by its GTIN, matched
against the items' barcodes in any of their 8/12/13/14-digit forms. Without a location
it finds the item's one bin at the scanner's site (or the customer's, for a scanner not
bound to a site); its lot and expiry go on the ledger entry. A GTIN that matches no
barcode falls back to the exact codes (a numeric customer part number), and is then
rejected with `gtin_unknown`, naming the GTIN that was read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Q

from catalog.gs1 import Gs1Read, gs1_read, gtin14, gtin_forms, symbology_strip
from catalog.gtin import gtin_valid
from catalog.models import CrossReference, Item, ItemBarcode
from cmi.scoping import Scope
from stocking.models import Bin, Location
from stocking.scans import ScanInput, ScanRejected

# What placing a scan reads of a bin (bin_for, the ingest's kind checks, the ingest's
# customer), with its item's unit weight as `unit_weight_grams`: the rest of the row is
# read again under the bin's lock when it is written.
BIN_COLUMNS = (
    "customer_id",
    "site_id",
    "location_id",
    "item_id",
    "label",
    "active",
    "kanban_quantity",
    "tare_grams",
)


class PlacedBin:
    """A bin as placing a scan reads it (BIN_COLUMNS and the item's unit weight), as
    plain attributes: a model instance per bin cost more CPU than the query."""

    __slots__ = ("pk", *BIN_COLUMNS, "unit_weight_grams")

    def __init__(self, values: tuple) -> None:
        for name, value in zip(self.__slots__, values, strict=True):
            setattr(self, name, value)


def _placed(qs) -> list[PlacedBin]:
    return [
        PlacedBin(row)
        for row in qs.annotate(unit_weight_grams=F("item__unit_weight_grams")).values_list(
            "pk", *BIN_COLUMNS, "unit_weight_grams"
        )
    ]


@dataclass
class Resolver:
    bins_by_label: dict[str, PlacedBin] = field(default_factory=dict)
    items_by_code: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    locations: dict[str, Location] = field(default_factory=dict)
    bins_by_place: dict[tuple[int, int], PlacedBin] = field(default_factory=dict)
    site_id: int | None = None
    reads: dict[str, Gs1Read] = field(default_factory=dict)
    items_by_gtin: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    bins_by_item: dict[int, list[PlacedBin]] = field(default_factory=lambda: defaultdict(list))

    def gs1_for(self, scan: ScanInput) -> Gs1Read | None:
        """The GS1 reading of the scan's code, when it named a bin by GTIN."""
        read = self.reads.get(scan.code)
        return read if read is not None and self._gtin_items(read) else None

    def _gtin_items(self, read: Gs1Read) -> set[int]:
        return {i for g in read.gtins for i in self.items_by_gtin.get(g, ())}

    def bin_for(self, scan: ScanInput) -> PlacedBin:
        location = None
        if scan.location:
            location = self.locations.get(scan.location)
            if location is None:
                raise ScanRejected("unknown_location", f"No location {scan.location!r} here.")
            if self.site_id is not None and location.site_id != self.site_id:
                raise ScanRejected(
                    "location_not_allowed",
                    f"Location {scan.location!r} is not at this scanner's site.",
                )
        found = self.bins_by_label.get(scan.code) or self.bins_by_label.get(
            symbology_strip(scan.code)
        )
        read = self.reads.get(scan.code)
        if found is None and read is not None and not self.items_by_code.get(scan.code):
            if read.error:
                raise ScanRejected(read.error, read.detail)
            if not self._gtin_items(read):
                raise ScanRejected(
                    "gtin_unknown", f"No item has the GTIN {read.shown} that was read."
                )
        if found is None and read is not None and self._gtin_items(read):
            found = self._by_gtin(read, self._gtin_items(read), location)
        elif found is not None:
            if location is not None and found.location_id != location.pk:
                raise ScanRejected(
                    "location_mismatch",
                    f"Bin label {scan.code!r} is not at location {scan.location!r}.",
                )
        else:
            items = self.items_by_code.get(scan.code)
            if not items:
                raise ScanRejected(
                    "unknown_code", f"No bin label, item or part number {scan.code!r}."
                )
            if len(items) > 1:
                raise ScanRejected(
                    "ambiguous_code",
                    f"{scan.code!r} names {len(items)} items; scan the bin label instead.",
                )
            if location is None:
                raise ScanRejected(
                    "missing_location", "'location' is required unless the code is a bin label."
                )
            found = self.bins_by_place.get((location.pk, next(iter(items))))
            if found is None:
                raise ScanRejected(
                    "not_stocked", f"{scan.code!r} is not stocked at {scan.location!r}."
                )
        if self.site_id is not None and found.site_id != self.site_id:
            raise ScanRejected("location_not_allowed", "That bin is not at this scanner's site.")
        if not found.active:
            raise ScanRejected("bin_inactive", f"Bin {found.label} is no longer active.")
        return found

    def _by_gtin(self, read: Gs1Read, items: set[int], location: Location | None) -> PlacedBin:
        if len(items) > 1:
            raise ScanRejected(
                "ambiguous_code",
                f"GTIN {read.shown} names {len(items)} items; scan the bin label instead.",
            )
        item_id = next(iter(items))
        if location is not None:
            found = self.bins_by_place.get((location.pk, item_id))
            if found is None:
                raise ScanRejected(
                    "not_stocked", f"GTIN {read.shown} is not stocked at {location.code!r}."
                )
            return found
        here = self.bins_by_item.get(item_id, [])
        active = [b for b in here if b.active]
        if len(active) > 1:
            raise ScanRejected(
                "ambiguous_bin",
                f"GTIN {read.shown} is stocked in {len(active)} bins here "
                f"({', '.join(sorted(b.label for b in active))}); "
                "give the location or scan the bin label.",
            )
        if not here:
            raise ScanRejected("not_stocked", f"GTIN {read.shown} is not stocked here.")
        return (active or here)[0]


def resolver_build(*, scope: Scope, scans: list[ScanInput]) -> Resolver:
    """Six queries whatever the batch size."""
    customer_id = scope.customer_id
    assert customer_id is not None, "scans are posted for one customer"
    codes = {s.code for s in scans}
    location_codes = {s.location for s in scans if s.location}
    res = Resolver(site_id=scope.site_id)
    if not codes:
        return res
    labels = codes | {symbology_strip(c) for c in codes}
    for found in _placed(Bin.objects.for_scope(scope).filter(label__in=labels).order_by()):
        res.bins_by_label[found.label] = found
    item_codes = {
        c
        for c in codes
        if c not in res.bins_by_label and symbology_strip(c) not in res.bins_by_label
    }
    for code in item_codes:
        read = gs1_read(code)
        if read is not None:
            res.reads[code] = read
    gtin_codes = {f for r in res.reads.values() for g in r.gtins for f in gtin_forms(g)}
    if item_codes:
        for sku, item_id in (
            Item.objects.for_scope(scope).filter(sku__in=item_codes).values_list("sku", "id")
        ):
            res.items_by_code[sku].add(item_id)
        for code, item_id in (
            ItemBarcode.objects.for_scope(scope)
            .filter(code__in=item_codes | gtin_codes)
            .values_list("code", "item_id")
        ):
            if code in item_codes:
                res.items_by_code[code].add(item_id)
            if code in gtin_codes and gtin_valid(code):
                res.items_by_gtin[gtin14(code)].add(item_id)
        for code, item_id in (
            CrossReference.objects.for_scope(scope)
            .filter(code__in=item_codes)
            .values_list("code", "item_id")
        ):
            res.items_by_code[code].add(item_id)
    if location_codes:
        for location in Location.objects.for_scope(scope).filter(code__in=location_codes):
            res.locations[location.code] = location
    item_ids = {i for ids in res.items_by_code.values() if len(ids) == 1 for i in ids}
    gtin_item_ids = {i for ids in res.items_by_gtin.values() for i in ids}
    wanted = Q(pk__in=[])
    if (item_ids or gtin_item_ids) and res.locations:
        location_ids = [loc.pk for loc in res.locations.values()]
        wanted |= Q(location_id__in=location_ids, item_id__in=item_ids | gtin_item_ids)
    if gtin_item_ids:
        # A GTIN without a location: every bin of its item here, to find the one.
        here = Q(item_id__in=gtin_item_ids)
        if scope.site_id is not None:
            here &= Q(site_id=scope.site_id)
        wanted |= here
    if item_ids or gtin_item_ids:
        for found in _placed(Bin.objects.for_scope(scope).filter(wanted)):
            if found.location_id in {loc.pk for loc in res.locations.values()}:
                res.bins_by_place[(found.location_id, found.item_id)] = found
            if found.item_id in gtin_item_ids and (
                scope.site_id is None or found.site_id == scope.site_id
            ):
                res.bins_by_item[found.item_id].append(found)
    return res

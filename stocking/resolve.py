"""Turning scanned codes into bins: a handful of set-based queries per batch.

A code is a bin label, an item barcode, the SKU, or the customer's own part number
or barcode. Labels name a bin on their own; the rest name an item, and the location
picks the bin.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from catalog.models import CrossReference, Item, ItemBarcode
from cmi.scoping import Scope
from stocking.models import Bin, Location
from stocking.scans import ScanInput, ScanRejected


@dataclass
class Resolver:
    bins_by_label: dict[str, Bin] = field(default_factory=dict)
    items_by_code: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    locations: dict[str, Location] = field(default_factory=dict)
    bins_by_place: dict[tuple[int, int], Bin] = field(default_factory=dict)
    site_id: int | None = None

    def bin_for(self, scan: ScanInput) -> Bin:
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
        found = self.bins_by_label.get(scan.code)
        if found is not None:
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


def resolver_build(*, scope: Scope, scans: list[ScanInput]) -> Resolver:
    """Six queries whatever the batch size."""
    customer_id = scope.customer_id
    assert customer_id is not None, "scans are posted for one customer"
    codes = {s.code for s in scans}
    location_codes = {s.location for s in scans if s.location}
    res = Resolver(site_id=scope.site_id)
    if not codes:
        return res
    for found in Bin.objects.for_scope(scope).filter(label__in=codes).select_related("item"):
        res.bins_by_label[found.label] = found
    item_codes = codes - res.bins_by_label.keys()
    if item_codes:
        for sku, item_id in (
            Item.objects.for_scope(scope).filter(sku__in=item_codes).values_list("sku", "id")
        ):
            res.items_by_code[sku].add(item_id)
        for code, item_id in (
            ItemBarcode.objects.for_scope(scope)
            .filter(code__in=item_codes)
            .values_list("code", "item_id")
        ):
            res.items_by_code[code].add(item_id)
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
    if item_ids and res.locations:
        location_ids = [loc.pk for loc in res.locations.values()]
        for found in (
            Bin.objects.for_scope(scope)
            .filter(location_id__in=location_ids, item_id__in=item_ids)
            .select_related("item")
        ):
            res.bins_by_place[(found.location_id, found.item_id)] = found
    return res

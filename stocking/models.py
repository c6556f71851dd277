"""Where stock lives (sites, nested locations, bins), what changed it, and who scanned.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Item
from cmi.models import Customer, SecretToken, Vendor
from cmi.scoping import ScopedQuerySet


class Site(models.Model):
    """A customer facility and the ship-to address of its orders."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="sites", db_index=False
    )
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    address1 = models.CharField(max_length=55, blank=True)
    address2 = models.CharField(max_length=55, blank=True)
    city = models.CharField(max_length=30, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=15, blank=True)
    country = models.CharField(max_length=3, default="US")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "code"], name="site_code_unique_per_customer"
            )
        ]
        indexes = [models.Index(fields=["vendor", "customer"])]

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    """A stock room, rack or shelf. Nesting is a materialised path of ids, no MPTT:
    adding a location writes one row and never renumbers its neighbours."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="locations", db_index=False
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="locations")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200, blank=True)
    path = models.CharField(max_length=255, editable=False, default="")  # "/1/7/42/"
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    # The codes of the location and its ancestors in natural order ("R1" < "R3" < "R10"),
    # outermost first: lists of locations and of bins by location order by it, in SQL on
    # any collation (stocking.locations.location_sort_key; written by location_create).
    sort_key = models.TextField(editable=False, default="")

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "path"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "code"], name="location_code_unique_per_customer"
            )
        ]
        indexes = [
            models.Index(fields=["vendor", "path"]),
            models.Index(fields=["vendor", "customer", "site"]),
            models.Index(fields=["vendor", "customer", "sort_key", "id"], name="location_sort_key"),
        ]

    def __str__(self) -> str:
        return self.code


def quiet_for(heard: dt.datetime | None, *, now: dt.datetime, after: dt.timedelta) -> bool:
    """The one rule of a silent scanner: heard from (or added) at least `after` ago.
    `after` is the customer's scanner-silent threshold (notify.thresholds)."""
    return heard is not None and heard <= now - after


class ScannerDevice(SecretToken):
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="devices")
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="devices"
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "name"]
        indexes = [models.Index(fields=["vendor", "customer"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_silent(self, now: dt.datetime, after: dt.timedelta) -> bool:
        """An active scanner not heard from for its customer's threshold (counted from
        its adding when it never reported): CMI works only while people scan."""
        return self.is_active and quiet_for(
            self.last_seen_at or self.created_at, now=now, after=after
        )


def reorder_point_reached(*, on_hand: int, on_order: int, min_qty: int, max_qty: int) -> bool:
    """The one trigger of the min/max rule: position at or below min, and a max to fill to."""
    return max_qty > 0 and on_hand + on_order <= min_qty


# The same trigger as a query: min/max bins (no kanban quantity) at their reorder point.
AT_REORDER_POINT = Q(
    kanban_quantity__isnull=True, max_qty__gt=0, on_hand__lte=F("min_qty") - F("on_order")
)


class Bin(models.Model):
    """One item stocked at one location: what scans land on and orders replenish."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Every read of bins by customer or item names the vendor too: (vendor, customer, …)
    # and (vendor, item) serve them. Their own indexes would be written on every scan
    # (a bin's update is never HOT: on-hand is indexed).
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="bins", db_index=False
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="bins")
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="bins", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="bins", db_index=False)
    label = models.CharField(max_length=32)
    min_qty = models.IntegerField(default=0)
    max_qty = models.IntegerField(default=0)
    on_hand = models.IntegerField(default=0)
    on_order = models.IntegerField(default=0)
    pack_multiple = models.PositiveIntegerField(default=1)
    lead_time_days = models.PositiveSmallIntegerField(default=0)
    kanban_quantity = models.PositiveIntegerField(null=True, blank=True)
    tare_grams = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    last_count_at = models.DateTimeField(null=True, blank=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["location_id", "item_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "item"], name="bin_unique_per_location_item"
            ),
            models.UniqueConstraint(fields=["vendor", "label"], name="bin_label_unique_per_vendor"),
            models.CheckConstraint(condition=Q(min_qty__gte=0), name="bin_min_not_negative"),
            models.CheckConstraint(condition=Q(min_qty__lte=F("max_qty")), name="bin_min_le_max"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="bin_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(on_order__gte=0), name="bin_on_order_not_negative"),
            models.CheckConstraint(
                condition=Q(pack_multiple__gte=1), name="bin_pack_multiple_positive"
            ),
            models.CheckConstraint(
                condition=Q(kanban_quantity__isnull=True) | Q(kanban_quantity__gte=1),
                name="bin_kanban_quantity_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["vendor", "customer", "location"]),
            models.Index(fields=["vendor", "item"]),
            # the stock page sorted by on hand, keyset paged (the other sorts join)
            models.Index(fields=["vendor", "customer", "on_hand", "id"], name="bin_on_hand_keyset"),
            # the sweep's candidates: small (only bins at their reorder point), so an
            # idle sweep over a million bins reads a handful of index pages
            models.Index(fields=["vendor"], condition=AT_REORDER_POINT, name="bin_at_reorder"),
            # The catch-up pass reads the bins touched since its last run that are at
            # their reorder point (kanban bins with cards waiting come through
            # scan_kanban_pending). Partial: a scan that leaves a bin above its reorder
            # point, most of them, writes no entry here. The `IS NOT NULL` (always true)
            # is implied only by a query bounding updated_at: the sweep, which reads
            # every candidate, stays on bin_at_reorder.
            models.Index(
                fields=["updated_at"],
                condition=AT_REORDER_POINT & Q(updated_at__isnull=False),
                name="bin_updated_at_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def position(self) -> int:
        return self.on_hand + self.on_order

    @property
    def is_kanban(self) -> bool:
        return self.kanban_quantity is not None

    @property
    def kanban_cards_out(self) -> int:
        """Cards dropped and not yet refilled: the on-order quantity in cards (a kanban
        order is whole cards; a part-received one still has its card out)."""
        if not self.kanban_quantity:
            return 0
        return -(-self.on_order // self.kanban_quantity)

    @property
    def kanban_cards_full(self) -> int:
        """How many full cards' worth sit on the shelf."""
        if not self.kanban_quantity:
            return 0
        return self.on_hand // self.kanban_quantity

    @property
    def at_reorder_point(self) -> bool:
        """A min/max bin whose position has reached its min: the reorder rule's trigger."""
        return reorder_point_reached(
            on_hand=self.on_hand, on_order=self.on_order, min_qty=self.min_qty, max_qty=self.max_qty
        )


class MovementKind(models.TextChoices):
    RECEIVE = "receive", "Receive"
    ISSUE = "issue", "Issue"
    COUNT = "count", "Count"
    WEIGHT = "weight", "Weight count"
    KANBAN = "kanban", "Kanban card"


class ScanEvent(models.Model):
    """An accepted event from a scanner (or a person); its id is the client's UUID."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Every read of scan events names the vendor: (vendor, customer, …) serves it. The
    # customer's and device's own indexes would only be written on every insert (a
    # delete of a customer or device, which PROTECT refuses anyway, scans instead).
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    event_id = models.UUIDField()
    bin = models.ForeignKey(
        Bin, on_delete=models.PROTECT, related_name="scan_events", db_index=False
    )
    kind = models.CharField(max_length=8, choices=MovementKind.choices)
    code = models.CharField(max_length=64)
    location_code = models.CharField(max_length=32, blank=True)
    quantity = models.IntegerField(null=True, blank=True)
    gross_grams = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    device = models.ForeignKey(
        ScannerDevice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # Kanban cards wait here until an evaluation orders them (under the bin's lock).
    kanban_pending = models.BooleanField(default=False)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            # A scanner's event id is its customer's: another customer may reuse it.
            models.UniqueConstraint(
                fields=["vendor", "customer", "event_id"],
                name="scan_event_id_unique_per_customer",
            )
        ]
        indexes = [
            models.Index(fields=["bin", "occurred_at"]),
            # The dashboard's recent scans and the scan-history export, by when they happened.
            models.Index(fields=["vendor", "customer", "occurred_at"]),
            models.Index(
                fields=["bin"], condition=Q(kanban_pending=True), name="scan_kanban_pending"
            ),
            # A person's scans (a user's delete is checked against it); scanners' events,
            # most of them, have no user and write no entry here.
            models.Index(fields=["user"], condition=Q(user__isnull=False), name="scan_event_user"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class LedgerEntry(models.Model):
    """Every change of on-hand, in the transaction that made it.

    `delta` is what the change did to on-hand; summed over a bin it rebuilds on-hand.
    An event that happened before the bin's last count is kept with applied=False
    and delta 0: the count already includes it.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="ledger", db_index=False)
    kind = models.CharField(max_length=8, choices=MovementKind.choices)
    quantity = models.IntegerField()
    delta = models.IntegerField()
    on_hand_after = models.IntegerField()
    applied = models.BooleanField(default=True)
    scan_event = models.OneToOneField(
        ScanEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entry"
    )
    # No query reads the ledger by device: its own index would only be written.
    device = models.ForeignKey(
        ScannerDevice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # From a GS1 code's (10) and (17), when the scan carried them.
    lot = models.CharField(max_length=20, null=True, blank=True)
    expiry = models.DateField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["bin", "occurred_at"]),
            # The usage aggregates' catch-up reads the rows written since its last run.
            models.Index(fields=["received_at"], name="ledger_received_at_idx"),
            # As scan_event_user: only the rows a person wrote.
            models.Index(fields=["user"], condition=Q(user__isnull=False), name="ledger_user"),
        ]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d} -> {self.on_hand_after}"


class BinLevelChange(models.Model):
    """The audit of min/max (and pack multiple) changes: who, when, old and new."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(
        Bin, on_delete=models.PROTECT, related_name="level_changes", db_index=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=16, default="api")
    old_min = models.IntegerField(null=True)
    new_min = models.IntegerField()
    old_max = models.IntegerField(null=True)
    new_max = models.IntegerField()
    old_pack_multiple = models.IntegerField(null=True)
    new_pack_multiple = models.IntegerField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["bin", "changed_at"])]

    def __str__(self) -> str:
        return f"{self.bin_id}: {self.old_min}/{self.old_max} -> {self.new_min}/{self.new_max}"


# --- RFID ------------------------------------------------------------------------------


class RfidMode(models.TextChoices):
    DROP_BOX = "drop_box", "Kanban drop box"
    CABINET = "cabinet", "Tagged-item cabinet"


class RfidReader(models.Model):
    """A fixed RFID reader: a scanner device (its token, last seen, revoke) with a mode.

    A drop box reads kanban cards; a cabinet reads tagged items and its cycles count them.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="rfid_readers")
    device = models.OneToOneField(
        ScannerDevice, on_delete=models.CASCADE, related_name="rfid_reader"
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rfid_readers")
    # A cabinet's own location: its tags count for the item's bin there (else at the site).
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="rfid_readers"
    )
    mode = models.CharField(max_length=8, choices=RfidMode.choices)
    antenna_count = models.PositiveSmallIntegerField(default=1)
    # The end of the latest cycle applied: an older one is late and applies nothing.
    last_cycle_ended_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "id"]
        indexes = [models.Index(fields=["vendor", "customer", "site"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(antenna_count__gte=1), name="rfid_reader_antennas_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} {self.device_id}"


class RfidCard(models.Model):
    """A kanban card's tag: its EPC orders one card of its bin when a drop box reads it.

    Armed until read; disarmed until the bin's refill is received (or a person re-arms it).
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="rfid_cards")
    bin = models.ForeignKey(Bin, on_delete=models.CASCADE, related_name="rfid_cards")
    epc = models.CharField(max_length=124)  # upper-case hex
    armed = models.BooleanField(default=True)
    # When it was re-armed (a receipt or a person); None: armed since it was made.
    armed_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "bin_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "epc"], name="rfid_card_epc_unique")
        ]
        indexes = [
            models.Index(fields=["vendor", "customer", "bin"]),
            models.Index(fields=["bin"], condition=Q(armed=False), name="rfid_card_disarmed"),
        ]

    def __str__(self) -> str:
        return self.epc


class RfidTag(models.Model):
    """A tagged item (SGTIN or assigned by a rep): where it was last seen, and whether it
    is there now. The present tags of a bin at a cabinet are its count."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="rfid_tags")
    epc = models.CharField(max_length=124)
    gtin = models.CharField(max_length=14, blank=True)
    serial = models.CharField(max_length=64, blank=True)
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(Bin, on_delete=models.CASCADE, related_name="rfid_tags")
    reader = models.ForeignKey(
        RfidReader, on_delete=models.SET_NULL, null=True, blank=True, related_name="tags"
    )
    present = models.BooleanField(default=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["bin_id", "epc"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "epc"], name="rfid_tag_epc_unique")
        ]
        indexes = [
            models.Index(fields=["reader"], condition=Q(present=True), name="rfid_tag_present"),
            models.Index(fields=["vendor", "customer", "bin"]),
        ]

    def __str__(self) -> str:
        return self.epc


class RfidUnknownTag(models.Model):
    """An EPC a reader saw that names no card, tag or item of this customer: a rep
    assigns it to an item (which makes it an RfidTag and counts it)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    reader = models.ForeignKey(RfidReader, on_delete=models.CASCADE, related_name="+")
    epc = models.CharField(max_length=124)
    gtin = models.CharField(max_length=14, blank=True)  # decoded but matching no item
    serial = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=16)
    reads = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    assigned_item = models.ForeignKey(
        Item, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "customer", "epc"], name="rfid_unknown_unique_per_customer"
            )
        ]
        indexes = [
            models.Index(
                fields=["vendor", "customer", "-last_seen_at"],
                condition=Q(assigned_at__isnull=True),
                name="rfid_unknown_open",
            )
        ]

    def __str__(self) -> str:
        return self.epc


class RfidCycleStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    INCOMPLETE = "incomplete", "Incomplete: nothing applied"
    LATE = "late", "Late: nothing applied"


class RfidCycle(models.Model):
    """One read cycle as a reader reported it, with the answer it got (a replay of the
    same cycle id gets the same answer and changes nothing)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reader = models.ForeignKey(
        RfidReader, on_delete=models.CASCADE, related_name="cycles", db_index=False
    )
    cycle_id = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    antennas = models.JSONField(default=list)
    fault = models.BooleanField(default=False)
    epc_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=RfidCycleStatus.choices)
    reason = models.CharField(max_length=32, blank=True)
    answer = models.JSONField(default=dict)
    received_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-ended_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["reader", "cycle_id"], name="rfid_cycle_id_unique")
        ]
        indexes = [models.Index(fields=["reader", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.reader_id}/{self.cycle_id} {self.status}"


class RfidTagMovement(models.Model):
    """Which tags a cabinet's ledger entry counted, issued or received: its serials."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    ledger_entry = models.ForeignKey(
        LedgerEntry, on_delete=models.PROTECT, related_name="rfid_tags", db_index=False
    )
    tag = models.ForeignKey(
        RfidTag, on_delete=models.PROTECT, related_name="movements", db_index=False
    )
    epc = models.CharField(max_length=124)
    serial = models.CharField(max_length=64, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["ledger_entry"]), models.Index(fields=["tag"])]

    def __str__(self) -> str:
        return f"{self.ledger_entry_id}: {self.epc}"

"""Daily aggregates of the stock ledger, kept so that charts over two years of 10,000 bins
read thousands of rows, not millions.

`UsageDaily` is one row per bin per day on which the bin's ledger moved (a bin's quiet
days have no row: its on-hand holds from the row before). `UsageSiteDaily` is the same
per site, with the site's whole stock (every bin) at the end of the day, so that
customer-wide and vendor-wide series read one row per site and day.

Days are the customer's own calendar days (its time zone). Stock value is on-hand times
the item's unit price when the row was computed.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.db import models

from catalog.models import Item
from cmi.models import Customer, Vendor
from cmi.scoping import ScopedQuerySet
from stocking.models import Bin, Site


class UsageDaily(models.Model):
    """One bin on one day: what moved, and what was on the shelf at the day's end."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    bin = models.ForeignKey(
        Bin, on_delete=models.CASCADE, related_name="usage_days", db_index=False
    )
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    issued = models.IntegerField(default=0)  # units of issue scans (used or sold)
    received = models.IntegerField(default=0)  # units of receipt scans
    adjusted = models.IntegerField(default=0)  # what counts changed on-hand by
    net = models.IntegerField(default=0)  # the day's change of on-hand (sum of the deltas)
    on_hand = models.IntegerField(default=0)  # at the end of the day
    stock_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    scans = models.IntegerField(default=0)  # ledger rows written by scans

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["bin_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["bin", "day"], name="usage_daily_one_per_bin_day")
        ]
        indexes = [
            models.Index(fields=["vendor", "customer", "day"], name="usage_daily_customer_day"),
            models.Index(fields=["vendor", "item", "day"], name="usage_daily_item_day"),
            models.Index(fields=["vendor", "site", "day"], name="usage_daily_site_day"),
        ]

    def __str__(self) -> str:
        return f"bin {self.bin_id} {self.day}: -{self.issued} +{self.received} = {self.on_hand}"


class UsageSiteDaily(models.Model):
    """One site on one day on which any of its bins moved: the sums of its bins' rows,
    and the site's whole stock (units and value) at the end of the day."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="usage_days", db_index=False
    )
    day = models.DateField()
    issued = models.IntegerField(default=0)
    received = models.IntegerField(default=0)
    adjusted = models.IntegerField(default=0)
    on_hand = models.BigIntegerField(default=0)
    stock_value = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    scans = models.IntegerField(default=0)
    bins_issued = models.IntegerField(default=0)  # bins with an issue that day

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["site_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["site", "day"], name="usage_site_daily_one_per_day")
        ]
        indexes = [
            models.Index(fields=["vendor", "customer", "day"], name="usage_site_customer_day"),
            models.Index(fields=["vendor", "day"], name="usage_site_vendor_day"),
        ]

    def __str__(self) -> str:
        return f"site {self.site_id} {self.day}: -{self.issued} = {self.on_hand}"


class UsageItemDaily(models.Model):
    """One item at one site on one day on which any of its bins there moved: the sums of
    those bins' rows, and the item's whole stock at the site at the day's end. An item's
    series reads these (a row per site and day) rather than every bin's rows."""

    # vendor and site: served by the (vendor, item, day) index and the unique
    # (site, item, day); an index of their own would only cost every row written.
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+", db_index=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    issued = models.IntegerField(default=0)
    received = models.IntegerField(default=0)
    on_hand = models.BigIntegerField(default=0)
    stock_value = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["site_id", "item_id", "day"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "item", "day"], name="usage_item_daily_one_per_day"
            )
        ]
        indexes = [models.Index(fields=["vendor", "item", "day"], name="usage_item_item_day")]

    def __str__(self) -> str:
        return f"item {self.item_id} at site {self.site_id} {self.day}: -{self.issued}"


class UsageBinRecent(models.Model):
    """One bin's recent issues, counted back from `as_of` (the customer's day at the last
    pass of the aggregates): the rankings (top and slow movers, days of cover, dead
    stock) read one narrow row per bin instead of a window of daily rows.

    A bin has a row once it was ever issued from (`last_issued` is then set); the
    windows are the units issued in the `as_of` day and the N - 1 days before it.
    """

    WINDOWS = (28, 30, 60, 90)

    # vendor: served by the (vendor, customer) and (vendor, item) indexes.
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    bin = models.OneToOneField(Bin, on_delete=models.CASCADE, related_name="usage_recent")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    issued_28 = models.IntegerField(default=0)
    issued_30 = models.IntegerField(default=0)
    issued_60 = models.IntegerField(default=0)
    issued_90 = models.IntegerField(default=0)
    last_issued = models.DateField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["bin_id"]
        indexes = [
            models.Index(fields=["vendor", "customer"], name="usage_recent_customer"),
            models.Index(fields=["vendor", "item"], name="usage_recent_item"),
        ]

    def __str__(self) -> str:
        return f"bin {self.bin_id} as of {self.as_of}: {self.issued_30} in 30 days"

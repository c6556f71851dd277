"""Recommended levels, the policies that steer them, and backtests that judge them.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import Item
from cmi.models import Customer, Vendor
from cmi.scoping import ScopedQuerySet
from stocking.models import Bin, Site


class RecommendationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPLIED = "applied", "Applied"
    DISMISSED = "dismissed", "Dismissed"


class Recommendation(models.Model):
    """The latest recommended min/max of one bin (one row per bin, replaced on recompute).

    `current_*` are the bin's levels when it was computed; `explanation` holds the
    engine's reasons (class, level, lead time, expected fill and stock at both levels).
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    bin = models.OneToOneField(Bin, on_delete=models.CASCADE, related_name="recommendation")
    min_qty = models.IntegerField()
    max_qty = models.IntegerField()
    current_min = models.IntegerField()
    current_max = models.IntegerField()
    changed = models.BooleanField(default=False)
    demand_class = models.CharField(max_length=16, blank=True)
    explanation = models.JSONField(default=dict)
    # Expected effect at the recommended levels against the current ones.
    fill_current = models.FloatField(null=True)
    fill_recommended = models.FloatField(null=True)
    stock_value_current = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    stock_value_recommended = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    orders_per_month_current = models.FloatField(default=0)
    orders_per_month_recommended = models.FloatField(default=0)
    value_freed = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    fill_gained = models.FloatField(default=0)
    # The newest ledger row the computation saw: a later one means the history changed.
    history_mark = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=RecommendationStatus.choices, default=RecommendationStatus.PENDING
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-value_freed", "-fill_gained", "bin_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_qty__gte=0) & Q(min_qty__lte=models.F("max_qty")),
                name="recommendation_levels_ordered",
            )
        ]
        indexes = [
            models.Index(fields=["vendor", "customer", "changed"]),
            models.Index(fields=["vendor", "customer", "site"]),
            models.Index(fields=["vendor", "computed_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.bin_id}: {self.min_qty}/{self.max_qty}"


class DemandPolicy(models.Model):
    """What a rep pins: for the whole customer (no item, no bin), an item, or one bin.

    The most specific row that sets a field wins: bin, then item, then customer.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(
        Item, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    bin = models.ForeignKey(Bin, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target_fill = models.FloatField(null=True, blank=True)
    floor_min = models.IntegerField(null=True, blank=True)
    opt_out = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "item_id", "bin_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(item__isnull=True, bin__isnull=True),
                name="demand_policy_one_per_customer",
            ),
            models.UniqueConstraint(
                fields=["customer", "item"],
                condition=Q(item__isnull=False, bin__isnull=True),
                name="demand_policy_one_per_item",
            ),
            models.UniqueConstraint(
                fields=["bin"], condition=Q(bin__isnull=False), name="demand_policy_one_per_bin"
            ),
            models.CheckConstraint(
                condition=Q(target_fill__isnull=True)
                | (Q(target_fill__gte=0.5) & Q(target_fill__lte=0.999)),
                name="demand_policy_target_fill_range",
            ),
            models.CheckConstraint(
                condition=Q(floor_min__isnull=True) | Q(floor_min__gte=0),
                name="demand_policy_floor_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["vendor", "customer"])]

    def __str__(self) -> str:
        return f"policy {self.customer_id}/{self.item_id}/{self.bin_id}"


class BacktestStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Backtest(models.Model):
    """A replay of a customer's real demand against variants of levels; the result kept."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    params = models.JSONField(default=dict)
    status = models.CharField(
        max_length=8, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["vendor", "customer", "created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"backtest {self.pk} ({self.status})"


# The service scorecard keeps its models in its own module.
# Usage analytics keeps its models in its own module (insight/analytics/).
from insight.analytics.models import UsageDaily, UsageSiteDaily  # noqa: E402, F401
from insight.scorecard.models import (  # noqa: E402, F401
    ScorecardCurrent,
    ScorecardMonth,
    ScorecardTarget,
)

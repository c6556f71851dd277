"""Scorecard targets (what a customer and its vendor agreed) and monthly snapshots.

A foreign key with `db_index=False` is served by a composite index or unique
constraint that starts with it: its own index would only be written on every insert
(tests/test_indexes.py fails on such a covered index).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cmi.models import Customer, Vendor
from cmi.scoping import ScopedQuerySet
from insight.scorecard.metrics import METRICS


class ScorecardTarget(models.Model):
    """One agreed target of one customer, e.g. 855 within 4 hours (p90) or 98% on time.

    Set by the vendor's admins and reps; the customer's people see it beside the actuals.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    metric = models.CharField(max_length=32, choices=[(m.key, m.label) for m in METRICS])
    target = models.DecimalField(max_digits=12, decimal_places=2)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "metric"], name="scorecard_target_one_per_metric"
            ),
            models.CheckConstraint(
                condition=models.Q(target__gte=0), name="scorecard_target_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["vendor", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.metric} {self.target}"


class ScorecardMonth(models.Model):
    """A closed month's figures of one customer, so the vendor's page across many
        customers and the trend read rows instead of replaying the month.

        Written on the 1st by a beat task for the month just ended; rebuilt from the
        source tables by `manage.py scorecard_rebuild`. The current month is stored apart
    (`ScorecardCurrent`), every few minutes.
    """

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month = models.DateField()  # the 1st
    values = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "month"], name="scorecard_month_once_per_customer"
            )
        ]
        indexes = [models.Index(fields=["vendor", "month"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m}"


class ScorecardCurrent(models.Model):
    """The current month's figures of one customer so far, stored by a beat task every
    SCORECARD_CURRENT_MINUTES so that pages read a row instead of replaying the month
    per request. `computed_at` is their age (the API's `as_of`). One row per customer,
    replaced each run; a closed month is read from `ScorecardMonth`, never from here.
    """

    vendor = models.ForeignKey(  # served by the (vendor, month) index
        Vendor, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()  # the 1st, in the customer's time zone
    values = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    objects = ScopedQuerySet.as_manager()

    class Meta:
        ordering = ["customer_id"]
        indexes = [models.Index(fields=["vendor", "month"], name="scorecard_current_month")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m} as of {self.computed_at:%Y-%m-%d %H:%M}"

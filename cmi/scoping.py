"""The scope: who is asking, resolved once per request from the principal.

Every query of tenant-owned rows goes through `Model.objects.for_scope(scope)`.
There is no default manager that filters by magic: related lookups would bypass it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import models

VENDOR_STAFF = frozenset({"vendor_admin", "vendor_rep"})
CUSTOMER_USERS = frozenset({"customer_manager", "customer_staff"})


@dataclass(frozen=True)
class Scope:
    vendor_id: int
    role: str  # a membership role, "device" or "erp"
    # None: every customer of the vendor. Otherwise only these.
    customer_ids: frozenset[int] | None = None
    site_id: int | None = None  # a device bound to one site
    user_id: int | None = None
    device_id: int | None = None
    erp_key_id: int | None = None
    timezone: str = "UTC"  # the vendor's zone, for the vendor's own pages
    # A device's last_seen_at as its token lookup read it: the ingest writes it only
    # when older than a minute, and needs no statement to know that.
    device_seen_at: dt.datetime | None = field(default=None, compare=False, hash=False)
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_vendor_staff(self) -> bool:
        return self.role in VENDOR_STAFF

    @property
    def is_customer_user(self) -> bool:
        return self.role in CUSTOMER_USERS

    @property
    def customer_id(self) -> int | None:
        """The one customer of a customer user or device."""
        if self.customer_ids is not None and len(self.customer_ids) == 1:
            return next(iter(self.customer_ids))
        return None

    def sees_customer(self, customer_id: int) -> bool:
        return self.customer_ids is None or customer_id in self.customer_ids


class ScopedQuerySet(models.QuerySet):
    """Rows carry `vendor`; the model names its customer field in `scope_customer_field`."""

    def for_scope(self, scope: Scope) -> ScopedQuerySet:
        qs = self.filter(vendor_id=scope.vendor_id)
        field_name = getattr(self.model, "scope_customer_field", "customer")
        if scope.customer_ids is not None and field_name:
            lookup = "id__in" if field_name == "id" else f"{field_name}_id__in"
            qs = qs.filter(**{lookup: scope.customer_ids})
        return qs

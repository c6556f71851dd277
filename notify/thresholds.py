"""How long a condition lasts before it is news: the alert thresholds.

For one customer and one kind the hours come from, first to last: the customer's own
row, the vendor's default row (customer empty), the NOTIFY_* setting. `threshold_hours`
answers one question in one query; `thresholds_load` reads every row of a vendor in
one query, so the periodic checks ask per customer at a fixed number of queries.
`alert_thresholds_set` is the one writer (API and portal), audited like every setting.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from cmi.errors import ApiError
from cmi.models import Customer, Role
from cmi.scoping import Scope
from cmi.services import ObjectChange, setting_changes_record
from notify.models import THRESHOLD_MAX_HOURS, AlertThreshold, ThresholdKind

KINDS: tuple[str, ...] = tuple(ThresholdKind.values)
SETTING_OF: dict[str, str] = {
    ThresholdKind.BELOW_MIN: "NOTIFY_BELOW_MIN_HOURS",
    ThresholdKind.APPROVAL_WAITING: "NOTIFY_APPROVAL_HOURS",
    ThresholdKind.SCANNER_SILENT: "NOTIFY_SCANNER_SILENT_HOURS",
}


class ThresholdCode(enum.StrEnum):
    """Stable error codes of the thresholds (API `error.code`, field: the kind)."""

    INVALID_HOURS = "invalid_threshold_hours"
    UNKNOWN = "unknown_threshold"


class Source(enum.StrEnum):
    CUSTOMER = "customer"
    VENDOR = "vendor"
    DEFAULT = "default"


def setting_hours(kind: str) -> int:
    return int(getattr(settings, SETTING_OF[kind]))


@dataclass(frozen=True)
class Thresholds:
    """A vendor's rows: {(customer id or None, kind): hours}."""

    vendor_id: int
    rows: Mapping[tuple[int | None, str], int]

    def resolve(self, customer_id: int | None, kind: str) -> tuple[int, Source]:
        if customer_id is not None and (customer_id, kind) in self.rows:
            return self.rows[(customer_id, kind)], Source.CUSTOMER
        if (None, kind) in self.rows:
            return self.rows[(None, kind)], Source.VENDOR
        return setting_hours(kind), Source.DEFAULT

    def hours(self, customer_id: int | None, kind: str) -> int:
        return self.resolve(customer_id, kind)[0]


def thresholds_load(
    *, vendor_id: int, customer_id: int | None = None, defaults_only: bool = False
) -> Thresholds:
    """Every threshold row of the vendor (or only its defaults, and one customer's when
    named), in one query."""
    qs = AlertThreshold.objects.filter(vendor_id=vendor_id)
    if defaults_only:
        qs = qs.filter(customer__isnull=True)
    elif customer_id is not None:
        qs = qs.filter(Q(customer_id=customer_id) | Q(customer__isnull=True))
    rows = {(c, k): h for c, k, h in qs.values_list("customer_id", "kind", "hours")}
    return Thresholds(vendor_id=vendor_id, rows=rows)


def scanner_silent_after(*, vendor_id: int, customer_id: int) -> dt.timedelta:
    """How long one customer's scanner may be quiet before it is shown (and alerted) as
    silent: the portal pages and the periodic check agree."""
    hours = threshold_hours(
        vendor_id=vendor_id, customer_id=customer_id, kind=ThresholdKind.SCANNER_SILENT
    )
    return dt.timedelta(hours=hours)


def threshold_hours(*, vendor_id: int, customer_id: int | None, kind: str) -> int:
    """The hours one kind waits for one customer (None: the vendor's default)."""
    if kind not in SETTING_OF:
        raise ApiError(ThresholdCode.UNKNOWN, f"{kind!r} has no threshold.", field=kind)
    loaded = thresholds_load(
        vendor_id=vendor_id, customer_id=customer_id, defaults_only=customer_id is None
    )
    return loaded.hours(customer_id, kind)


# --- the writer --------------------------------------------------------------------


def hours_problem(kind: str, hours: object) -> ApiError | None:
    """What is wrong with setting `kind` to `hours` (None clears it); None when fine."""
    if kind not in SETTING_OF:
        return ApiError(
            ThresholdCode.UNKNOWN,
            f"{kind!r} has no threshold; known: {', '.join(KINDS)}.",
            field=kind,
        )
    if hours is None:
        return None
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int)
        or not 1 <= hours <= THRESHOLD_MAX_HOURS
    ):
        return ApiError(
            ThresholdCode.INVALID_HOURS,
            f"Hours are a whole number from 1 to {THRESHOLD_MAX_HOURS}.",
            field=kind,
        )
    return None


@transaction.atomic
def alert_thresholds_set(
    *,
    scope: Scope,
    customer_id: int | None,
    hours: Mapping[str, int | None],
    source: str = "api",
) -> Thresholds:
    """Set (a number) or clear (None: inherit) some kinds' hours, for one customer or,
    with customer_id None, the vendor's defaults. The kinds not named stay as they are.

    Vendor defaults: vendor admins only. A customer's: vendor staff who see it. A
    customer outside the scope is a 404; a customer user who sees it gets a 403.
    Nothing is written unless every kind and value is valid."""
    customer = None
    if customer_id is not None:
        customer = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
        if customer is None:
            raise ApiError("not_found", "Not found.", status_code=404)
        if not scope.is_vendor_staff:
            raise ApiError(
                "permission_denied",
                "Only the vendor's staff change a customer's alert thresholds.",
                status_code=403,
            )
    elif scope.role != Role.VENDOR_ADMIN:
        raise ApiError(
            "permission_denied",
            "Only the vendor's admins change the default alert thresholds.",
            status_code=403,
        )
    for kind, value in hours.items():
        problem = hours_problem(kind, value)
        if problem is not None:
            raise problem
    mine = AlertThreshold.objects.select_for_update().filter(
        vendor_id=scope.vendor_id, kind__in=list(hours)
    )
    mine = mine.filter(customer_id=customer_id) if customer_id else mine.filter(customer=None)
    before = {row.kind: row.hours for row in mine.order_by("pk")}
    cleared = [kind for kind, value in hours.items() if value is None and kind in before]
    if cleared:
        mine.filter(kind__in=cleared).delete()
    for kind, value in sorted(hours.items()):
        if value is None or before.get(kind) == value:
            continue
        AlertThreshold.objects.update_or_create(
            vendor_id=scope.vendor_id,
            customer_id=customer_id,
            kind=kind,
            defaults={"hours": value},
        )
    setting_changes_record(
        vendor_id=scope.vendor_id,
        user_id=scope.user_id,
        source=source,
        changes=[
            ObjectChange(
                customer_id=customer_id,
                object_type="customer" if customer else "vendor",
                object_id=customer.pk if customer else scope.vendor_id,
                object_label=customer.code if customer else "",
                before={f"alert_hours.{k}": before.get(k) for k in hours},
                after={f"alert_hours.{k}": v for k, v in hours.items()},
            )
        ],
    )
    return thresholds_load(
        vendor_id=scope.vendor_id, customer_id=customer_id, defaults_only=customer_id is None
    )


# --- the read both the API and the portal show ---------------------------------------


@dataclass(frozen=True)
class Effective:
    kind: str
    label: str
    hours: int  # what applies
    source: Source  # where it comes from
    own: int | None  # set at this level (customer, or the vendor's default)
    inherited: int  # what applies when `own` is cleared


def thresholds_effective(*, scope: Scope, customer_id: int | None) -> list[Effective]:
    """Every kind with its hours and their source, for one customer (404 outside the
    scope) or the vendor's defaults. Two queries with a customer, one without."""
    if (
        customer_id is not None
        and not Customer.objects.for_scope(scope).filter(pk=customer_id).exists()
    ):
        raise ApiError("not_found", "Not found.", status_code=404)
    loaded = thresholds_load(
        vendor_id=scope.vendor_id, customer_id=customer_id, defaults_only=customer_id is None
    )
    return effective_rows(loaded, customer_id)


def effective_rows(loaded: Thresholds, customer_id: int | None) -> list[Effective]:
    """The rows of `thresholds_effective` from thresholds already read (no query)."""
    out = []
    for kind in KINDS:
        hours, source = loaded.resolve(customer_id, kind)
        own = loaded.rows.get((customer_id, kind))
        parent = loaded.resolve(None, kind)[0] if customer_id is not None else setting_hours(kind)
        out.append(
            Effective(
                kind=kind,
                label=ThresholdKind(kind).label,
                hours=hours,
                source=source,
                own=own,
                inherited=parent,
            )
        )
    return out

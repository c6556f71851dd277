"""Writes for tenancy: ERP keys, personal API tokens, customers' settings, and the
audit of every setting change (`setting_changes_record`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from cmi import tokens
from cmi.errors import ApiError
from cmi.models import ApiToken, ErpKey, JobWatermark, SettingChange, SettingSource
from cmi.scoping import Scope


@dataclass(frozen=True)
class ObjectChange:
    """One object's settings before and after a write (only the fields it may change)."""

    customer_id: int | None
    object_type: str
    object_id: int
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    object_label: str = ""


def _plain(value: Any) -> Any:
    """The value as the JSON column will hold it (Decimal and dates as text)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def setting_changes_record(
    *,
    vendor_id: int,
    user_id: int | None,
    source: str,
    changes: Iterable[ObjectChange],
) -> list[SettingChange]:
    """The one writer of the settings audit: a row per field whose value changed, for
    any number of objects in one INSERT. Called inside the write's transaction by every
    entry point (API, portal, import, bulk adjustment, admin, recommendations)."""
    source = SettingSource(source)  # an unknown source is a programming error
    now = timezone.now()
    rows = []
    for change in changes:
        for name, new in change.after.items():
            old = change.before.get(name)
            if _plain(old) == _plain(new):
                continue
            rows.append(
                SettingChange(
                    vendor_id=vendor_id,
                    customer_id=change.customer_id,
                    object_type=change.object_type,
                    object_id=change.object_id,
                    object_label=change.object_label[:100],
                    field=name,
                    before=_plain(old),
                    after=_plain(new),
                    user_id=user_id,
                    source=source,
                    at=now,
                )
            )
    return SettingChange.objects.bulk_create(rows)


@transaction.atomic
def erp_key_create(*, vendor_id: int, name: str = "") -> tuple[ErpKey, str]:
    plain, digest = tokens.token_new(tokens.ERP_PREFIX)
    key = ErpKey.objects.create(
        vendor_id=vendor_id, name=name, token_hash=digest, prefix=plain[:10]
    )
    return key, plain


@transaction.atomic
def erp_key_revoke(*, scope: Scope, key_id: int) -> ErpKey:
    key = ErpKey.objects.for_scope(scope).filter(pk=key_id).first()
    if key is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


@transaction.atomic
def api_token_create(*, user, name: str = "") -> tuple[ApiToken, str]:
    plain, digest = tokens.token_new(tokens.USER_PREFIX)
    token = ApiToken.objects.create(
        user=user,
        vendor_id=user.membership.vendor_id,
        name=name,
        token_hash=digest,
        prefix=plain[:10],
    )
    return token, plain


@transaction.atomic
def api_token_revoke(*, user, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


@transaction.atomic
def customer_update(*, scope: Scope, customer_id: int, source: str = "api", **fields):
    """Release policy, cutoff times, time zone, auto-release consolidation (window and
    minimum value) and names; vendor admins only (checked by the view). Audited field
    by field."""
    from cmi.models import Customer, ReleasePolicy

    customer = Customer.objects.for_scope(scope).select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    names = [n for n in CUSTOMER_SETTINGS if n in fields]
    before = {name: getattr(customer, name) for name in names}
    for name in names:
        setattr(customer, name, fields[name])
    if customer.release_policy == ReleasePolicy.SCHEDULED and not customer.cutoff_times:
        raise ApiError(
            "missing_cutoff_times",
            "A scheduled policy needs at least one cutoff time.",
            field="cutoff_times",
        )
    customer.save()
    setting_changes_record(
        vendor_id=customer.vendor_id,
        user_id=scope.user_id,
        source=source,
        changes=[
            ObjectChange(
                customer_id=customer.pk,
                object_type="customer",
                object_id=customer.pk,
                object_label=customer.code,
                before=before,
                after={name: getattr(customer, name) for name in names},
            )
        ],
    )
    return customer


CUSTOMER_SETTINGS = (
    "name",
    "account_number",
    "release_policy",
    "cutoff_times",
    "timezone",
    "consolidation_minutes",
    "consolidation_min_value",
)


@transaction.atomic
def vendor_update(*, scope: Scope, source: str = "api", timezone: str) -> Any:
    """The vendor's own settings (its time zone); vendor admins only. Audited."""
    import zoneinfo

    from cmi.models import Role, Vendor

    if scope.role != Role.VENDOR_ADMIN:
        raise ApiError("permission_denied", "Only vendor admins change these.", status_code=403)
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ApiError(
            "invalid_timezone", f"{timezone!r} is not a time zone.", field="timezone"
        ) from None
    vendor = Vendor.objects.select_for_update().get(pk=scope.vendor_id)
    before = {"timezone": vendor.timezone}
    vendor.timezone = timezone
    vendor.save(update_fields=["timezone"])
    setting_changes_record(
        vendor_id=vendor.pk,
        user_id=scope.user_id,
        source=source,
        changes=[
            ObjectChange(
                customer_id=None,
                object_type="vendor",
                object_id=vendor.pk,
                object_label=vendor.code,
                before=before,
                after={"timezone": vendor.timezone},
            )
        ],
    )
    return vendor


@transaction.atomic
def customer_reps_assign(
    *, scope: Scope, customer_id: int, rep_user_ids: list[int], source: str = "api"
):
    """Exactly these reps of the vendor are assigned to the customer; vendor admins only.

    A rep with assigned customers sees only those (a rep with none sees them all, see
    cmi.tenancy), so this only adds and removes this customer's rows. An id that is not
    an active rep of this vendor is refused whole, whether it is another vendor's user,
    a customer user or no user at all: the answer tells nothing about which.
    """
    from cmi.models import Customer, Membership, Role

    if scope.role != Role.VENDOR_ADMIN:
        raise ApiError("permission_denied", "Only vendor admins assign reps.", status_code=403)
    customer = Customer.objects.for_scope(scope).select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    wanted = set(rep_user_ids)
    # An id no bigint holds is simply not a rep (SQLite would raise rather than find none).
    in_range = {pk for pk in wanted if 0 < pk < 2**63}
    reps = list(
        Membership.objects.filter(
            vendor_id=scope.vendor_id,
            role=Role.VENDOR_REP,
            user_id__in=in_range,
            user__is_active=True,
        ).order_by("pk")
    )
    if len(reps) != len(wanted):
        raise ApiError(
            "not_a_rep",
            "Only active reps of this vendor can be assigned to its customers.",
            field="rep_user_ids",
        )
    through = Membership.assigned_customers.through
    keep = {rep.pk for rep in reps}
    before = sorted(
        through.objects.filter(customer_id=customer.pk).values_list(
            "membership__user_id", flat=True
        )
    )
    through.objects.filter(customer_id=customer.pk).exclude(membership_id__in=keep).delete()
    through.objects.bulk_create(
        [through(membership_id=pk, customer_id=customer.pk) for pk in sorted(keep)],
        ignore_conflicts=True,
    )
    setting_changes_record(
        vendor_id=customer.vendor_id,
        user_id=scope.user_id,
        source=source,
        changes=[
            ObjectChange(
                customer_id=customer.pk,
                object_type="customer",
                object_id=customer.pk,
                object_label=customer.code,
                before={"reps": before},
                after={"reps": sorted(rep.user_id for rep in reps)},
            )
        ],
    )
    return reps


# --- job watermarks -------------------------------------------------------------


def watermark_get(*, name: str, default: dt.datetime) -> dt.datetime:
    mark = JobWatermark.objects.filter(name=name).values_list("reached_at", flat=True).first()
    return mark or default


def watermark_advance(*, name: str, to: dt.datetime) -> None:
    """Move the mark forward, never back (two overlapping runs cannot rewind it)."""
    with transaction.atomic():
        mark, created = JobWatermark.objects.select_for_update().get_or_create(
            name=name, defaults={"reached_at": to}
        )
        if not created and mark.reached_at < to:
            mark.reached_at = to
            mark.save(update_fields=["reached_at"])

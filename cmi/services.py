"""Writes for tenancy: ERP keys and personal API tokens."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from cmi import tokens
from cmi.errors import ApiError
from cmi.models import ApiToken, ErpKey, JobWatermark
from cmi.scoping import Scope


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
def customer_update(*, scope: Scope, customer_id: int, **fields):
    """Release policy, cutoff times, time zone and names; vendor admins only (checked by the view)."""
    from cmi.models import Customer, ReleasePolicy

    customer = Customer.objects.for_scope(scope).select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    for name in ("name", "account_number", "release_policy", "cutoff_times", "timezone"):
        if name in fields:
            setattr(customer, name, fields[name])
    if customer.release_policy == ReleasePolicy.SCHEDULED and not customer.cutoff_times:
        raise ApiError(
            "missing_cutoff_times",
            "A scheduled policy needs at least one cutoff time.",
            field="cutoff_times",
        )
    customer.save()
    return customer


@transaction.atomic
def customer_reps_assign(*, scope: Scope, customer_id: int, rep_user_ids: list[int]):
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
    through.objects.filter(customer_id=customer.pk).exclude(membership_id__in=keep).delete()
    through.objects.bulk_create(
        [through(membership_id=pk, customer_id=customer.pk) for pk in sorted(keep)],
        ignore_conflicts=True,
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

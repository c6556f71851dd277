"""Helpers of the alerts tests: who is who in the world, and hearing every event."""

from __future__ import annotations

from cmi.models import DomainEvent, Role
from cmi.tasks import events_dispatch
from notify.models import EmailDelivery, Notification
from notify.services import event_hear
from tests.factories import user_make


def people(world) -> dict[str, object]:
    """Everyone of both vendors by a short name, plus a rep of vendor A assigned to
    customer 1 only (who must never hear of customer 0)."""
    va, vb = world["a"], world["b"]
    if "rep_c1" not in world:
        rep_c1 = user_make(va.vendor, Role.VENDOR_REP)
        rep_c1.membership.assigned_customers.add(va.customers[1].customer)
        world["rep_c1"] = rep_c1
    out = {
        "admin": va.admin,
        "rep": va.rep,
        "rep_c1": world["rep_c1"],
        "b_admin": vb.admin,
        "b_rep": vb.rep,
    }
    for i, cw in enumerate(va.customers):
        out[f"manager{i}"] = cw.manager
        out[f"staff{i}"] = cw.staff
    for i, cw in enumerate(vb.customers):
        out[f"b_manager{i}"] = cw.manager
        out[f"b_staff{i}"] = cw.staff
    return out


def hear_all(twice: bool = True) -> list[DomainEvent]:
    """Dispatch every undispatched event as the worker would; then hand each to the
    listener again (a redelivered message): nothing may be written twice."""
    pending = list(DomainEvent.objects.filter(dispatched_at__isnull=True).order_by("pk"))
    for event in pending:
        assert events_dispatch(event.vendor_id, event.pk) is True
    if twice:
        for event in pending:
            assert events_dispatch(event.vendor_id, event.pk) is False
            event_hear(event)
    return pending


def who(model, kind: str, world) -> list[str]:
    """Names of the people with a row of `kind`, one entry per row (so twice shows)."""
    names = {u.pk: name for name, u in people(world).items()}
    return sorted(
        names.get(user_id, f"user{user_id}")
        for user_id in model.objects.filter(kind=kind).values_list("user_id", flat=True)
    )


def in_app(kind: str, world) -> list[str]:
    return who(Notification, kind, world)


def mailed(kind: str, world) -> list[str]:
    return who(EmailDelivery, kind, world)

"""Reads of the alerts: a user's notifications and their effective choices."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from cmi.events import KINDS
from cmi.scoping import Scope
from notify.defaults import default_channels, kinds_for_role
from notify.models import Channel, Notification, Subscription


def notification_list(*, scope: Scope, unread: bool | None = None) -> QuerySet[Notification]:
    """The signed-in user's own notifications, newest first (nobody sees another's)."""
    qs = Notification.objects.filter(vendor_id=scope.vendor_id, user_id=scope.user_id)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    return qs.order_by("-created_at", "-id")


def unread_count(*, scope: Scope) -> int:
    return notification_list(scope=scope, unread=True).count()


@dataclass(frozen=True)
class Effective:
    kind: str
    title: str
    description: str
    channel: str
    enabled: bool
    digest: bool
    customer_id: int | None
    site_id: int | None
    explicit: bool  # False: the role's default


def subscriptions_effective(*, scope: Scope) -> list[Effective]:
    """Every kind the user may hear of, per channel: their choice, else the default."""
    chosen = {
        (s.kind, s.channel): s
        for s in Subscription.objects.filter(vendor_id=scope.vendor_id, user_id=scope.user_id)
    }
    out = []
    for kind in kinds_for_role(scope.role):
        spec = KINDS[kind]
        for channel in (Channel.EMAIL, Channel.IN_APP):
            sub = chosen.get((kind, channel))
            out.append(
                Effective(
                    kind=kind,
                    title=spec.title,
                    description=spec.description,
                    channel=channel,
                    enabled=sub.enabled if sub else channel in default_channels(scope.role, kind),
                    digest=bool(sub and sub.digest),
                    customer_id=sub.customer_id if sub else None,
                    site_id=sub.site_id if sub else None,
                    explicit=sub is not None,
                )
            )
    return out

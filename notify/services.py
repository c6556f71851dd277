"""Writes of the alerts: hearing a domain event, reading, choosing, unsubscribing.

`event_hear` is the listener named in settings.DOMAIN_EVENT_LISTENERS. It decides who
hears of the event (the audience rules), through which channel (their choices, else
their role's defaults), writes the rows keyed on the event (so hearing it twice
writes nothing twice) and queues the mails once the transaction commits. Its query
count does not depend on how many people hear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from cmi.broker import publish_on_commit
from cmi.errors import ApiError
from cmi.events import KINDS
from cmi.models import CUSTOMER_ROLES, Customer, DomainEvent, Membership, Role
from cmi.scoping import Scope
from notify.content import told
from notify.defaults import default_channels, kinds_for_role
from notify.models import Channel, DeliveryStatus, EmailDelivery, Notification, Subscription
from stocking.models import Site

# Kinds whose news repeats while the subject flaps: mailed once per window.
DEDUPED_KINDS = frozenset(
    {"bin.at_zero", "bin.below_min_unordered", "scanner.silent", "edi.ack_overdue"}
)
# Mails that count against the hourly cap per user.
SENT_OR_GOING = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SENT)
UNSUBSCRIBE_SALT = "notify.unsubscribe"


# --- the listener ------------------------------------------------------------------


def audience(event: DomainEvent) -> list[Membership]:
    """Who may hear of the event: the customer's own people, the reps assigned to the
    customer (or reps without assignments), the vendor's admins. A vendor-wide event:
    the vendor's staff only. Active users only; one query."""
    through = Membership.assigned_customers.through
    vendor_staff = Q(role=Role.VENDOR_ADMIN) | Q(role=Role.VENDOR_REP)
    if event.customer_id is not None:
        has_any = Exists(through.objects.filter(membership_id=OuterRef("pk")))
        has_this = Exists(
            through.objects.filter(membership_id=OuterRef("pk"), customer_id=event.customer_id)
        )
        who = (
            Q(role=Role.VENDOR_ADMIN)
            | (Q(role=Role.VENDOR_REP) & (~has_any | has_this))
            | Q(role__in=sorted(CUSTOMER_ROLES), customer_id=event.customer_id)
        )
    else:
        who = vendor_staff
    return list(
        Membership.objects.filter(who, vendor_id=event.vendor_id, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
    )


@dataclass(frozen=True)
class Wants:
    in_app: bool
    email: bool
    digest: bool


def _wants(
    member: Membership, event: DomainEvent, chosen: Mapping[tuple[int, str], Subscription]
) -> Wants:
    defaults = default_channels(member.role, event.kind)
    out = {}
    digest = False
    for channel in (Channel.IN_APP, Channel.EMAIL):
        sub = chosen.get((member.user_id, channel))
        if sub is None:
            out[channel] = channel in defaults
            continue
        narrowed_away = (sub.customer_id and sub.customer_id != event.customer_id) or (
            sub.site_id and sub.site_id != event.site_id
        )
        out[channel] = sub.enabled and not narrowed_away
        if channel == Channel.EMAIL:
            digest = sub.digest
    return Wants(in_app=out[Channel.IN_APP], email=out[Channel.EMAIL], digest=digest)


def dedup_key(event: DomainEvent) -> str:
    return f"{event.kind}:{event.subject_type}:{event.subject_id}"[:120]


def event_hear(event: DomainEvent) -> None:
    """Write the event's notifications and mails (idempotent: keyed on the event)."""
    if event.kind not in KINDS:
        return
    members = audience(event)
    if not members:
        return
    user_ids = [m.user_id for m in members]
    chosen = {
        (s.user_id, s.channel): s
        for s in Subscription.objects.filter(user_id__in=user_ids, kind=event.kind)
    }
    wants = {m.user_id: _wants(m, event, chosen) for m in members}
    what = told(event)
    Notification.objects.bulk_create(
        [
            Notification(
                vendor_id=event.vendor_id,
                user_id=m.user_id,
                event_id=event.pk,
                customer_id=event.customer_id,
                kind=event.kind,
                title=what.title,
                body=what.body,
                link=what.link,
                created_at=event.occurred_at,
            )
            for m in members
            if wants[m.user_id].in_app
        ],
        ignore_conflicts=True,
    )
    mailed = [m for m in members if wants[m.user_id].email and m.user.email]
    if not mailed:
        return
    _deliveries_write(event, mailed, wants)


def _deliveries_write(event: DomainEvent, mailed: list[Membership], wants: dict) -> None:
    now = timezone.now()
    key = dedup_key(event)
    ids = [m.user_id for m in mailed]
    recent: set[int] = set()
    if event.kind in DEDUPED_KINDS:
        window = now - dt.timedelta(hours=settings.NOTIFY_DEDUP_HOURS)
        recent = set(
            EmailDelivery.objects.filter(user_id__in=ids, dedup_key=key, created_at__gte=window)
            .exclude(event_id=event.pk)
            .exclude(status=DeliveryStatus.SUPPRESSED)
            .values_list("user_id", flat=True)
        )
    hour = now - dt.timedelta(hours=1)
    sent_this_hour = dict(
        EmailDelivery.objects.filter(
            user_id__in=ids, created_at__gte=hour, status__in=SENT_OR_GOING
        )
        .exclude(event_id=event.pk)
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )

    def status_for(m: Membership) -> str:
        if m.user_id in recent:
            return DeliveryStatus.SUPPRESSED
        if wants[m.user_id].digest or sent_this_hour.get(m.user_id, 0) >= (
            settings.NOTIFY_MAILS_PER_HOUR
        ):
            return DeliveryStatus.DIGEST  # over the cap: it waits for the next digest
        return DeliveryStatus.PENDING

    EmailDelivery.objects.bulk_create(
        [
            EmailDelivery(
                vendor_id=event.vendor_id,
                user_id=m.user_id,
                event_id=event.pk,
                kind=event.kind,
                dedup_key=key,
                to=m.user.email,
                status=status_for(m),
                created_at=now,
            )
            for m in mailed
        ],
        ignore_conflicts=True,
    )
    pending = EmailDelivery.objects.filter(
        event_id=event.pk, status=DeliveryStatus.PENDING
    ).values_list("pk", flat=True)
    from notify.tasks import email_send

    for pk in pending:
        publish_on_commit(email_send, args=(event.vendor_id, pk))


# --- reading --------------------------------------------------------------------------


@transaction.atomic
def notifications_mark_read(*, scope: Scope, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all when no ids); another's ids are a 404."""
    qs = Notification.objects.filter(
        vendor_id=scope.vendor_id, user_id=scope.user_id, read_at__isnull=True
    )
    if notification_ids is not None:
        ids = set(notification_ids)
        mine = set(
            Notification.objects.filter(
                vendor_id=scope.vendor_id, user_id=scope.user_id, pk__in=ids
            ).values_list("pk", flat=True)
        )
        if ids - mine:
            raise ApiError("not_found", "Not found.", status_code=404)
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


# --- choosing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    kind: str
    channel: str
    enabled: bool
    digest: bool = False
    customer_id: int | None = None
    site_id: int | None = None


@transaction.atomic
def subscriptions_set(*, scope: Scope, choices: list[Choice]) -> list[Subscription]:
    """The user's own choices, one per kind and channel; scope ids checked (404)."""
    allowed = set(kinds_for_role(scope.role))
    for c in choices:
        if c.kind not in allowed:
            raise ApiError("unknown_kind", f"No event kind {c.kind!r} for you.", field="kind")
        if c.channel not in Channel.values:
            raise ApiError("unknown_channel", f"No channel {c.channel!r}.", field="channel")
    customer_ids = {c.customer_id for c in choices if c.customer_id}
    if customer_ids and Customer.objects.for_scope(scope).filter(
        pk__in=customer_ids
    ).count() != len(customer_ids):
        raise ApiError("not_found", "Not found.", status_code=404)
    site_ids = {c.site_id for c in choices if c.site_id}
    if site_ids and Site.objects.for_scope(scope).filter(pk__in=site_ids).count() != len(site_ids):
        raise ApiError("not_found", "Not found.", status_code=404)
    return Subscription.objects.bulk_create(
        [
            Subscription(
                vendor_id=scope.vendor_id,
                user_id=scope.user_id,
                kind=c.kind,
                channel=c.channel,
                enabled=c.enabled,
                digest=c.digest and c.channel == Channel.EMAIL,
                customer_id=c.customer_id,
                site_id=c.site_id,
            )
            for c in choices
        ],
        update_conflicts=True,
        unique_fields=["user", "kind", "channel"],
        update_fields=["enabled", "digest", "customer", "site", "updated_at"],
    )


# --- unsubscribing from the mail itself ---------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str | None) -> str:
    """Signed (SECRET_KEY): who and which kind (None: every kind). No login needed."""
    return signing.dumps({"u": user_id, "k": kind or "*"}, salt=UNSUBSCRIBE_SALT, compress=True)


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    vendor_id: int
    role: str
    kind: str | None


def unsubscribe_read(token: str) -> Unsubscribe:
    """What a link says; a forged or altered one is ApiError bad_token (400)."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user_id, kind = int(payload["u"]), str(payload["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ApiError("bad_token", "This unsubscribe link is not valid.") from None
    member = Membership.objects.filter(user_id=user_id).values("vendor_id", "role").first()
    if member is None or (kind != "*" and kind not in KINDS):
        raise ApiError("bad_token", "This unsubscribe link is not valid.")
    return Unsubscribe(user_id, member["vendor_id"], member["role"], None if kind == "*" else kind)


@transaction.atomic
def unsubscribe_apply(*, link: Unsubscribe, everything: bool) -> list[str]:
    """Turn mail off for the link's kind, or for every kind; returns the kinds."""
    kinds = kinds_for_role(link.role) if everything or link.kind is None else [link.kind]
    Subscription.objects.bulk_create(
        [
            Subscription(
                vendor_id=link.vendor_id,
                user_id=link.user_id,
                kind=kind,
                channel=Channel.EMAIL,
                enabled=False,
            )
            for kind in kinds
        ],
        update_conflicts=True,
        unique_fields=["user", "kind", "channel"],
        update_fields=["enabled", "updated_at"],
    )
    return kinds

"""Mails of the alerts: rendered from templates (text and HTML), each with a signed
unsubscribe link that works without signing in, sent through Django's mail backend
(console for `make run`, SMTP in production: see EMAIL_* in settings)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from cmi.models import DomainEvent
from notify.content import told
from notify.services import unsubscribe_token

UNSUBSCRIBE_PATH = "/notifications/unsubscribe/{token}/"


def absolute(path: str) -> str:
    return settings.NOTIFY_BASE_URL.rstrip("/") + path


def unsubscribe_url(*, user_id: int, kind: str | None) -> str:
    return absolute(UNSUBSCRIBE_PATH.format(token=unsubscribe_token(user_id=user_id, kind=kind)))


def _message(
    *, to: str, subject: str, template: str, context: dict, unsubscribe: str
) -> EmailMultiAlternatives:
    context = {**context, "unsubscribe_url": unsubscribe}
    text = render_to_string(f"notify/email/{template}.txt", context)
    html = render_to_string(f"notify/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # One-click unsubscribe (RFC 8058): mail clients POST to the same signed link.
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def event_message(*, to: str, user_id: int, event: DomainEvent) -> EmailMultiAlternatives:
    what = told(event)
    return _message(
        to=to,
        subject=what.title,
        template="event",
        context={
            "title": what.title,
            "body": what.body,
            "link": absolute(what.link),
            "kind": event.kind,
            "occurred_at": event.occurred_at,
            "unsubscribe_all_url": unsubscribe_url(user_id=user_id, kind=None),
        },
        unsubscribe=unsubscribe_url(user_id=user_id, kind=event.kind),
    )


def digest_message(*, to: str, user_id: int, events: list[DomainEvent]) -> EmailMultiAlternatives:
    items = [{"told": told(e), "link": absolute(told(e).link), "at": e.occurred_at} for e in events]
    url = unsubscribe_url(user_id=user_id, kind=None)
    return _message(
        to=to,
        subject=f"Your daily CMI digest: {len(items)} alerts",
        template="digest",
        context={"items": items, "unsubscribe_all_url": url},
        unsubscribe=url,
    )

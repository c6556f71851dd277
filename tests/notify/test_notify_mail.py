"""Alert mails: through a real SMTP server, at most once, retried, deduplicated,
rate-limited into the digest, and each with an unsubscribe link that works without
signing in and cannot be forged."""

from __future__ import annotations

import datetime as dt
import email
import re
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.utils import timezone

from cmi.models import DomainEvent
from notify.models import Channel, DeliveryStatus, Digest, EmailDelivery, Subscription
from notify.services import unsubscribe_token
from notify.tasks import digest_send, digests_collect, email_send
from stocking.models import Bin
from tests.conftest import bearer, scan
from tests.notify.kit import hear_all


class Inbox:
    """An aiosmtpd handler that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = _closed_port()  # aiosmtpd's start-up check cannot use port 0
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    yield inbox
    controller.stop()


def empty_bin(cw, index: int = 0) -> None:
    resp = bearer(cw.token).post(
        "/api/v1/scans",
        {"scans": [scan("issue", cw.bins[index].label, quantity=10_000)]},
        format="json",
    )
    assert resp.json()["results"][0]["status"] == "accepted"


def restock(cw, index: int = 0) -> None:
    bearer(cw.token).post(
        "/api/v1/scans",
        {"scans": [scan("receive", cw.bins[index].label, quantity=5)]},
        format="json",
    )


def send_pending() -> int:
    sent = 0
    for d in EmailDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("pk"):
        sent += email_send(d.vendor_id, d.pk)
    return sent


def test_a_mail_goes_through_a_real_smtp_server_once_with_text_html_and_unsubscribe(world, smtp):
    """The manager's bin-at-zero mail arrives at the SMTP server with a text and an HTML
    part, a link to the bin and a one-click unsubscribe header; sending again sends nothing."""
    cw = world["a"].customers[0]
    empty_bin(cw)
    hear_all()
    delivery = EmailDelivery.objects.get(user=cw.manager, kind="bin.at_zero")
    assert email_send(delivery.vendor_id, delivery.pk) is True
    assert email_send(delivery.vendor_id, delivery.pk) is False
    mine = [m for m in smtp.messages if cw.manager.email in m[1]]
    assert len(mine) == 1
    message = email.message_from_bytes(mine[0][2], policy=policy.default)
    assert message["Subject"].startswith("Bin at zero: " + cw.bins[0].label)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"/customers/{cw.customer.pk}/bins/{cw.bins[0].pk}/" in text
    assert "Stop these mails" in html and "<a href=" in html
    assert str(message["List-Unsubscribe"]).strip().startswith("<http")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)


def test_a_failed_send_is_retried_and_then_sent_once(world, smtp, settings):
    """The server is down: the task fails (Celery retries it with backoff) and the mail
    is pending again; once the server is back, it goes out, once."""
    cw = world["a"].customers[0]
    empty_bin(cw)
    hear_all()
    delivery = EmailDelivery.objects.get(user=cw.manager, kind="bin.at_zero")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = _closed_port()
    with pytest.raises(OSError):
        email_send(delivery.vendor_id, delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error
    settings.EMAIL_PORT = port
    assert email_send(delivery.vendor_id, delivery.pk) is True
    assert email_send(delivery.vendor_id, delivery.pk) is False
    assert len([m for m in smtp.messages if cw.manager.email in m[1]]) == 1


def test_a_mail_another_worker_is_sending_is_not_sent_again(world):
    """Claimed (sending) by another task: this one does nothing."""
    cw = world["a"].customers[0]
    empty_bin(cw)
    hear_all()
    delivery = EmailDelivery.objects.get(user=cw.manager, kind="bin.at_zero")
    EmailDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING)
    assert email_send(delivery.vendor_id, delivery.pk) is False
    assert mail.outbox == []


def test_a_bin_flapping_around_zero_mails_once_per_window(world, settings):
    """Zero, restocked, zero again within the window: the second is in the portal but
    not mailed; after the window it is mailed again."""
    settings.NOTIFY_DEDUP_HOURS = 6
    cw = world["a"].customers[0]
    empty_bin(cw)
    hear_all()
    restock(cw)
    empty_bin(cw)
    hear_all()
    rows = list(
        EmailDelivery.objects.filter(user=cw.manager, kind="bin.at_zero")
        .order_by("pk")
        .values_list("status", flat=True)
    )
    assert rows == [DeliveryStatus.PENDING, DeliveryStatus.SUPPRESSED]
    assert cw.manager.notifications.filter(kind="bin.at_zero").count() == 2
    EmailDelivery.objects.update(created_at=timezone.now() - dt.timedelta(hours=7))
    restock(cw)
    empty_bin(cw)
    hear_all()
    newest = EmailDelivery.objects.filter(user=cw.manager, kind="bin.at_zero").latest("pk")
    assert newest.status == DeliveryStatus.PENDING
    assert send_pending() == len(EmailDelivery.objects.filter(status=DeliveryStatus.SENT))


def test_over_the_hourly_cap_mails_wait_for_the_digest_which_goes_once(world, settings):
    """With a cap of 2 an hour, the third bin at zero goes to the daily digest; the
    digest is one mail listing it, and collecting or sending again sends nothing more."""
    settings.NOTIFY_MAILS_PER_HOUR = 2
    cw = world["a"].customers[0]
    for index in range(3):
        empty_bin(cw, index)
        hear_all()
    statuses = list(
        EmailDelivery.objects.filter(user=cw.manager, kind="bin.at_zero")
        .order_by("pk")
        .values_list("status", flat=True)
    )
    assert statuses == [DeliveryStatus.PENDING, DeliveryStatus.PENDING, DeliveryStatus.DIGEST]
    send_pending()
    day = timezone.now().date()
    (digest_id,) = [
        pk
        for pk in digests_collect(vendor_id=world["a"].vendor.pk, day=day)
        if Digest.objects.get(pk=pk).user_id == cw.manager.pk
    ]
    assert digests_collect(vendor_id=world["a"].vendor.pk, day=day) == []
    mail.outbox.clear()
    assert digest_send(world["a"].vendor.pk, digest_id) is True
    assert digest_send(world["a"].vendor.pk, digest_id) is False
    assert len(mail.outbox) == 1
    assert cw.bins[2].label in mail.outbox[0].body
    assert mail.outbox[0].to == [cw.manager.email]


def test_a_daily_digest_choice_collects_that_kinds_mails(world):
    """A user who chose the digest for a kind gets none of its mails one by one."""
    cw = world["a"].customers[0]
    Subscription.objects.create(
        vendor=world["a"].vendor,
        user=cw.manager,
        kind="bin.at_zero",
        channel=Channel.EMAIL,
        enabled=True,
        digest=True,
    )
    empty_bin(cw)
    hear_all()
    assert EmailDelivery.objects.get(user=cw.manager).status == DeliveryStatus.DIGEST


# --- unsubscribe -----------------------------------------------------------------------


def _link(text: str, label: str) -> str:
    found = re.search(label + r": (\S+)", text)
    assert found, text
    return found.group(1).split("localhost:8000", 1)[1]


def test_the_unsubscribe_link_works_without_signing_in(world, client):
    """The mail's link opens without a session; confirming stops that kind's mails, the
    next bin at zero is in the portal but not mailed, and other kinds still mail."""
    cw = world["a"].customers[0]
    empty_bin(cw)
    hear_all()
    send_pending()
    message = next(m for m in mail.outbox if m.to == [cw.manager.email])
    url = _link(message.body, "Stop these mails")
    page = client.get(url)
    assert page.status_code == 200 and b"Stop this kind" in page.content
    done = client.post(url, {"what": "kind"})
    assert done.status_code == 200 and b"no more mails of this kind" in done.content
    sub = Subscription.objects.get(user=cw.manager, kind="bin.at_zero", channel=Channel.EMAIL)
    assert sub.enabled is False
    restock(cw)
    empty_bin(cw)
    hear_all()
    assert EmailDelivery.objects.filter(user=cw.manager, kind="bin.at_zero").count() == 1
    assert cw.manager.notifications.filter(kind="bin.at_zero").count() == 2
    assert Subscription.objects.filter(user=cw.manager, enabled=False).count() == 1


def test_unsubscribe_from_everything(world, client):
    cw = world["a"].customers[0]
    url = f"/notifications/unsubscribe/{unsubscribe_token(user_id=cw.manager.pk, kind=None)}/"
    assert client.post(url, {"what": "all"}).status_code == 200
    off = set(
        Subscription.objects.filter(
            user=cw.manager, channel=Channel.EMAIL, enabled=False
        ).values_list("kind", flat=True)
    )
    assert "bin.at_zero" in off and "order.awaiting_approval" in off
    assert "delivery.failed" not in off  # a customer's people never hear of it anyway
    empty_bin(cw)
    hear_all()
    assert not EmailDelivery.objects.filter(user=cw.manager).exists()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature altered
        lambda t: "x" + t,  # payload altered
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_unsubscribe_link_changes_nothing(world, client, mangle):
    cw = world["a"].customers[0]
    token = mangle(unsubscribe_token(user_id=cw.manager.pk, kind="bin.at_zero"))
    resp = client.post(f"/notifications/unsubscribe/{token}/", {"what": "all"})
    assert resp.status_code == 400
    assert b"not valid" in resp.content
    assert not Subscription.objects.exists()


def test_a_link_signed_for_another_purpose_is_refused(world, client):
    """The token is salted: a value signed with the same key for something else fails."""
    from django.core import signing

    cw = world["a"].customers[0]
    forged = signing.dumps({"u": cw.manager.pk, "k": "*"}, compress=True)
    assert client.post(f"/notifications/unsubscribe/{forged}/").status_code == 400
    assert not Subscription.objects.exists()


def test_the_event_is_kept_after_all_its_mails_went(world):
    """The outbox refers to the event; nothing here deletes domain events."""
    cw = world["a"].customers[0]
    Bin.objects.filter(pk=cw.bins[0].pk).update(on_hand=1)
    empty_bin(cw)
    hear_all()
    send_pending()
    assert DomainEvent.objects.filter(kind="bin.at_zero").count() == 1

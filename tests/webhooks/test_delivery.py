"""Delivering webhooks to a real receiver on loopback (the SSRF guard relaxed).

Signed the Standard Webhooks way (verified with the `standardwebhooks` library),
retried on the schedule kept in the database for over 24 hours, then the endpoint is
disabled and `delivery.failed` is emitted; replays keep the message id; one delivery
per event and endpoint however often the event is dispatched; never sent twice at once.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from cmi import rls
from cmi.models import DomainEvent
from cmi.tasks import events_dispatch
from tests.factories import vendor_world
from tests.webhooks.conftest import emit_bin_at_zero
from webhooks import selectors, services
from webhooks.listeners import on_event
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.tasks import deliveries_due, delivery_send

pytestmark = pytest.mark.django_db


def endpoint_for(vw, url: str, **kwargs) -> WebhookEndpoint:
    return services.endpoint_create(scope=vw.scope, url=url, **kwargs)


def make_due(delivery: WebhookDelivery) -> None:
    """As if the time of its next attempt had come."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def one_delivery(event: DomainEvent) -> WebhookDelivery:
    return WebhookDelivery.objects.get(event=event)


def test_a_delivery_is_signed_so_the_standard_webhooks_library_verifies_it(
    world, loopback, receiver
):
    """Body {type, timestamp, data} with the event's data; the library accepts the
    headers with the endpoint's secret and refuses them with another secret."""
    va = world["a"]
    endpoint = endpoint_for(va, receiver.url)
    assert endpoint.secret.startswith("whsec_")
    event = emit_bin_at_zero(va)
    on_event(event)
    delivery = one_delivery(event)
    assert delivery_send(va.vendor.pk, delivery.pk) is True

    [got] = receiver.received
    assert got.headers["webhook-id"] == delivery.msg_id
    assert got.headers["content-type"] == "application/json"
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload == {
        "type": "bin.at_zero",
        "timestamp": event.occurred_at.isoformat(),
        "data": event.data,
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(services.outbound.secret_new()).verify(got.body, got.headers)
    tampered = got.body.replace(b'"on_hand":0', b'"on_hand":9')
    assert tampered != got.body
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(tampered, got.headers)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    [attempt] = delivery.log.all()
    assert attempt.status_code == 200 and attempt.succeeded and attempt.response_ms is not None


def test_failures_are_retried_on_the_schedule_with_the_same_message_id(world, loopback, receiver):
    """500, 500, then 200: three attempts, each only once its time (kept in the
    database) has come, with the same webhook-id; the log has all three."""
    receiver.script = [500, 500, 200]
    va = world["a"]
    endpoint_for(va, receiver.url)
    event = emit_bin_at_zero(va)
    on_event(event)
    delivery = one_delivery(event)
    schedule = services.retry_schedule()

    assert delivery_send(va.vendor.pk, delivery.pk) is True
    delivery.refresh_from_db()
    first = delivery.log.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.next_attempt_at == first.at + schedule[0]
    assert delivery_send(va.vendor.pk, delivery.pk) is False  # not due yet: nothing sent
    assert len(receiver.received) == 1

    make_due(delivery)
    assert delivery_send(va.vendor.pk, delivery.pk) is True
    delivery.refresh_from_db()
    second = delivery.log.order_by("-id").first()
    assert delivery.next_attempt_at == second.at + schedule[1]
    make_due(delivery)
    assert delivery_send(va.vendor.pk, delivery.pk) is True

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.next_attempt_at is None
    assert [a.status_code for a in delivery.log.all()] == [500, 500, 200]
    assert {r.headers["webhook-id"] for r in receiver.received} == {delivery.msg_id}
    for r in receiver.received:  # each attempt signed afresh, each verifies
        Webhook(delivery.endpoint.secret).verify(r.body, r.headers)


def test_a_delivery_that_fails_for_over_a_day_disables_the_endpoint_and_says_so(
    world, loopback, receiver
):
    """Every attempt 500: the schedule spans over 24 hours; after the last the delivery
    fails, the endpoint is disabled with its reason, the other waiting delivery fails too,
    and one `delivery.failed` event is emitted. Replay, once enabled, delivers both with
    their old message ids."""
    receiver.script = [500]
    va = world["a"]
    endpoint = endpoint_for(va, receiver.url)
    event = emit_bin_at_zero(va)
    on_event(event)
    waiting_event = emit_bin_at_zero(va, 1)
    on_event(waiting_event)
    delivery = one_delivery(event)
    schedule = services.retry_schedule()
    assert sum(schedule, dt.timedelta()) >= dt.timedelta(hours=24)

    for n in range(len(schedule) + 1):
        make_due(delivery)
        assert delivery_send(va.vendor.pk, delivery.pk) is True
        delivery.refresh_from_db()
        if n < len(schedule):
            last = delivery.log.order_by("-id").first()
            assert delivery.status == DeliveryStatus.PENDING
            assert delivery.next_attempt_at - last.at == schedule[n]

    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.log.count() == len(schedule) + 1
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "HTTP 500" in endpoint.disabled_reason
    assert one_delivery(waiting_event).status == DeliveryStatus.FAILED
    [failed] = DomainEvent.objects.filter(kind="delivery.failed")
    assert failed.vendor_id == va.vendor.pk
    assert failed.data == {
        "endpoint_id": endpoint.pk,
        "url": receiver.url,
        "last_error": "HTTP 500",
    }
    # a disabled endpoint hears nothing new and sends nothing
    on_event(emit_bin_at_zero(va))
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2

    with pytest.raises(services.Conflict):
        services.endpoint_replay_failed(scope=va.scope, endpoint_id=endpoint.pk)
    services.endpoint_update(scope=va.scope, endpoint_id=endpoint.pk, enabled=True)
    receiver.script = [200]
    receiver.received.clear()
    assert services.endpoint_replay_failed(scope=va.scope, endpoint_id=endpoint.pk) == 2
    for d in WebhookDelivery.objects.filter(endpoint=endpoint):
        assert (d.status, d.attempts) == (DeliveryStatus.PENDING, 0)
        assert delivery_send(va.vendor.pk, d.pk) is True
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert {r.headers["webhook-id"] for r in receiver.received} == set(
        WebhookDelivery.objects.values_list("msg_id", flat=True)
    )


def test_a_failing_delivery_does_not_disable_an_endpoint_that_answered_meanwhile(
    world, loopback, receiver, settings
):
    """One message the receiver keeps refusing fails alone when others got through."""
    settings.WEBHOOKS_RETRY_SCHEDULE = (60,)
    receiver.script = [500, 200, 500]
    va = world["a"]
    endpoint = endpoint_for(va, receiver.url)
    bad, good = emit_bin_at_zero(va), emit_bin_at_zero(va, 1)
    on_event(bad)
    on_event(good)
    delivery_send(va.vendor.pk, one_delivery(bad).pk)
    delivery_send(va.vendor.pk, one_delivery(good).pk)
    make_due(one_delivery(bad))
    delivery_send(va.vendor.pk, one_delivery(bad).pk)
    assert one_delivery(bad).status == DeliveryStatus.FAILED
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert not DomainEvent.objects.filter(kind="delivery.failed").exists()
    # replay one
    receiver.script = [200]
    assert (
        services.delivery_replay(
            scope=va.scope, endpoint_id=endpoint.pk, delivery_id=one_delivery(bad).pk
        )
        == 1
    )
    with pytest.raises(services.Conflict):  # succeeded: nothing to replay
        services.delivery_replay(
            scope=va.scope, endpoint_id=endpoint.pk, delivery_id=one_delivery(good).pk
        )


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(world, loopback, receiver):
    """The receiver answers 302 to another loopback path: nothing goes there."""
    receiver.script = [302]
    va = world["a"]
    endpoint_for(va, receiver.url)
    event = emit_bin_at_zero(va)
    on_event(event)
    delivery_send(va.vendor.pk, one_delivery(event).pk)
    assert [r.path for r in receiver.received] == ["/hook"]
    attempt = one_delivery(event).log.get()
    assert attempt.status_code == 302 and not attempt.succeeded
    assert "not followed" in attempt.error


def test_dispatching_an_event_twice_makes_one_delivery_per_endpoint(world, loopback):
    """The listener keys on (endpoint, event): dispatch again, call it again, one row."""
    va = world["a"]
    endpoint_for(va, "http://127.0.0.1:9/one")
    endpoint_for(va, "http://127.0.0.1:9/two")
    event = emit_bin_at_zero(va)
    assert events_dispatch(va.vendor.pk, event.pk) is True
    DomainEvent.objects.filter(pk=event.pk).update(dispatched_at=None)
    assert events_dispatch(va.vendor.pk, event.pk) is True
    on_event(event)
    assert WebhookDelivery.objects.filter(event=event).count() == 2
    ids = set(WebhookDelivery.objects.values_list("msg_id", flat=True))
    assert len(ids) == 2


def test_who_hears_what(world, loopback):
    """A vendor endpoint hears every customer's events; a customer's endpoint only its
    customer's; kinds narrow it; a disabled one and the other vendor's hear nothing."""
    va, vb = world["a"], world["b"]
    c0, c1 = va.customers[0].customer, va.customers[1].customer
    everything = endpoint_for(va, "http://127.0.0.1:9/all")
    only_c0 = endpoint_for(va, "http://127.0.0.1:9/c0", customer_id=c0.pk)
    only_orders = endpoint_for(va, "http://127.0.0.1:9/orders", kinds=["order.released"])
    off = endpoint_for(va, "http://127.0.0.1:9/off")
    services.endpoint_update(scope=va.scope, endpoint_id=off.pk, enabled=False)
    other_vendor = endpoint_for(vb, "http://127.0.0.1:9/b")
    for event in (emit_bin_at_zero(va, 0), emit_bin_at_zero(va, 1)):
        on_event(event)
    heard = {
        (d.endpoint_id, d.payload["data"]["bin_id"])
        for d in WebhookDelivery.objects.select_related("event")
    }
    assert heard == {
        (everything.pk, va.customers[0].bins[0].pk),
        (everything.pk, va.customers[1].bins[0].pk),
        (only_c0.pk, va.customers[0].bins[0].pk),
    }
    assert not WebhookDelivery.objects.filter(
        endpoint__in=[only_orders, off, other_vendor]
    ).exists()
    assert c1.pk != c0.pk


def test_the_test_event_is_a_signed_webhook_test_message(world, loopback, receiver):
    va = world["a"]
    endpoint = endpoint_for(va, receiver.url)
    delivery = services.endpoint_send_test(scope=va.scope, endpoint_id=endpoint.pk)
    assert delivery.event_id is None and not DomainEvent.objects.exists()
    delivery_send(va.vendor.pk, delivery.pk)
    [got] = receiver.received
    payload = Webhook(endpoint.secret).verify(got.body, got.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == endpoint.pk


def test_after_a_rotation_both_secrets_verify_for_a_day(world, loopback, receiver):
    va = world["a"]
    endpoint = endpoint_for(va, receiver.url)
    old = endpoint.secret
    rotated = services.endpoint_rotate_secret(scope=va.scope, endpoint_id=endpoint.pk)
    assert rotated.secret != old
    delivery_send(
        va.vendor.pk, services.endpoint_send_test(scope=va.scope, endpoint_id=endpoint.pk).pk
    )
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(got.body, got.headers)
    Webhook(rotated.secret).verify(got.body, got.headers)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_until=timezone.now() - dt.timedelta(seconds=1)
    )
    delivery_send(
        va.vendor.pk, services.endpoint_send_test(scope=va.scope, endpoint_id=endpoint.pk).pk
    )
    got = receiver.received[-1]
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(got.body, got.headers)
    Webhook(rotated.secret).verify(got.body, got.headers)


def test_the_minute_task_queues_due_deliveries_and_takes_back_dead_workers(world, loopback):
    """Due rows are queued once (not again while just queued); a delivery whose worker
    died mid-send (lease over) is due again; a claimed one cannot be claimed twice."""
    va = world["a"]
    endpoint_for(va, "http://127.0.0.1:9/x")
    event = emit_bin_at_zero(va)
    on_event(event)
    delivery = one_delivery(event)
    assert selectors.deliveries_due() == []  # the listener just queued it
    WebhookDelivery.objects.filter(pk=delivery.pk).update(queued_at=None)
    assert selectors.deliveries_due() == [(va.vendor.pk, delivery.pk)]
    assert deliveries_due() == 1
    assert selectors.deliveries_due() == []

    WebhookDelivery.objects.filter(pk=delivery.pk).update(queued_at=None)
    assert services.delivery_claim(vendor_id=va.vendor.pk, delivery_id=delivery.pk) is not None
    assert services.delivery_claim(vendor_id=va.vendor.pk, delivery_id=delivery.pk) is None
    assert selectors.deliveries_due() == []  # sending: not due
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1)
    )
    with rls.system():
        assert deliveries_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_never_sent_twice_at_once(loopback, receiver, settings):
    """Eight workers handed the same due delivery at the same moment: one POST."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    va = vendor_world("acme")
    endpoint_for(va, receiver.url)
    event = emit_bin_at_zero(va)
    on_event(event)
    delivery = one_delivery(event)
    barrier = threading.Barrier(8)
    results: list[bool] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(delivery_send(va.vendor.pk, delivery.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(work,)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(results) == [False] * 7 + [True]
    assert len(receiver.received) == 1
    assert one_delivery(event).log.count() == 1

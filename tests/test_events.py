"""Domain events: written with the change, handed to every registered listener once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from cmi import events, rls
from cmi.models import DomainEvent
from cmi.tasks import events_catch_up, events_dispatch

heard: list[tuple[str, int]] = []


def listener_records(event: DomainEvent) -> None:
    heard.append(("records", event.pk))


def listener_breaks(event: DomainEvent) -> None:
    raise RuntimeError("this listener is broken")


@pytest.fixture
def registry(settings):
    heard.clear()

    def use(*paths: str) -> None:
        settings.DOMAIN_EVENT_LISTENERS = paths
        events.listeners.cache_clear()

    yield use
    events.listeners.cache_clear()


def emit_bin_at_zero(world) -> DomainEvent:
    va = world["a"]
    cw = va.customers[0]
    return events.emit(
        "bin.at_zero",
        vendor_id=va.vendor.pk,
        customer_id=cw.customer.pk,
        subject_type="bin",
        subject_id=cw.bins[0].pk,
        data={"bin_id": cw.bins[0].pk},
    )


def test_an_event_is_handed_to_every_listener_once(world, registry):
    registry("tests.test_events.listener_records")
    event = emit_bin_at_zero(world)
    assert events_dispatch(world["a"].vendor.pk, event.pk) is True
    assert events_dispatch(world["a"].vendor.pk, event.pk) is False
    assert heard == [("records", event.pk)]
    event.refresh_from_db()
    assert event.dispatched_at is not None


def test_an_event_rolled_back_with_its_change_does_not_exist(world, registry):
    registry("tests.test_events.listener_records")
    with pytest.raises(RuntimeError), transaction.atomic():
        emit_bin_at_zero(world)
        raise RuntimeError("the change failed")
    assert not DomainEvent.objects.exists()


def test_a_broken_listener_leaves_the_event_for_catch_up_and_the_others_still_hear(world, registry):
    registry("tests.test_events.listener_breaks", "tests.test_events.listener_records")
    event = emit_bin_at_zero(world)
    assert events_dispatch(world["a"].vendor.pk, event.pk) is False
    assert heard == [("records", event.pk)]
    DomainEvent.objects.filter(pk=event.pk).update(
        occurred_at=timezone.now() - dt.timedelta(minutes=5)
    )
    registry("tests.test_events.listener_records")
    with rls.system():
        assert events_catch_up() == 1
    assert heard == [("records", event.pk), ("records", event.pk)]


def test_unknown_kinds_and_missing_customers_are_refused(world):
    va = world["a"]
    with pytest.raises(events.UnknownEventKind):
        events.emit("bin.exploded", vendor_id=va.vendor.pk, customer_id=None)
    with pytest.raises(ValueError, match="customer_id is required"):
        events.emit("bin.at_zero", vendor_id=va.vendor.pk)


def test_every_kind_documents_its_fields():
    for kind in events.KINDS.values():
        assert kind.scope in {"customer", "vendor"}
        assert kind.title and kind.description
        assert kind.fields, kind.name

"""The vendor's answers as replenishment services: acknowledge, backorder, ship,
invoice. Each locks in the house order, changes quantities and on-order together,
and leaves an order event for every change; another vendor's order is a 404."""

from __future__ import annotations

import pytest

from cmi.errors import ApiError
from cmi.scoping import Scope
from replenishment.models import Order, OrderEvent, OrderEventKind, OrderLine, OrderStatus
from replenishment.services import (
    AnswerKind,
    LineAnswer,
    Refused,
    bins_evaluate,
    order_acknowledge,
    order_invoice,
    orders_ship,
)
from stocking.models import Bin

pytestmark = pytest.mark.django_db


@pytest.fixture
def released(world):
    """Vendor A's customer 0 has a released order of 3 x 50 (auto policy)."""
    cw = world["a"].customers[0]
    Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_hand=0)
    (order_id,) = bins_evaluate(vendor_id=world["a"].vendor.pk, bin_ids=[b.pk for b in cw.bins])
    order = Order.objects.get(pk=order_id)
    lines = list(order.lines.order_by("line_number"))
    return Scope(vendor_id=world["a"].vendor.pk, role="erp"), order, lines, cw


def _on_order(cw) -> list[int]:
    return list(
        Bin.objects.filter(pk__in=[b.pk for b in cw.bins])
        .order_by("pk")
        .values_list("on_order", flat=True)
    )


def test_every_on_order_change_of_an_acknowledgment_is_an_event(released):
    """Cut line 1 to 20 and line 2 to 0: on-order falls by 30 and 50, and each change
    is a quantity event from 50; the backorder of line 3 is an event of its own."""
    scope, order, lines, cw = released
    before = _on_order(cw)
    order_acknowledge(
        scope=scope,
        order_id=order.pk,
        answers=[
            LineAnswer(lines[0].pk, AnswerKind.QUANTITY, "855 IQ", quantity=20),
            LineAnswer(lines[1].pk, AnswerKind.QUANTITY, "855 ID", quantity=0),
            LineAnswer(lines[2].pk, AnswerKind.BACKORDER, "855 IB", text="50"),
        ],
        source="855",
        code="AC",
    )
    after = _on_order(cw)
    deltas = {b.pk: a - b_ for b, a, b_ in zip(cw.bins, after, before, strict=True)}
    events = OrderEvent.objects.filter(order=order, kind=OrderEventKind.QUANTITY_CHANGED)
    by_bin = {e.line.bin_id: int(e.new_value) - int(e.old_value) for e in events}
    assert (
        {pk: d for pk, d in deltas.items() if d}
        == by_bin
        == {
            lines[0].bin_id: -30,
            lines[1].bin_id: -50,
        }
    )
    assert OrderEvent.objects.filter(
        order=order, kind=OrderEventKind.BACKORDERED, line=lines[2], new_value="50"
    ).exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.ACKNOWLEDGED


def test_a_cut_below_what_was_received_is_refused_and_writes_nothing(released):
    scope, order, lines, _cw = released
    OrderLine.objects.filter(pk=lines[0].pk).update(quantity_received=30)
    events = OrderEvent.objects.count()
    with pytest.raises(Refused) as caught:
        order_acknowledge(
            scope=scope,
            order_id=order.pk,
            answers=[
                LineAnswer(lines[1].pk, AnswerKind.QUANTITY, "855 IQ", quantity=10),
                LineAnswer(lines[0].pk, AnswerKind.QUANTITY, "855 IQ", quantity=20, ref="here"),
            ],
            source="855",
            code="AC",
        )
    assert caught.value.error_code == "quantity_below_received" and caught.value.ref == "here"
    assert [line.quantity_ordered for line in order.lines.order_by("line_number")] == [50, 50, 50]
    assert OrderEvent.objects.count() == events
    assert Order.objects.get(pk=order.pk).status == OrderStatus.RELEASED


def test_another_vendors_order_is_not_found(released, world):
    _scope, order, lines, _cw = released
    theirs = Scope(vendor_id=world["b"].vendor.pk, role="erp")
    with pytest.raises(ApiError) as caught:
        order_acknowledge(scope=theirs, order_id=order.pk, source="855", code="AC")
    assert caught.value.status_code == 404
    with pytest.raises(ApiError) as caught:
        orders_ship(scope=theirs, shipped={order.pk: {lines[0].pk: 1}}, note="856 X")
    assert caught.value.status_code == 404
    with pytest.raises(ApiError) as caught:
        order_invoice(scope=theirs, order_id=order.pk, number="I-1", note="810")
    assert caught.value.status_code == 404
    assert not OrderEvent.objects.filter(order=order, note__in=["855 AC", "856 X", "810"]).exists()


def test_shipping_part_of_an_order_leaves_it_partially_shipped(released):
    """Lines 1 and 3 in full and 20 of line 2: partially shipped; the other 30 later:
    shipped. A shipped order's lines keep their on-order until received."""
    scope, order, lines, cw = released
    first = {lines[0].pk: 50, lines[1].pk: 20, lines[2].pk: 50}
    orders_ship(scope=scope, shipped={order.pk: first}, note="856 A")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_SHIPPED
    orders_ship(scope=scope, shipped={order.pk: {lines[1].pk: 30}}, note="856 B")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
    assert _on_order(cw) == [50, 50, 50]
    assert list(
        OrderEvent.objects.filter(order=order, note__startswith="856")
        .order_by("id")
        .values_list("new_value", flat=True)
    ) == ["partially_shipped", "shipped"]


def test_a_cancelled_order_cannot_ship_or_be_acknowledged(released):
    scope, order, lines, _cw = released
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.CANCELLED)
    with pytest.raises(Refused) as caught:
        orders_ship(scope=scope, shipped={order.pk: {lines[0].pk: 1}}, note="856 X")
    assert caught.value.error_code == "invalid_state" and caught.value.ref == order.pk
    with pytest.raises(Refused) as caught:
        order_acknowledge(scope=scope, order_id=order.pk, source="855", code="AC")
    assert caught.value.error_code == "invalid_state"

"""Fixtures shared by the inbox tests: a released order of vendor A with its 850,
and clients for its ERP and its customers' scanners. Imported by the test modules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from edi.models import Document
from replenishment.models import Order
from replenishment.services import bins_evaluate
from stocking.models import Bin
from tests.conftest import bearer
from tests.edi.vectors import order_values, partner_for, purchase_order_of
from tests.factories import CustomerWorld, VendorWorld

INBOX = "/api/v1/edi/inbox"


@dataclass
class Released:
    va: VendorWorld
    vb: VendorWorld
    cw: CustomerWorld
    order: Order
    po850: Document
    erp: APIClient

    def values(self) -> dict[str, str]:
        return order_values(self.order)

    def refresh(self) -> Order:
        self.order.refresh_from_db()
        return self.order

    def post(self, payload: bytes, client: APIClient | None = None):
        return (client or self.erp).post(INBOX, data=payload, content_type="application/edi-x12")


def release(vw: VendorWorld, customer: int = 0) -> Order:
    """Empty the customer's three bins and let the evaluation order them (auto policy)."""
    cw = vw.customers[customer]
    Bin.objects.filter(pk__in=[b.pk for b in cw.bins]).update(on_hand=0)
    (order_id,) = bins_evaluate(vendor_id=vw.vendor.pk, bin_ids=[b.pk for b in cw.bins])
    return Order.objects.get(pk=order_id)


@pytest.fixture
def released(world) -> Released:
    """Vendor A (with a trading partner) has released an order of 3 x 50 to customer 0."""
    va, vb = world["a"], world["b"]
    partner_for(va.vendor)
    order = release(va)
    return Released(
        va=va,
        vb=vb,
        cw=va.customers[0],
        order=order,
        po850=purchase_order_of(order),
        erp=bearer(va.erp_key),
    )

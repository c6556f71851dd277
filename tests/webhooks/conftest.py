from __future__ import annotations

import pytest

from cmi import events
from cmi.models import DomainEvent
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    """A real HTTP receiver on 127.0.0.1; set `.script` to the status codes it answers."""
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def loopback(settings):
    """The SSRF guard relaxed, as in development: the receiver is on loopback."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    return settings


def emit_bin_at_zero(vw, customer_index: int = 0, kind: str = "bin.at_zero") -> DomainEvent:
    cw = vw.customers[customer_index]
    b = cw.bins[0]
    return events.emit(
        kind,
        vendor_id=vw.vendor.pk,
        customer_id=cw.customer.pk,
        site_id=cw.site.pk,
        subject_type="bin",
        subject_id=b.pk,
        data={
            "bin_id": b.pk,
            "label": b.label,
            "sku": b.item.sku,
            "site": cw.site.code,
            "on_hand": 0,
            "min_qty": b.min_qty,
            "max_qty": b.max_qty,
            "on_order": 0,
        },
    )

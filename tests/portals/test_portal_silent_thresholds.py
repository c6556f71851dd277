"""The portal calls a scanner (or a customer's scanning) silent after the customer's own
scanner-silent threshold, the hours the alert waits, not a fixed day: the page and the
alert must not disagree."""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from notify.thresholds import alert_thresholds_set
from stocking.models import Bin, ScannerDevice
from tests.portals.helpers import signed_in, url


def _heard(device, hours: float) -> None:
    ScannerDevice.objects.filter(pk=device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=hours)
    )


def test_dashboard_and_scanners_page_use_the_customers_threshold(a):
    """Customer 0 waits 2 hours, customer 1 inherits the default day: a scanner quiet for
    3 hours is silent for the first only, on the dashboard and the scanners page."""
    c0, c1 = a.customers
    alert_thresholds_set(scope=a.scope, customer_id=c0.customer.pk, hours={"scanner.silent": 2})
    for cw in (c0, c1):
        _heard(cw.device, 3)

    first = signed_in(c0.manager).get(url("dashboard", c0))
    assert [d.pk for d in first.context["silent"]] == [c0.device.pk]
    assert "no scan for 2 h" in first.content.decode()
    second = signed_in(c1.manager).get(url("dashboard", c1))
    assert second.context["silent"] == []
    assert "no scan for 24 h" in second.content.decode()

    page = signed_in(c0.manager).get(url("scanners", c0)).content.decode()
    assert "nothing for 2 hours is marked silent" in page
    assert 'badge--at_zero">silent' in page
    page = signed_in(c1.manager).get(url("scanners", c1)).content.decode()
    assert 'badge--at_zero">silent' not in page

    _heard(c0.device, 1)  # heard again within its 2 hours
    assert signed_in(c0.manager).get(url("dashboard", c0)).context["silent"] == []


def test_vendor_default_threshold_applies_where_the_customer_sets_none(a):
    """The vendor's default (customer empty) comes before the 24-hour setting."""
    c0 = a.customers[0]
    _heard(c0.device, 5)
    assert signed_in(c0.manager).get(url("dashboard", c0)).context["silent"] == []
    alert_thresholds_set(scope=a.scope, customer_id=None, hours={"scanner.silent": 4})
    resp = signed_in(c0.manager).get(url("dashboard", c0))
    assert [d.pk for d in resp.context["silent"]] == [c0.device.pk]


def test_customers_list_marks_each_customer_by_its_own_threshold(a):
    """Both customers last scanned 3 hours ago: only the one waiting 2 hours is silent."""
    c0, c1 = a.customers
    alert_thresholds_set(scope=a.scope, customer_id=c0.customer.pk, hours={"scanner.silent": 2})
    three_hours_ago = timezone.now() - dt.timedelta(hours=3)
    Bin.objects.filter(customer__in=[c0.customer, c1.customer]).update(last_scan_at=three_hours_ago)
    body = signed_in(a.admin).get("/customers/").content.decode()
    rows = {
        name: row
        for row in re.findall(r"<tr\b.*?</tr>", body, re.S)
        for name in (c0.customer.name, c1.customer.name)
        if name in row
    }
    assert set(rows) == {c0.customer.name, c1.customer.name}
    assert "silent" in rows[c0.customer.name]
    assert "silent" not in rows[c1.customer.name]

"""The alerts' periodic work: the checks every 15 minutes and the daily digest run
across vendors (system mode) and then per vendor; each condition is told once while
it lasts; a scan batch that empties many bins costs what one that empties few does."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cmi import rls
from cmi.models import DomainEvent
from notify.models import DeliveryStatus, Digest, EmailDelivery, Watch
from notify.tasks import checks_run, digests_send
from stocking.models import Bin, ScannerDevice
from tests.conftest import bearer, scan
from tests.notify.kit import hear_all
from tests.portals.helpers import grow


def below_min_events() -> list[tuple[int, str]]:
    return sorted(
        DomainEvent.objects.filter(kind="bin.below_min_unordered").values_list(
            "vendor_id", "subject_id"
        )
    )


def test_the_checks_run_for_every_vendor_and_tell_each_condition_once(world, settings):
    """Started with no vendor (as beat starts it), the task finds both vendors' bins
    below min; the next runs tell nothing new; a bin that recovered and fell again is
    news again after the threshold."""
    settings.NOTIFY_BELOW_MIN_HOURS = 0
    va, vb = world["a"], world["b"]
    ScannerDevice.objects.update(last_seen_at=timezone.now())
    a_bin, b_bin = va.customers[0].bins[0], vb.customers[1].bins[2]
    Bin.objects.filter(pk__in=[a_bin.pk, b_bin.pk]).update(on_hand=1)
    with rls.running_as(rls.NOBODY):
        assert checks_run() == 2
        assert checks_run() == 0
    assert below_min_events() == sorted(
        [(va.vendor.pk, str(a_bin.pk)), (vb.vendor.pk, str(b_bin.pk))]
    )
    Bin.objects.filter(pk=a_bin.pk).update(on_hand=30)
    with rls.running_as(rls.NOBODY):
        assert checks_run() == 0
    assert not Watch.objects.filter(subject_id=a_bin.pk).exists()
    Bin.objects.filter(pk=a_bin.pk).update(on_hand=1)
    with rls.running_as(rls.NOBODY):
        assert checks_run() == 1
    assert len(below_min_events()) == 3


def test_a_bin_below_min_with_something_on_order_is_not_news(world, settings):
    settings.NOTIFY_BELOW_MIN_HOURS = 0
    ScannerDevice.objects.update(last_seen_at=timezone.now())
    b = world["a"].customers[0].bins[0]
    Bin.objects.filter(pk=b.pk).update(on_hand=1, on_order=20)
    with rls.running_as(rls.NOBODY):
        assert checks_run() == 0


def test_a_scanner_heard_again_and_silent_again_is_news_again(world):
    va = world["a"]
    device = va.customers[0].device
    ScannerDevice.objects.update(last_seen_at=timezone.now())
    ScannerDevice.objects.filter(pk=device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=25)
    )
    with rls.running_as(rls.NOBODY):
        assert checks_run() == 1
        assert checks_run() == 0
    # it posts again: the watch clears; 25 hours later it is silent again
    ScannerDevice.objects.filter(pk=device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=1)
    )
    with rls.running_as(rls.NOBODY):
        assert checks_run() == 0
    ScannerDevice.objects.filter(pk=device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=26)
    )
    with rls.running_as(rls.NOBODY):
        assert checks_run() == 1
    assert DomainEvent.objects.filter(kind="scanner.silent").count() == 2


def test_the_daily_digest_task_serves_every_vendor(world, settings):
    settings.NOTIFY_MAILS_PER_HOUR = 0  # every mail waits for the digest
    for vw in world.values():
        cw = vw.customers[0]
        bearer(cw.token).post(
            "/api/v1/scans",
            {"scans": [scan("issue", cw.bins[0].label, quantity=30)]},
            format="json",
        )
    hear_all()
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DIGEST}
    with rls.running_as(rls.NOBODY):
        made = digests_send()
        assert digests_send() == 0
    assert made == Digest.objects.count() > 0
    assert set(Digest.objects.values_list("vendor_id", flat=True)) == {
        vw.vendor.pk for vw in world.values()
    }
    assert set(EmailDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DIGESTED}


def _empty(cw, bins: list[Bin]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        resp = bearer(cw.token).post(
            "/api/v1/scans",
            {"scans": [scan("issue", b.label, quantity=1000) for b in bins]},
            format="json",
        )
    assert {r["status"] for r in resp.json()["results"]} == {"accepted"}
    return len(ctx.captured_queries)


def test_a_scan_batch_emptying_many_bins_costs_what_one_emptying_few_does(world):
    """3 bins emptied or 40: one insert of events and one dispatch message either way."""
    va = world["a"]
    small_cw, large_cw = va.customers
    grow(va, large_cw, bins=40)
    small = _empty(small_cw, list(Bin.objects.filter(customer_id=small_cw.customer.pk)))
    large_bins = list(Bin.objects.filter(customer_id=large_cw.customer.pk, on_hand__gt=0))
    assert len(large_bins) > 30
    large = _empty(large_cw, large_bins)
    assert small == large, (small, large)
    assert DomainEvent.objects.filter(kind="bin.at_zero").count() == 3 + len(large_bins)

"""The scan page as an installable app, without a browser: the manifest, the service
worker's script and scope, the icons, the bins list the page keeps for offline use (and
its kanban cards), each behind the page's own sign-in and tenancy; and lot and expiry
of GS1 scans on the page's answers and the bin's history."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.gs1 import GS
from cmi.models import Membership
from stocking.models import Bin
from tests.portals.helpers import grow, signed_in, url

pytestmark = pytest.mark.django_db

STATIC = Path(settings.BASE_DIR) / "portals" / "static"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_manifest_describes_an_installable_scan_app_for_this_customer(a):
    cw = a.customers[0]
    resp = signed_in(cw.staff).get(url("scan_manifest", cw))
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/manifest+json"
    manifest = resp.json()
    page = url("scan", cw)
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        page,
        page,
        "standalone",
    )
    assert cw.customer.name in manifest["name"] and manifest["short_name"] == "Scan"
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert icon["type"] == "image/png" and icon["src"].startswith(settings.STATIC_URL)
        file = STATIC / icon["src"].removeprefix(settings.STATIC_URL)
        width = int(icon["sizes"].split("x")[0])
        assert png_size(file) == (width, width)


def test_the_scan_page_links_the_manifest_and_names_its_worker_and_bins_list(a):
    cw = a.customers[0]
    html = signed_in(cw.staff).get(url("scan", cw)).content.decode()
    assert (
        f'<link rel="manifest" href="{url("scan_manifest", cw)}" crossorigin="use-credentials">'
    ) in html
    assert f'data-worker="{url("scan_worker", cw)}"' in html
    assert f'data-scope="{url("scan", cw)}"' in html
    assert f'data-bins="{url("scan_bins", cw)}"' in html
    assert "<script>" not in html  # the Content-Security-Policy allows no inline script


def test_the_service_worker_is_served_from_the_page_path_so_its_scope_covers_the_page(a):
    """A worker's scope can be at most the folder of its script: served under the scan
    page's path, it controls the page, the bins list and the scans endpoint."""
    cw = a.customers[0]
    worker = url("scan_worker", cw)
    assert worker.rsplit("/", 1)[0] + "/" == url("scan", cw)
    resp = Client().get(worker)  # the same static script for everyone: no data in it
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/javascript")
    assert resp["Cache-Control"] == "no-cache"  # a new version is found on the next visit
    assert resp.content == (STATIC / "portals" / "scan-sw.js").read_bytes()


def test_the_bins_list_has_the_active_bins_kanban_first(a):
    cw = a.customers[0]
    kanban, plain, gone = cw.bins
    Bin.objects.filter(pk=kanban.pk).update(kanban_quantity=25)
    Bin.objects.filter(pk=gone.pk).update(active=False)
    resp = signed_in(cw.staff).get(url("scan_bins", cw))
    assert resp.status_code == 200 and "no-cache" in resp["Cache-Control"]
    bins = resp.json()["bins"]
    assert [b["label"] for b in bins] == [kanban.label, plain.label]
    assert bins[0] == {
        "label": kanban.label,
        "sku": kanban.item.sku,
        "description": kanban.item.description,
        "location": "SHELF-A",
        "kanban_quantity": 25,
    }
    assert bins[1]["kanban_quantity"] is None


@pytest.mark.parametrize("name", ["scan_manifest", "scan_bins"])
def test_another_vendors_or_customers_id_is_404_and_strangers_sign_in(a, b, name):
    c0, c1 = a.customers
    foreign = b.customers[0]
    for user in (a.admin, c0.staff):
        assert signed_in(user).get(url(name, foreign)).status_code == 404
    for user in (c0.manager, c0.staff):
        assert signed_in(user).get(url(name, c1)).status_code == 404
    Membership.objects.get(user=a.rep).assigned_customers.set([c1.customer])
    assert signed_in(a.rep).get(url(name, c0)).status_code == 404
    assert signed_in(a.rep).get(url(name, c1)).status_code == 200
    resp = Client().get(url(name, c0))
    assert resp.status_code == 302 and resp["Location"].startswith("/login/")


def test_the_bins_list_costs_the_same_queries_at_3_and_60_bins(a):
    cw = a.customers[0]
    client = signed_in(cw.staff)
    counts = []
    for size in (3, 60):
        grow(a, cw, bins=size)
        with CaptureQueriesContext(connection) as queries:
            resp = client.get(url("scan_bins", cw))
        assert len(resp.json()["bins"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 5, counts


def test_a_gs1_scan_on_the_page_answers_lot_and_expiry_and_the_bin_history_shows_them(a):
    import json
    import uuid

    from django.utils import timezone

    cw = a.customers[0]
    target = cw.bins[0]
    ean = target.item.barcodes.first().code
    client = signed_in(cw.staff)
    body = {
        "scans": [
            {
                "event_id": str(uuid.uuid4()),
                "kind": "receive",
                "code": f"]C1010{ean}10LOT-7{GS}17270500",
                "quantity": 2,
                "occurred_at": timezone.now().isoformat(),
            }
        ]
    }
    resp = client.post(
        url("scan_events", cw),
        json.dumps(body),
        content_type="application/json",
        headers={"accept": "application/json"},
    )
    result = resp.json()["results"][0]
    assert result["status"] == "accepted", result
    assert (result["bin"]["label"], result["lot"], result["expiry"]) == (
        target.label,
        "LOT-7",
        "2027-05-31",
    )
    html = client.get(url("bin", cw, bin_id=target.pk)).content.decode()
    assert "LOT-7" in html and 'datetime="2027-05-31"' in html

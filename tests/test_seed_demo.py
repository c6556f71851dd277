"""The demo seed (`seed_demo`) and the scanner simulator (`simulate_scans`)."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.gtin import gtin_valid
from catalog.models import CrossReference, Item, ItemBarcode
from cmi.models import Customer, ErpKey, Membership, Vendor
from stocking.models import (
    Bin,
    BinLevelChange,
    LedgerEntry,
    Location,
    RfidCard,
    RfidReader,
    RfidTag,
    ScanEvent,
    ScannerDevice,
    Site,
)

VENDOR_KEYS = {"code", "name", "erp_key", "users", "customers"}
CUSTOMER_KEYS = {"code", "name", "release_policy", "scanner_token", "users", "bins"}
BIN_KEYS = {"label", "sku", "location", "min", "max", "pack_multiple", "on_hand", "kanban_quantity"}
MODELS = (
    Vendor,
    Customer,
    Item,
    ItemBarcode,
    CrossReference,
    Site,
    Location,
    Bin,
    BinLevelChange,
    LedgerEntry,
    ScannerDevice,
    RfidReader,
    RfidCard,
    RfidTag,
    ErpKey,
    Membership,
    get_user_model(),
)


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed_json() -> dict:
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def all_bins(data: dict) -> list[dict]:
    return [b for v in data["vendors"] for c in v["customers"] for b in c["bins"]]


def now_iso() -> str:
    return timezone.now().isoformat()


@pytest.mark.django_db
def test_seeding_twice_changes_nothing():
    first = seed_json()
    before = counts()
    second = seed_json()
    assert counts() == before
    assert second == first  # same credentials, same bins, same on-hand

    assert before["Vendor"] == 2
    assert before["Customer"] == 4
    assert 90 <= before["Item"] <= 110
    assert before["ItemBarcode"] == before["Item"]
    assert 180 <= before["Bin"] <= 220
    assert before["BinLevelChange"] == before["Bin"]
    assert before["User"] == 12
    assert before["Membership"] == 12
    # per customer a scanner, and an RFID drop box and cabinet (devices with a mode)
    assert before["ScannerDevice"] == 4 + 8
    assert before["RfidReader"] == 8
    assert RfidReader.objects.filter(mode="cabinet").count() == 4
    assert before["RfidCard"] > 0 and before["RfidTag"] > 0
    assert before["ErpKey"] == 2
    for vendor in Vendor.objects.all():
        assert Customer.objects.filter(vendor=vendor).count() == 2
        assert Item.objects.filter(vendor=vendor).count() == 50
    assert {c["code"] for c in first["vendors"][0]["customers"]} | {
        c["code"] for c in first["vendors"][1]["customers"]
    } == set(Customer.objects.values_list("code", flat=True))


@pytest.mark.django_db
def test_json_has_every_key():
    data = seed_json()
    assert set(data) == {"vendors"}
    assert [v["code"] for v in data["vendors"]] == ["acme-industrial", "northwind-mro"]
    assert [v["name"] for v in data["vendors"]] == ["Acme Industrial Supply", "Northwind MRO"]
    for vendor in data["vendors"]:
        assert set(vendor) == VENDOR_KEYS
        assert vendor["erp_key"].startswith("cmik_")
        assert set(vendor["users"]) == {"vendor_admin", "vendor_rep"}
        for cred in vendor["users"].values():
            assert set(cred) == {"username", "password"}
        assert len(vendor["customers"]) == 2
        for customer in vendor["customers"]:
            assert set(customer) == CUSTOMER_KEYS
            assert customer["scanner_token"].startswith("cmid_")
            assert set(customer["users"]) == {"customer_manager", "customer_staff"}
            for cred in customer["users"].values():
                assert set(cred) == {"username", "password"}
            assert customer["bins"]
            for b in customer["bins"]:
                assert set(b) == BIN_KEYS
    assert data["vendors"][0]["users"]["vendor_admin"]["username"] == "acme-admin"
    assert data["vendors"][0]["users"]["vendor_rep"]["username"] == "acme-rep"
    policies = {c["code"]: c["release_policy"] for v in data["vendors"] for c in v["customers"]}
    assert sorted(policies.values()) == ["approval", "auto", "auto", "scheduled"]
    scheduled = Customer.objects.get(release_policy="scheduled")
    assert scheduled.cutoff_times == ["10:00", "15:00"]
    assert scheduled.timezone == "America/New_York"
    assert scheduled.vendor.code == "northwind-mro"


@pytest.mark.django_db
def test_json_output_is_the_only_stdout():
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    text = out.getvalue()
    json.loads(text)  # one document, nothing before or after it
    assert text.lstrip().startswith("{") and text.rstrip().endswith("}")


@pytest.mark.django_db
def test_every_gtin_has_a_valid_check_digit():
    seed_json()
    codes = list(ItemBarcode.objects.values_list("code", flat=True))
    assert len(codes) >= 90
    assert all(len(code) == 13 and gtin_valid(code) for code in codes)
    assert Item.objects.filter(barcodes__isnull=True).count() == 0


@pytest.mark.django_db
def test_bin_labels_are_unique():
    data = seed_json()
    labels = [b["label"] for b in all_bins(data)]
    assert len(labels) == len(set(labels)) == Bin.objects.count()
    assert set(labels) == set(Bin.objects.values_list("label", flat=True))


@pytest.mark.django_db
def test_bins_have_sensible_levels_and_a_ledger():
    seed_json()
    bins = list(Bin.objects.select_related("item", "location"))
    kanban = [b for b in bins if b.kanban_quantity]
    plain = [b for b in bins if not b.kanban_quantity]
    weigh = [b for b in bins if b.tare_grams is not None]
    assert kanban and weigh
    for b in kanban:
        assert b.min_qty == b.max_qty == 0
    for b in plain:
        assert 2 * b.min_qty <= b.max_qty <= 4 * b.min_qty
        assert b.min_qty > 0
        assert 0 <= b.on_hand <= b.max_qty
    for b in bins:
        assert b.pack_multiple == b.item.pack_quantity
        assert 2 <= b.lead_time_days <= 5
        assert b.location.depth == 2  # a shelf on a rack in a stock room
    for b in weigh:
        assert b.item.unit_weight_grams and b.kanban_quantity is None
    assert sum(1 for b in plain if b.on_hand == 0) >= 4
    assert sum(1 for b in plain if 0 < b.on_hand < b.min_qty) >= 4
    # The starting on-hand went through the ledger (bin_create), one count per stocked bin.
    ledger = dict(
        LedgerEntry.objects.values("bin_id")
        .annotate(total=Sum("delta"))
        .values_list("bin_id", "total")
    )
    for b in bins:
        assert ledger.get(b.pk, 0) == b.on_hand
    per_customer = Counter(b.customer_id for b in bins)
    assert all(40 <= n <= 60 for n in per_customer.values())
    assert CrossReference.objects.filter(code__startswith="CPN-").count() >= 8


@pytest.mark.django_db
def test_demo_users_log_in_with_their_roles():
    data = seed_json()
    for vendor in data["vendors"]:
        groups = [(vendor["users"], None)] + [(c["users"], c["code"]) for c in vendor["customers"]]
        for users, customer_code in groups:
            for role, cred in users.items():
                user = authenticate(username=cred["username"], password=cred["password"])
                assert user is not None, cred
                assert user.membership.role == role
                assert user.membership.vendor.code == vendor["code"]
                assert (
                    user.membership.customer.code if user.membership.customer else None
                ) == customer_code


@pytest.mark.django_db
def test_scanner_tokens_authenticate():
    data = seed_json()
    for vendor in data["vendors"]:
        for customer in vendor["customers"]:
            label = customer["bins"][0]["label"]
            client = APIClient()
            response = client.post(
                "/api/v1/scans",
                {
                    "scans": [
                        {
                            "event_id": str(uuid.uuid4()),
                            "kind": "issue",
                            "code": label,
                            "quantity": 1,
                            "occurred_at": now_iso(),
                        }
                    ]
                },
                format="json",
                HTTP_AUTHORIZATION=f"Bearer {customer['scanner_token']}",
            )
            assert response.status_code == 200, response.content
            assert response.json()["accepted"] == 1
            assert (
                ScanEvent.objects.filter(code=label, customer__code=customer["code"]).count() == 1
            )


@pytest.mark.django_db
def test_codes_scanners_send_resolve():
    """SKU + location counts, customer part numbers, weigh and kanban scans all land."""
    data = seed_json()
    customer = data["vendors"][0]["customers"][0]
    db_customer = Customer.objects.get(code=customer["code"])
    weigh = (
        Bin.objects.filter(customer=db_customer, tare_grams__isnull=False)
        .select_related("item")
        .first()
    )
    kanban = Bin.objects.filter(customer=db_customer, kanban_quantity__isnull=False).first()
    ref = CrossReference.objects.filter(customer=db_customer).select_related("item").first()
    ref_bin = (
        Bin.objects.filter(customer=db_customer, item=ref.item).select_related("location").first()
    )
    counted = customer["bins"][1]
    gross = weigh.tare_grams + 7 * weigh.item.unit_weight_grams

    def event(kind: str, code: str, **extra) -> dict:
        return {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "code": code,
            "occurred_at": now_iso(),
            **extra,
        }

    response = APIClient().post(
        "/api/v1/scans",
        {
            "scans": [
                event("count", counted["sku"], location=counted["location"], quantity=3),
                event("issue", ref.code, location=ref_bin.location.code, quantity=1),
                event("weight", weigh.label, gross_grams=str(gross)),
                event("kanban", kanban.label),
            ]
        },
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {customer['scanner_token']}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 4, response.json()
    weigh.refresh_from_db()
    assert weigh.on_hand == 7


@pytest.mark.django_db
def test_erp_key_reads_orders():
    data = seed_json()
    for vendor in data["vendors"]:
        response = APIClient().get(
            "/api/v1/orders/", HTTP_AUTHORIZATION=f"Bearer {vendor['erp_key']}"
        )
        assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_human_summary_lists_the_credentials():
    data = seed_json()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert "already seeded" in text
    for vendor in data["vendors"]:
        assert vendor["erp_key"] in text
        for cred in vendor["users"].values():
            assert f"{cred['username']} / {cred['password']}" in text
        for customer in vendor["customers"]:
            assert customer["scanner_token"] in text
            for cred in customer["users"].values():
                assert f"{cred['username']} / {cred['password']}" in text


@pytest.mark.django_db
def test_plan_matches_what_was_seeded():
    """simulate_scans can run from the plan alone against a server seeded elsewhere."""
    from stocking.management.commands.seed_demo import demo_data, plan_data

    seed_json()
    assert plan_data(detail=True) == demo_data(detail=True)


def test_simulate_scans_posts_through_http(transactional_db, live_server):
    data = seed_json()
    out = io.StringIO()
    call_command(
        "simulate_scans",
        "--url",
        live_server.url,
        "--rounds",
        "1",
        "--interval",
        "0",
        "--seed",
        "7",
        stdout=out,
    )
    text = out.getvalue()
    customers = [c["code"] for v in data["vendors"] for c in v["customers"]]
    # the handhelds' scans (the RFID readers' events are theirs: tests/test_rfid_demo.py)
    handheld = ScanEvent.objects.filter(device__rfid_reader__isnull=True)
    assert handheld.count() == 20 * len(customers), text
    for code in customers:
        assert handheld.filter(customer__code=code).count() == 20
        assert f"{code:<22} sent   20  accepted   20  duplicates   0  rejected   0" in text
    assert "released orders" in text
    assert "cannot reach" not in text
    assert set(ScanEvent.objects.values_list("kind", flat=True)) >= {"issue", "count"}


def test_simulate_scans_survives_a_server_that_is_down(db):
    seed_json()
    out = io.StringIO()
    # Port 9 (discard) on localhost: nothing listens, the connection is refused.
    call_command(
        "simulate_scans",
        "--url",
        "http://127.0.0.1:9",
        "--rounds",
        "2",
        "--interval",
        "0",
        stdout=out,
    )
    text = out.getvalue()
    assert text.count("cannot reach") == 2
    assert ScanEvent.objects.count() == 0


@pytest.mark.django_db
def test_seed_gives_every_vendor_an_edi_partner_so_released_orders_get_an_850():
    from edi.models import Document, TradingPartner
    from replenishment.services import bins_evaluate
    from tests.conftest import scan

    data = seed_json()
    seed_json()  # twice: still one profile per vendor
    assert TradingPartner.objects.count() == 2
    assert set(TradingPartner.objects.values_list("vendor__code", flat=True)) == {
        v["code"] for v in data["vendors"]
    }
    vendor = data["vendors"][0]
    customer = next(c for c in vendor["customers"] if c["release_policy"] == "auto")
    shelf = next(b for b in customer["bins"] if b["kanban_quantity"] is None)
    response = APIClient().post(
        "/api/v1/scans",
        {"scans": [scan("issue", shelf["label"], quantity=shelf["on_hand"])]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {customer['scanner_token']}",
    )
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content
    b = Bin.objects.get(vendor__code=vendor["code"], label=shelf["label"])
    (order_id,) = bins_evaluate(vendor_id=b.vendor_id, bin_ids=[b.pk])
    assert Document.objects.filter(order_id=order_id, transaction_set="850").count() == 1


def test_simulate_erp_drives_an_order_from_release_to_received(transactional_db, live_server):
    from edi.models import Document
    from replenishment.models import Order
    from replenishment.services import bins_evaluate
    from tests.conftest import scan

    data = seed_json()
    vendor = data["vendors"][0]
    customer = next(c for c in vendor["customers"] if c["release_policy"] == "auto")
    shelf = next(b for b in customer["bins"] if b["kanban_quantity"] is None)
    response = APIClient().post(
        "/api/v1/scans",
        {"scans": [scan("issue", shelf["label"], quantity=shelf["on_hand"])]},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {customer['scanner_token']}",
    )
    assert response.status_code == 200, response.content
    b = Bin.objects.get(vendor__code=vendor["code"], label=shelf["label"])
    (order_id,) = bins_evaluate(vendor_id=b.vendor_id, bin_ids=[b.pk])
    assert Order.objects.get(pk=order_id).status == "released"

    out = io.StringIO()
    args = ["--url", live_server.url, "--interval", "0", "--batch", "1", "--seed", "3"]
    call_command("simulate_erp", *args, "--rounds", "2", "--lead-time", "0", stdout=out)
    text = out.getvalue()
    order = Order.objects.get(pk=order_id)
    assert order.status == "received", text
    assert order.closed_at is not None
    inbound = set(
        Document.objects.filter(order_id=order_id, direction="in").values_list(
            "transaction_set", flat=True
        )
    )
    assert inbound >= {"855", "856", "810"}, text
    assert Document.objects.get(order_id=order_id, transaction_set="850").delivered_at
    assert "rejected [" not in text and "HTTP 4" not in text, text


def test_simulate_honours_port(db, monkeypatch):
    import subprocess

    seed_json()
    monkeypatch.setenv("PORT", "9")  # nothing listens on the discard port
    out = io.StringIO()
    call_command("simulate_scans", "--rounds", "1", "--interval", "0", stdout=out)
    assert "against http://127.0.0.1:9 " in out.getvalue()
    assert "cannot reach http://127.0.0.1:9" in out.getvalue()
    # `make simulate` passes PORT on as the URL; `make run` passes it to run_embedded.
    for target, expected in (("simulate", "--url http://127.0.0.1:8712"), ("run", "--port 8712")):
        dry = subprocess.run(
            ["make", "-n", target, "PORT=8712"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert expected in dry.stdout, dry.stdout

"""The demo's RFID: seed_demo makes a drop box, a cabinet, cards and tagged items per
customer, and `simulate_scans` plays both readers through the HTTP API."""

from __future__ import annotations

import io

from django.core.management import call_command

from stocking.models import LedgerEntry, RfidCycle, RfidReader, RfidTag, ScanEvent


def test_simulate_plays_the_cabinets_and_drop_boxes(transactional_db, live_server):
    call_command("seed_demo", stdout=io.StringIO())
    tags = RfidTag.objects.filter(present=True).count()
    assert tags > 0 and RfidReader.objects.count() == 8
    out = io.StringIO()
    call_command(
        "simulate_scans",
        "--url",
        live_server.url,
        "--rounds",
        "3",
        "--interval",
        "0",
        "--seed",
        "3",
        stdout=out,
    )
    text = out.getvalue()
    assert text.count("rfid cabinet") == 12 and text.count("rfid drop box") == 12, text
    assert "HTTP" not in text.split("Total:")[0].replace("Simulating", ""), text
    assert RfidCycle.objects.count() == 24
    # pieces were taken from the cabinets: issues with their tag serials, fewer tags present
    issues = LedgerEntry.objects.filter(kind="issue", rfid_tags__isnull=False).distinct()
    assert issues.exists()
    # cards dropped in the boxes: kanban signals from the readers
    assert ScanEvent.objects.filter(kind="kanban", device__rfid_reader__isnull=False).exists()
    # the handhelds leave the cabinet's bins alone
    cabinet_bins = set(RfidTag.objects.values_list("bin_id", flat=True))
    handheld = ScanEvent.objects.filter(device__rfid_reader__isnull=True)
    assert not handheld.filter(bin_id__in=cabinet_bins).exists()

"""Rebuild the scorecard's monthly snapshots from the source tables."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cmi import rls
from cmi.models import Vendor
from insight.scorecard.compute import months_back
from insight.scorecard.services import scorecard_months_snapshot
from insight.scorecard.tasks import last_month


class Command(BaseCommand):
    help = (
        "Recompute the closed months of every customer's scorecard (or one vendor's) from "
        "the ledger, orders and EDI documents, replacing the stored snapshots."
    )

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=12, help="closed months back (12)")
        parser.add_argument("--vendor", default="", help="a vendor code (default: all)")

    def handle(self, *args, months: int, vendor: str, **options):
        if not 1 <= months <= 120:
            raise CommandError("--months is 1 to 120")
        now = timezone.now()
        wanted = months_back(last_month(now), months)
        with rls.system():  # a rebuild spans vendors unless one is named
            vendors = Vendor.objects.order_by("pk")
            if vendor:
                vendors = vendors.filter(code=vendor)
            ids = list(vendors.values_list("pk", flat=True))
        if vendor and not ids:
            raise CommandError(f"no vendor {vendor!r}")
        total = 0
        for vendor_id in ids:
            with rls.vendor(vendor_id):
                total += scorecard_months_snapshot(vendor_id=vendor_id, months=wanted, now=now)
        self.stdout.write(f"scorecard: {total} customer-months rebuilt")

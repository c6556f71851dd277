"""Run the beat sweep now, from a shell, so it can be timed from outside."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from cmi.models import Vendor
from replenishment.services import sweep_run


class Command(BaseCommand):
    help = "Evaluate every bin at its reorder point or with kanban cards waiting (the beat sweep)."

    def add_arguments(self, parser):
        parser.add_argument("--vendor", help="only this vendor's bins (its code)")

    def handle(self, *args, vendor=None, **options):
        vendor_id = None
        if vendor:
            vendor_id = Vendor.objects.filter(code=vendor).values_list("pk", flat=True).first()
            if vendor_id is None:
                raise CommandError(f"unknown vendor code {vendor!r}")
        started = time.perf_counter()
        result = sweep_run(vendor_id=vendor_id)
        seconds = time.perf_counter() - started
        self.stdout.write(
            f"evaluated {result.candidates} bins, ordered {result.bins_ordered} bins "
            f"on {len(result.orders)} orders in {seconds:.2f} s"
            + (f"; {result.failed_chunks} chunks failed" if result.failed_chunks else "")
        )
        if result.failed_chunks:
            raise CommandError("some chunks failed; the next sweep retries them")

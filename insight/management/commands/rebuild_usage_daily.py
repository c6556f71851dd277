"""Rebuild the usage aggregates exactly from the stock ledger.

    python manage.py rebuild_usage_daily [--vendor CODE]

Every row of the vendor (or of every vendor) is deleted and written again from the
ledger; the incremental beat task would write the same rows.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cmi import rls
from cmi.models import Vendor
from insight.analytics.build import usage_rebuild_all


class Command(BaseCommand):
    help = "Rebuild the daily usage aggregates from the stock ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--vendor", metavar="CODE", help="only this vendor (its code)")

    def handle(self, *args: object, **options: object) -> None:
        code = options["vendor"]
        if code is not None:
            with rls.system():
                if not Vendor.objects.filter(code=code).exists():
                    raise CommandError(f"unknown_vendor: no vendor has the code {code!r}.")
        started = time.perf_counter()
        written = usage_rebuild_all(vendor_code=code)
        for vendor, rows in written.items():
            self.stdout.write(f"{vendor}: {rows} bin-day rows")
        self.stdout.write(f"rebuilt in {time.perf_counter() - started:.1f}s")

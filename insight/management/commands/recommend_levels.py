"""Recommended min/max for every bin of a folder, with no database.

    python manage.py recommend_levels --from-folder DIR [--seed N] [--target-fill 0.98]

Reads ``DIR/as_of.txt``, ``items.csv``, ``history.csv`` and ``receipts.csv`` and writes
``DIR/recommendations.csv`` (``sku,min,max``). See ``insight.engine.folder`` for the format
and ``insight.engine.core`` for the method. A malformed folder exits with status 2 and
``error <code> <file:line>: <message>`` on stderr; nothing is written.
"""

from __future__ import annotations

import dataclasses
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from insight.engine.api import recommend
from insight.engine.folder import FolderError, read_folder, write_recommendations


class Command(BaseCommand):
    help = "Write DIR/recommendations.csv (sku,min,max) from a folder of history; no database."
    # Nothing here touches the database: no system checks (they may query it).
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from-folder", required=True, metavar="DIR")
        parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        parser.add_argument(
            "--target-fill",
            type=float,
            default=None,
            help="target fill rate for every bin (default 0.98)",
        )

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        target = options["target_fill"]
        if target is not None and not 0.5 <= float(target) < 1.0:
            raise CommandError(
                "error bad_target_fill: --target-fill must be in [0.5, 1).", returncode=2
            )
        try:
            folder = read_folder(str(options["from_folder"]))
        except FolderError as exc:
            where = f" {exc.where}" if exc.where else ""
            raise CommandError(f"error {exc.code}{where}: {exc.message}", returncode=2) from exc
        bins = folder.bins
        if target is not None:
            bins = [dataclasses.replace(b, target_fill=float(target)) for b in bins]
        recs = recommend(bins, folder.as_of, seed=int(options["seed"]))
        path = write_recommendations(str(options["from_folder"]), recs)
        if int(options["verbosity"]) >= 1:
            self.stdout.write(
                f"{len(recs)} bins, as of {folder.as_of}: wrote {path} "
                f"in {time.perf_counter() - started:.2f} s"
            )

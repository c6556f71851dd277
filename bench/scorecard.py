"""Benchmark: the service scorecard of one customer with BENCH_BINS bins (default 1,000)
and a year of ledger. Prints figures; asserts nothing but that figures came out.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmi_bench_scorecard \
        .venv/bin/python bench/scorecard.py
    BENCH_BINS=300 .venv/bin/python bench/scorecard.py      # SQLite file, smaller

Builds the same world as bench/recommend_db.py, then times the customer's scorecard
(last month with its six-month trend) and the vendor page, live from the source tables,
then again once the closed months are stored by the snapshot, and the current month
live, then stored by its beat task.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # a throwaway key
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench_scorecard.sqlite3'}")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.recommend_db import BINS, build  # noqa: E402
from bench.run import fresh_database  # noqa: E402
from cmi.scoping import Scope  # noqa: E402
from insight.scorecard.compute import months_back  # noqa: E402
from insight.scorecard.selectors import scorecard_customer, scorecard_vendor  # noqa: E402
from insight.scorecard.services import (  # noqa: E402
    scorecard_current_store,
    scorecard_months_snapshot,
)
from insight.scorecard.tasks import last_month  # noqa: E402
from stocking.models import LedgerEntry  # noqa: E402


def timed(label: str, fn):
    with CaptureQueriesContext(connection) as q:
        t0 = time.perf_counter()
        result = fn()
        took = time.perf_counter() - t0
    print(f"{label}: {took * 1000:.0f} ms, {len(q)} queries")
    return result


def main() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    fresh_database()
    vendor_id, customer_id = build()
    print(f"built {BINS} bins, {LedgerEntry.objects.count()} ledger rows ({connection.vendor})")
    scope = Scope(vendor_id=vendor_id, role="vendor_admin")
    month = last_month(timezone.now())
    card = timed(
        "customer scorecard, live (month + 5 before)",
        lambda: scorecard_customer(scope=scope, customer_id=customer_id, month=month),
    )
    timed("vendor page, live", lambda: scorecard_vendor(scope=scope, month=month))
    timed(
        "snapshot of 12 closed months",
        lambda: scorecard_months_snapshot(vendor_id=vendor_id, months=months_back(month, 12)),
    )
    again = timed(
        "customer scorecard, from snapshots",
        lambda: scorecard_customer(scope=scope, customer_id=customer_id, month=month),
    )
    timed("vendor page, from snapshots", lambda: scorecard_vendor(scope=scope, month=month))
    current = timed(
        "customer scorecard, this month (live) + 5 stored",
        lambda: scorecard_customer(
            scope=scope, customer_id=customer_id, month=timezone.now().date().replace(day=1)
        ),
    )
    timed(
        "current month stored (the beat task scorecard_current_refresh)",
        lambda: scorecard_current_store(vendor_id=vendor_id),
    )
    stored = timed(
        "customer scorecard, this month stored + 5 stored",
        lambda: scorecard_customer(
            scope=scope, customer_id=customer_id, month=timezone.now().date().replace(day=1)
        ),
    )
    timed(
        "vendor page, this month stored",
        lambda: scorecard_vendor(scope=scope, month=timezone.now().date().replace(day=1)),
    )
    assert card.values == again.values and current.values["bins"] == BINS
    assert not stored.live and stored.values["bins"] == BINS
    print(
        f"last month: fill {card.values['fill_rate']}%, at zero {card.values['stockout_share']}%,"
        f" turns {card.values['inventory_turns']}"
    )


if __name__ == "__main__":
    main()

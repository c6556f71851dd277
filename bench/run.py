"""Benchmarks: print figures, assert nothing.

    make bench                                   # embedded default (SQLite file var/bench.sqlite3)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmi_bench make bench

Measures the scan API service (events per second and queries per batch at several
batch sizes) and the replenishment evaluation (bins per second), on a fresh
database built with the test factories; then the portal pages of a customer with
10,000 bins (bench/portal_pages.py, on a fresh database of its own).

    .venv/bin/python bench/run.py scans          # one section only: scans, sweep or portals

``make bench`` runs the ``table`` section (bench/table.py): issue 10's table, each
figure against a baseline timed in the same run, and the cost-growth checks; it exits
non-zero when a ratio is under its floor. It needs PostgreSQL: DATABASE_URL when it
names one, else a private PostgreSQL (initdb in a temporary folder, fsync on).
``make bench QUICK=1`` (``--quick``) runs small sizes in a couple of minutes.
``TABLE_ROWS=http,850`` runs only the rows named (http, sweep, idle, 850, growth;
growth needs sweep): quicker when one change touches one row.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUICK = "--quick" in sys.argv or bool(os.environ.get("QUICK"))
NAMES = [a for a in sys.argv[1:] if a != "--quick"] if __name__ == "__main__" else []
PRIVATE_PG = None
if (
    __name__ == "__main__"
    and "table" in (NAMES or ["table"])
    and not os.environ.get("DATABASE_URL", "").startswith("postgres")
):
    from tests.faults import PG_BIN, PrivatePostgres, wait_for_port

    class _DurablePostgres(PrivatePostgres):
        """The tests' private PostgreSQL, with fsync on (the issue's figures are)."""

        def start(self) -> None:
            self._run(
                PG_BIN / "pg_ctl", "-D", self.data, "-w", "-l", self.dir / "log",
                "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                "-c max_connections=200",
                "start",
            )  # fmt: skip
            wait_for_port(self.port, up=True)

    if not PrivatePostgres.available:
        sys.exit(
            "make bench needs PostgreSQL: set DATABASE_URL=postgres://… or install PostgreSQL 15"
        )
    PRIVATE_PG = _DurablePostgres()
    PRIVATE_PG.start()
    os.environ["DATABASE_URL"] = PRIVATE_PG.url.rsplit("/", 1)[0] + "/cmi_bench"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
os.environ.setdefault("CELERY_BROKER_URL", "memory://")
# A throwaway signing key: nothing a benchmark signs outlives its process.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from cmi.scoping import Scope  # noqa: E402
from replenishment.services import bins_evaluate  # noqa: E402
from stocking.models import Bin  # noqa: E402
from stocking.services import scan_batch_ingest  # noqa: E402
from stocking.setup import bin_create, location_create  # noqa: E402


def fresh_database() -> None:
    if connection.vendor == "sqlite":
        connection.close()  # an open connection would go on writing to the unlinked file
        Path(connection.settings_dict["NAME"]).unlink(missing_ok=True)
    else:
        import psycopg

        conf = connection.settings_dict
        admin = psycopg.connect(
            host=conf["HOST"],
            port=conf["PORT"] or 5432,
            user=conf["USER"],
            password=conf["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        )
        if not admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [conf["NAME"]]
        ).fetchone():
            admin.execute(f'CREATE DATABASE "{conf["NAME"]}"')
        admin.close()
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)


def scans() -> None:
    (ROOT / "var").mkdir(exist_ok=True)
    fresh_database()
    from tests.factories import vendor_world

    world = vendor_world(f"bench{uuid.uuid4().hex[:4]}", customers=1, items=40)
    cw = world.customers[0]
    scope = world.scope
    # 200 bins on 5 shelves
    for shelf_no in range(5):
        shelf = location_create(
            scope=scope, site_id=cw.site.pk, code=f"BENCH-{shelf_no}", parent_id=cw.room.pk
        )
        for item in world.items:
            bin_create(
                scope=scope,
                location_id=shelf.pk,
                item_id=item.pk,
                min_qty=100,
                max_qty=500,
                on_hand=400,
            )
    labels = list(Bin.objects.filter(customer=cw.customer).values_list("label", flat=True))
    device_scope = Scope(
        vendor_id=world.vendor.pk,
        role="device",
        customer_ids=frozenset({cw.customer.pk}),
        device_id=cw.device.pk,
    )
    print(f"database: {connection.vendor}; bins: {len(labels)}")
    print(f"{'batch':>6} {'runs':>5} {'median ms':>10} {'events/s':>10} {'queries':>8}")
    for size in (10, 100, 500, 1000):
        times, queries = [], 0
        runs = 5
        for _ in range(runs):
            events = [
                {
                    "event_id": str(uuid.uuid4()),
                    "kind": ("issue", "receive")[i % 2],
                    "code": labels[i % len(labels)],
                    "quantity": 1,
                    "occurred_at": timezone.now().isoformat(),
                }
                for i in range(size)
            ]
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                result = scan_batch_ingest(scope=device_scope, events=events)
                times.append(time.perf_counter() - start)
            queries = len(ctx.captured_queries)
            assert result.count("accepted") == size
        median = statistics.median(times)
        print(f"{size:>6} {runs:>5} {median * 1000:>10.1f} {size / median:>10.0f} {queries:>8}")

    Bin.objects.filter(customer=cw.customer).update(on_hand=0)
    ids = list(Bin.objects.filter(customer=cw.customer).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        with transaction.atomic():
            bins_evaluate(vendor_id=world.vendor.pk, bin_ids=ids)
        took = time.perf_counter() - start
    print(
        f"evaluate {len(ids)} bins below min: {took * 1000:.1f} ms, {len(ctx.captured_queries)} queries"
    )


def _many_bins(world, count: int) -> list[int]:
    """``count`` bins of one customer written in bulk (the services' per-bin checks
    would take longer than what is measured); a shelf per 40 items."""
    from stocking.models import Location

    cw = world.customers[0]
    items = world.items
    shelves = Location.objects.bulk_create(
        Location(
            vendor_id=world.vendor.pk,
            customer_id=cw.customer.pk,
            site_id=cw.site.pk,
            parent_id=cw.room.pk,
            code=f"SW-{n}",
            path=f"{cw.room.path}x{n}/",
            depth=cw.room.depth + 1,
        )
        for n in range(-(-count // len(items)))
    )
    made = Bin.objects.bulk_create(
        (
            Bin(
                vendor_id=world.vendor.pk,
                customer_id=cw.customer.pk,
                site_id=cw.site.pk,
                location_id=shelves[n // len(items)].pk,
                item_id=items[n % len(items)].pk,
                label=f"SW{n:07d}",
                min_qty=10,
                max_qty=50,
                pack_multiple=1,
                on_hand=40,
            )
            for n in range(count)
        ),
        batch_size=2000,
    )
    return [b.pk for b in made]


def sweep() -> None:
    """The sweep over SWEEP_BINS bins (default 20,000): idle (nothing below min), then
    with every bin below min, against one set-based statement doing the same
    arithmetic (position, shortfall in whole packs, on-order) on the same rows."""
    from replenishment.services import sweep_run

    (ROOT / "var").mkdir(exist_ok=True)
    fresh_database()
    from tests.factories import vendor_world

    count = int(os.environ.get("SWEEP_BINS", "20000"))
    world = vendor_world(f"sweep{uuid.uuid4().hex[:4]}", customers=1, items=40)
    ids = _many_bins(world, count)
    print(f"database: {connection.vendor}; bins: {len(ids)}")

    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        idle = sweep_run()
        took = time.perf_counter() - start
    print(
        f"idle sweep: {took * 1000:.1f} ms, {len(ctx.captured_queries)} queries, "
        f"{idle.candidates} candidates"
    )

    Bin.objects.filter(pk__in=ids).update(on_hand=0)
    with transaction.atomic():
        start = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE stocking_bin SET on_order = on_order + "
                "((max_qty - on_hand - on_order + pack_multiple - 1) / pack_multiple) * pack_multiple "
                "WHERE vendor_id = %s AND active AND kanban_quantity IS NULL AND max_qty > 0 "
                "AND on_hand <= min_qty - on_order",
                [world.vendor.pk],
            )
            baseline_rows = cur.rowcount
        baseline = time.perf_counter() - start
        transaction.set_rollback(True)

    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        full = sweep_run()
        took = time.perf_counter() - start
    rate, base_rate = full.bins_ordered / took, baseline_rows / baseline
    print(
        f"sweep, all {full.candidates} below min: {took:.2f} s, {rate:,.0f} bins/s, "
        f"{len(ctx.captured_queries)} queries, {len(full.orders)} orders"
    )
    print(
        f"one set-based statement, same rows: {baseline * 1000:.1f} ms, {base_rate:,.0f} bins/s; "
        f"ratio {rate / base_rate:.2f}"
    )


def portals() -> None:
    from bench import portal_pages

    portal_pages.main()


def table() -> None:
    """Issue 10's table and the cost growth; exits 1 when a floor is missed."""
    from bench import table as t

    fresh_database()
    conf = connection.settings_dict
    dsn = (
        f"host={conf['HOST']} port={conf['PORT'] or 5432} user={conf['USER']} "
        f"dbname={conf['NAME']}" + (f" password={conf['PASSWORD']}" if conf["PASSWORD"] else "")
    )
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_APP_ROLE", None)
    print(
        f"PostgreSQL {connection.pg_version // 10000}; {'QUICK' if QUICK else 'full'} run; "
        f"{os.cpu_count()} CPUs; medians of interleaved repetitions",
        flush=True,
    )
    report = t.Report()
    started = time.perf_counter()
    rows = set(os.environ.get("TABLE_ROWS", "http,sweep,idle,850,growth").split(","))
    if "http" in rows:
        t.http_rows(report, quick=QUICK, env=env, dsn=dsn)
    if "sweep" in rows:
        sweep_times = t.sweep_rows(report, quick=QUICK)
    if "idle" in rows:
        t.idle_sweep_row(report, quick=QUICK)
    if "850" in rows:
        _scan_to_850(t, report, env)
    if "growth" in rows and "sweep" in rows:
        t.growth(report, quick=QUICK, sweep_times=sweep_times)
    report.print()
    print(f"({time.perf_counter() - started:.0f} s)")
    if report.failures:
        sys.exit(1)


def _scan_to_850(t, report, env: dict) -> None:
    """The scan -> 850 row, on the Redis named by CELERY_BROKER_URL or a private one."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    private_redis = None
    if not broker.startswith("redis"):
        from tests.faults import PrivateRedis

        private_redis = PrivateRedis()
        private_redis.start()
        broker = private_redis.url
    try:
        t.scan_to_850_row(report, quick=QUICK, env={**env, "CELERY_BROKER_URL": broker})
    except Exception as exc:  # reported as not measured; the other rows still print
        report.add(t.Row("scan → 850 in the outbox", f"not measured: {exc}", "-", None,
                         "p95 < 100 ms on a quiet machine", True))  # fmt: skip
    finally:
        if private_redis is not None:
            private_redis.stop()


SECTIONS = {"table": table, "scans": scans, "sweep": sweep, "portals": portals}


def main(names: list[str]) -> None:
    unknown = [name for name in names if name not in SECTIONS]
    if unknown:
        sys.exit(f"unknown section {', '.join(unknown)}; sections: {', '.join(SECTIONS)}")
    for number, name in enumerate(names or ["table"]):
        if number:
            print()
        print(f"== {name}")
        SECTIONS[name]()


if __name__ == "__main__":
    from cmi import rls

    try:
        with rls.system():  # the bench builds and checks data of many vendors
            main(NAMES)
    finally:
        if PRIVATE_PG is not None:
            connection.close()
            PRIVATE_PG.destroy()

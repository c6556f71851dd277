"""Faults under load: what is lost, doubled or slow while a dependency goes away.

    .venv/bin/python bench/faults.py              # all three faults, about 6 minutes
    .venv/bin/python bench/faults.py broker       # one: broker, database or worker

Starts everything privately: a PostgreSQL (initdb in a temporary folder), a
redis-server as the broker, gunicorn (2 workers), a Celery worker and Celery beat
(the catch-up pass every minute). Scanners post one issue a request, each to its
own bin (on hand 30, min 10, max 50), so every accepted event must give its bin
exactly one order line. For each fault it prints:

- posts answered (accepted / 503 / other), and p95 latency of the posts sent
  while the fault lasted (and, for comparison on a busy machine, before it);
- accepted events missing from the ledger;
- bins ordered twice, and bins not ordered 90 s after recovery (with the time the
  last bin got its order).

Faults: the broker killed for 30 s; PostgreSQL stopped (immediate) and started
again 10 s later; the worker SIGKILLed (and a new one started 5 s later, as a
supervisor would). Asserts nothing.
"""

from __future__ import annotations

import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import PrivatePostgres, PrivateRedis, free_port, wait_for_port  # noqa: E402

RATE = 8  # posts per second
BEFORE, AFTER = 5.0, 5.0  # seconds of load around each fault
SETTLE = 90.0  # every crossing bin has its order this long after recovery
BINS_PER_FAULT = 500
WARM_UP = 100  # posts before the first fault: a cold gunicorn worker's first request takes seconds


@dataclass
class Post:
    event_id: str
    bin_id: int
    started: float
    ms: float
    status: int
    accepted: bool


@dataclass
class Stack:
    pg: PrivatePostgres
    broker: PrivateRedis
    tmp: Path
    env: dict
    web_port: int
    procs: dict = field(default_factory=dict)

    def spawn(self, name: str, argv: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("a")
        self.procs[name] = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def worker(self) -> None:
        self.spawn(
            "worker",
            [sys.executable, "-m", "celery", "-A", "cmi", "worker", "--loglevel=warning",
             "--concurrency=2", "--without-gossip", "--without-mingle"],
        )  # fmt: skip

    def start(self) -> None:
        self.spawn(
            "web",
            [sys.executable, "-m", "gunicorn", "cmi.wsgi:application", "--bind",
             f"127.0.0.1:{self.web_port}", "--workers", "2", "--timeout", "30"],
        )  # fmt: skip
        self.worker()
        self.spawn(
            "beat",
            [sys.executable, "-m", "celery", "-A", "cmi", "beat", "--loglevel=warning",
             "--schedule", str(self.tmp / "beat-schedule")],
        )  # fmt: skip
        wait_for_port(self.web_port, up=True, timeout=60)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def build(bins: int) -> tuple[str, list[tuple[int, str]]]:
    """A vendor with one customer and `bins` bins on one shelf: (scanner token, [(bin id, label)])."""
    from catalog.models import Item
    from stocking.models import Bin
    from tests.factories import vendor_world

    world = vendor_world("fault", customers=1)
    cw = world.customers[0]
    vendor = world.vendor
    items = Item.objects.bulk_create(
        [
            Item(vendor=vendor, sku=f"FLT-{n:05d}", description=f"Fault item {n}")
            for n in range(bins)
        ]
    )
    created = Bin.objects.bulk_create(
        [
            Bin(
                vendor=vendor, customer=cw.customer, site=cw.site, location=cw.shelf, item=item,
                label=f"FLT{n:06d}", min_qty=10, max_qty=50, on_hand=30,
            )
            for n, item in enumerate(items)
        ]
    )  # fmt: skip
    return cw.token, [(b.pk, b.label) for b in created]


def load(base: str, token: str, bins: list[tuple[int, str]], stop: threading.Event) -> list[Post]:
    import requests

    posts: list[Post] = []
    lock = threading.Lock()
    queue = iter(bins)

    def one(bin_id: int, label: str) -> None:
        event_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            resp = requests.post(
                f"{base}/api/v1/scans",
                json={"scans": [{"event_id": event_id, "kind": "issue", "code": label,
                                 "quantity": 25, "occurred_at": _now()}]},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )  # fmt: skip
            status = resp.status_code
            accepted = status == 200 and resp.json()["accepted"] == 1
        except Exception:  # a refused or timed-out post is what this measures
            status, accepted = 0, False
        with lock:
            posts.append(
                Post(
                    event_id, bin_id, started, (time.monotonic() - started) * 1000, status, accepted
                )
            )

    threads = []
    while not stop.is_set():
        try:
            bin_id, label = next(queue)
        except StopIteration:
            break
        t = threading.Thread(target=one, args=(bin_id, label))
        t.start()
        threads.append(t)
        time.sleep(1 / RATE)
    for t in threads:
        t.join()
    return posts


def warm_up(base: str, token: str, bins: list[tuple[int, str]]) -> None:
    """Post until every gunicorn worker is warm (the last 10 posts under a second)."""
    posts: list[Post] = []
    for start in range(0, len(bins), 10):
        batch = load(base, token, bins[start : start + 10], threading.Event())
        posts += batch
        if max(p.ms for p in batch) < 1000:
            break
    print(f"warm-up: {len(posts)} posts, slowest {max(p.ms for p in posts):.0f} ms")
    time.sleep(3)


def _now() -> str:
    from django.utils import timezone

    return timezone.now().isoformat()


def check(posts: list[Post], recovered: float) -> dict:
    """Wait (up to SETTLE after recovery) for every accepted event's bin to be ordered."""
    from django.db import close_old_connections, connection
    from django.db.models import Count

    from replenishment.models import OrderLine
    from stocking.models import LedgerEntry, ScanEvent

    accepted = [p for p in posts if p.accepted]
    bin_ids = [p.bin_id for p in accepted]
    last_ordered = None
    while True:
        close_old_connections()
        try:
            lines = dict(
                OrderLine.objects.filter(bin_id__in=bin_ids)
                .values("bin_id")
                .annotate(n=Count("id"))
                .values_list("bin_id", "n")
            )
        except Exception:  # the database may still be coming back
            connection.close()
            lines = {}
        if bin_ids and all(lines.get(b) for b in bin_ids) and last_ordered is None:
            last_ordered = time.monotonic() - recovered
        if last_ordered is not None or time.monotonic() - recovered > SETTLE:
            break
        time.sleep(1)
    events = set(
        ScanEvent.objects.filter(event_id__in=[p.event_id for p in accepted]).values_list(
            "pk", flat=True
        )
    )
    in_ledger = LedgerEntry.objects.filter(scan_event_id__in=events).count()
    return {
        "missing_from_ledger": len(accepted) - in_ledger,
        "ordered_twice": sum(1 for b in bin_ids if lines.get(b, 0) > 1),
        "not_ordered": sum(1 for b in bin_ids if not lines.get(b)),
        "all_ordered_after_s": None if last_ordered is None else round(max(last_ordered, 0), 1),
    }


def publish_figures(broker: PrivateRedis) -> None:
    """The publish alone, in this process: what a scan post pays for the broker."""
    from cmi.broker import breaker, publish
    from replenishment.tasks import evaluate_bins

    def p95_of(n: int, *, reset: bool) -> float:
        times = []
        for _ in range(n):
            if reset:
                breaker.reset()
            started = time.monotonic()
            publish(evaluate_bins, args=(0, []))
            times.append((time.monotonic() - started) * 1000)
        return statistics.quantiles(times, n=20)[-1]

    up = p95_of(100, reset=False)
    broker.stop()
    tried = p95_of(100, reset=True)
    skipped = p95_of(100, reset=False)
    broker.start()
    breaker.reset()
    print(
        f"publish p95: broker up {up:.1f} ms; broker down, every call trying {tried:.1f} ms; "
        f"broker down, breaker open {skipped:.3f} ms"
    )


def run_fault(name: str, stack: Stack, token: str, bins, inject, heal) -> None:
    base = f"http://127.0.0.1:{stack.web_port}"
    stop = threading.Event()
    result: list[Post] = []
    loader = threading.Thread(target=lambda: result.extend(load(base, token, bins, stop)))
    loader.start()
    time.sleep(BEFORE)
    fault_start = time.monotonic()
    inject()
    heal()
    recovered = time.monotonic()
    time.sleep(AFTER)
    stop.set()
    loader.join()
    before = [p.ms for p in result if p.started < fault_start]
    during = [p.ms for p in result if fault_start <= p.started <= recovered]
    figures = check(result, recovered)
    accepted = sum(p.accepted for p in result)
    unavailable = sum(p.status == 503 for p in result)
    other = len(result) - accepted - unavailable

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else float("nan")

    print(
        f"{name:<18} posts {len(result):4d}  accepted {accepted:4d}  503 {unavailable:3d}  "
        f"other {other:3d}  p95 before {p95(before):6.0f} ms, during fault {p95(during):6.0f} ms  "
        f"missing from ledger {figures['missing_from_ledger']}  "
        f"ordered twice {figures['ordered_twice']}  not ordered {figures['not_ordered']}  "
        f"all ordered {figures['all_ordered_after_s']} s after recovery",
        flush=True,
    )


def main(which: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cmi-faults-"))
    pg, broker = PrivatePostgres(), PrivateRedis()
    pg.start()
    broker.start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cmi.settings",
        "DATABASE_URL": pg.url,
        "CELERY_BROKER_URL": broker.url,
        "CACHE_URL": "locmemcache://",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
        "DATABASE_APP_ROLE": "",  # the private cluster has no restricted role
        "SWEEP_MINUTES": "30",  # the catch-up pass, not the sweep, has to do the work
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),  # throwaway
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    token, bins = build(BINS_PER_FAULT * 3 + WARM_UP)
    stack = Stack(pg=pg, broker=broker, tmp=tmp, env=env, web_port=free_port())
    stack.start()
    warm_up(f"http://127.0.0.1:{stack.web_port}", token, bins[-WARM_UP:])
    chunks = {
        name: bins[i * BINS_PER_FAULT : (i + 1) * BINS_PER_FAULT]
        for i, name in enumerate(("broker", "database", "worker"))
    }
    faults = {
        "broker down 30 s": (
            "broker",
            broker.stop,
            lambda: (time.sleep(30), broker.start()),
        ),
        "database restart": (
            "database",
            pg.stop,
            lambda: (time.sleep(10), pg.start()),
        ),
        "worker SIGKILL": (
            "worker",
            lambda: stack.kill("worker"),
            lambda: (time.sleep(5), stack.worker()),
        ),
    }
    publish_figures(broker)
    print(f"rate {RATE} posts/s, one issue per post, each to its own bin; logs in {tmp}")
    try:
        for label, (key, inject, heal) in faults.items():
            if which and key not in which:
                continue
            run_fault(label, stack, token, chunks[key], inject, heal)
    finally:
        stack.stop()
        broker.stop()
        pg.destroy()


if __name__ == "__main__":
    main(sys.argv[1:])

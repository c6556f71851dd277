"""The whole loop through HTTP with a real Celery worker process.

Scanners post to a live server; the scan transaction enqueues an evaluation on the
real broker (Redis in CI, the filesystem broker on the embedded default); a worker
process started here evaluates against the same database and releases the order,
which the ERP key then reads through the API within seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tests.conftest import queue_purge
from tests.factories import vendor_world

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf.get("PASSWORD") else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


def worker_start(celery_test_queue: dict, log: Path) -> subprocess.Popen:
    """A real Celery worker process on this session's queue; returns once it is ready."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_QUEUE": celery_test_queue["queue"],
    }
    if celery_test_queue["broker_dir"] is not None:
        env["CELERY_BROKER_DIR"] = str(celery_test_queue["broker_dir"])
    ready_before = log.read_text().count("ready.") if log.exists() else 0
    with open(log, "a") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cmi",
                "worker",
                "--pool=solo",
                "--loglevel=info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                # no -Q: CELERY_QUEUE names this session's queue and, after it, the
                # work queues (settings.CELERY_TASK_QUEUES); the worker takes them all
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while log.read_text().count("ready.") <= ready_before:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"worker did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return proc


@pytest.fixture
def worker(celery_test_queue, tmp_path):
    queue_purge(celery_test_queue["queue"])  # nothing left over from earlier tests
    log = tmp_path / "worker.log"
    proc = worker_start(celery_test_queue, log)
    yield proc, log
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_scans_to_released_order_through_a_real_worker(live_server, worker):
    """An issue takes a bin below min; a released order with the right quantity appears within seconds."""
    proc, log = worker
    va = vendor_world("e2e", customers=1)
    cw = va.customers[0]
    b = cw.bins[1]  # min 10, max 50, on hand 30, pack multiple 10
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "kind": "issue",
            "code": b.label,
            "quantity": 23,
            "occurred_at": timezone.now().isoformat(),
        },
        {
            "event_id": str(uuid.uuid4()),
            "kind": "issue",
            "code": cw.bins[0].label,
            "quantity": 1,
            "occurred_at": timezone.now().isoformat(),
        },
    ]
    started = time.monotonic()
    resp = requests.post(
        f"{live_server.url}/api/v1/scans",
        json={"scans": events},
        headers={"Authorization": f"Bearer {cw.token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 2

    erp = {"Authorization": f"Bearer {va.erp_key}"}
    orders: list = []
    while time.monotonic() - started < 30 and not orders:
        orders = requests.get(f"{live_server.url}/api/v1/orders", headers=erp, timeout=30).json()[
            "results"
        ]
        if not orders:
            time.sleep(0.25)
    elapsed = time.monotonic() - started
    assert orders, f"no order after {elapsed:.1f}s; worker log:\n{log.read_text()}"
    assert proc.poll() is None
    (order,) = orders
    assert order["status"] == "released" and order["po_number"]
    # on hand 7, on order 0: position 7 <= min 10; max 50 - 7 = 43 -> 5 packs of 10 = 50
    assert [(line["bin_label"], line["quantity_ordered"]) for line in order["lines"]] == [
        (b.label, 50)
    ]
    detail = requests.get(
        f"{live_server.url}/api/v1/orders/{order['id']}", headers=erp, timeout=30
    ).json()
    assert [e["kind"] for e in detail["events"]][:3] == ["created", "line_added", "released"]
    bin_row = requests.get(
        f"{live_server.url}/api/v1/bins/{b.pk}",
        headers={"Authorization": f"Bearer {va.erp_key}"},
        timeout=30,
    )
    assert bin_row.status_code == 403  # the ERP reads orders, not stock
    print(f"scan to released order: {elapsed:.2f}s")


def test_replayed_batch_through_http_while_worker_runs(live_server, worker):
    """The same batch posted twice at the same moment is stored once and ordered once."""
    va = vendor_world("e2f", customers=1)
    cw = va.customers[0]
    b = cw.bins[0]
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "kind": "issue",
            "code": b.label,
            "quantity": 1,
            "occurred_at": timezone.now().isoformat(),
        }
        for _ in range(25)
    ]
    answers: list = []

    def post() -> None:
        r = requests.post(
            f"{live_server.url}/api/v1/scans",
            json={"scans": events},
            headers={"Authorization": f"Bearer {cw.token}"},
            timeout=60,
        )
        answers.append(r.json())

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["accepted"] for a in answers) == [0, 25]
    assert sorted(a["duplicates"] for a in answers) == [0, 25]
    b.refresh_from_db()
    assert b.on_hand == 5

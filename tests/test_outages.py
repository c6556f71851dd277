"""Outages degrade, they don't fail (issue 8 §2).

Each test takes a real dependency down: a private redis-server as the broker or the
cache, a private PostgreSQL behind a real gunicorn process. What each proves is in
its docstring. Latency under a fault is measured by bench/faults.py, not here.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from django.utils import timezone
from rest_framework.test import APIClient

from cmi import broker
from cmi.models import JobWatermark
from replenishment.models import Order, OrderLine
from replenishment.tasks import CATCH_UP_JOB, catch_up_bins, sweep_bins
from stocking.models import Bin
from tests.conftest import bearer, scan
from tests.factories import PASSWORD, vendor_world
from tests.faults import PrivatePostgres, PrivateRedis, free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
URL = "/api/v1/scans"


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker_at(monkeypatch):
    """Point the Celery app's publishing at another broker URL for one test."""
    from cmi.celery import app

    saved = app.conf.broker_url, app._pool, app.amqp._producer_pool

    def switch(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
        app.conf.broker_url = url
        app._pool = None
        app.amqp._producer_pool = None

    yield switch
    if app._pool is not None:
        app._pool.force_close_all(close_pool=False)
    monkeypatch.undo()
    app.conf.broker_url, app._pool, app.amqp._producer_pool = saved


@pytest.fixture
def cw(db):
    return vendor_world("out", customers=1).customers[0]


def post(token, events):
    return bearer(token).post(URL, {"scans": events}, format="json")


def test_broker_down_publish_fails_once_then_the_breaker_skips_it(
    cw, private_redis, broker_at, caplog, django_capture_on_commit_callbacks
):
    """With the broker killed, the first scan's publish fails once (logged) and opens
    the breaker; the next scans do not try the broker at all, and are all stored.
    Once the broker is back and the breaker's cooldown has passed, publishing resumes."""
    broker_at(private_redis.url)
    queue = redis.Redis(port=private_redis.port)
    b = cw.bins[0]
    # at its reorder point, so every scan hands the bin over for evaluation
    Bin.objects.filter(pk=b.pk).update(on_hand=b.min_qty)
    b.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(cw.token, [scan("issue", b.label, quantity=1)]).status_code == 200
    assert sum(queue.llen(k) for k in queue.keys("cmi-test-*")) == 1  # the broker took it

    private_redis.stop()
    with caplog.at_level(logging.INFO, logger="cmi.broker"):
        for _ in range(3):
            with django_capture_on_commit_callbacks(execute=True):
                resp = post(cw.token, [scan("issue", b.label, quantity=1)])
            assert resp.status_code == 200 and resp.json()["accepted"] == 1
    failed = [r for r in caplog.records if "could not publish" in r.getMessage()]
    skipped = [r for r in caplog.records if "circuit open" in r.getMessage() and r.levelno == 20]
    assert (len(failed), len(skipped)) == (1, 2), [r.getMessage() for r in caplog.records]
    assert Bin.objects.get(pk=b.pk).on_hand == b.on_hand - 4

    private_redis.start()
    broker.breaker.reset()  # the cooldown has passed
    with django_capture_on_commit_callbacks(execute=True):
        assert post(cw.token, [scan("issue", b.label, quantity=1)]).status_code == 200
    queue = redis.Redis(port=private_redis.port)
    assert sum(queue.llen(k) for k in queue.keys("cmi-test-*")) == 1


def test_catch_up_orders_a_bin_whose_message_was_lost_once_and_only_once(
    cw, broker_at, django_capture_on_commit_callbacks
):
    """A bin that crossed min while the broker was down is ordered by the next catch-up
    run; a second run orders nothing more; the watermark moves to the run's start."""
    broker_at("redis://127.0.0.1:1/0")  # nothing listens there
    b = cw.bins[1]  # min 10, max 50, on hand 30
    with django_capture_on_commit_callbacks(execute=True):
        assert post(cw.token, [scan("issue", b.label, quantity=25)]).status_code == 200
    assert not OrderLine.objects.exists()
    before = timezone.now()
    assert catch_up_bins() == 1
    line = OrderLine.objects.get(bin_id=b.pk)
    assert line.quantity_ordered == 50  # up to max 50 from 5, in whole packs of 10
    assert catch_up_bins() == 0
    assert OrderLine.objects.filter(bin_id=b.pk).count() == 1
    assert JobWatermark.objects.get(name=CATCH_UP_JOB).reached_at >= before


def test_catch_up_reads_only_bins_touched_since_its_last_run(cw):
    """A bin below min that nobody touched since the watermark is left to the full
    sweep (the backstop); the catch-up pass does not read it."""
    b = cw.bins[1]
    long_ago = timezone.now() - dt.timedelta(hours=2)
    Bin.objects.filter(pk=b.pk).update(on_hand=0, updated_at=long_ago)
    JobWatermark.objects.create(name=CATCH_UP_JOB, reached_at=timezone.now())
    assert catch_up_bins() == 0
    assert not Order.objects.exists()
    assert sweep_bins() == 1


def test_catch_up_query_is_two_queries_whatever_the_number_of_touched_bins(
    cw, django_assert_num_queries
):
    """Finding the touched bins that need an order is two indexed queries (bins at
    their reorder point, bins with cards waiting), however many bins were touched."""
    from replenishment.services import sweep_candidates

    since = timezone.now() - dt.timedelta(minutes=1)
    with django_assert_num_queries(2):
        sweep_candidates(touched_since=since)
    Bin.objects.filter(customer=cw.customer).update(on_hand=0, updated_at=timezone.now())
    with django_assert_num_queries(2):
        found = sweep_candidates(touched_since=since)
    assert sum(len(ids) for ids in found.values()) == len(cw.bins)
    names = {i.name for i in Bin._meta.indexes}
    assert "bin_updated_at_idx" in names


@pytest.fixture
def redis_cache(settings, private_redis):
    settings.CACHES = {
        "default": {
            "BACKEND": "cmi.cache.FailSafeRedisCache",
            "LOCATION": private_redis.url,
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    from cmi.cache import FailSafeRedisCache

    FailSafeRedisCache.breaker.reset()
    yield private_redis
    FailSafeRedisCache.breaker.reset()


def token_login(username, password=PASSWORD, client=None):
    return (client or APIClient()).post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json"
    )


def test_cache_down_token_login_still_works_and_throttle_fails_open(cw, redis_cache):
    """With the cache's Redis killed, POST /api/v1/auth/token answers 201 (the throttle
    fails open) instead of a 500."""
    assert token_login(cw.manager.username).status_code == 201
    redis_cache.stop()
    resp = token_login(cw.manager.username)
    assert resp.status_code == 201, resp.content


def test_cache_down_login_lockout_still_holds(cw, redis_cache):
    """The lockout is in the database: with the cache down, five wrong passwords still
    lock the pair, and the right password is then refused."""
    redis_cache.stop()
    for _ in range(5):
        assert token_login(cw.manager.username, "wrong-password").status_code in (401, 403)
    assert token_login(cw.manager.username).status_code != 201


def test_readyz_reports_each_dependency(db, client, broker_at, private_redis):
    """/readyz is 200 "ok" with everything up, and 200 "degraded" naming the broker when
    only the broker is down (web can still serve)."""
    broker_at(private_redis.url)
    body = client.get("/readyz").json()
    assert body["status"] == "ok" and body["checks"]["broker"]["ok"]
    private_redis.stop()
    resp = client.get("/readyz")
    body = resp.json()
    assert resp.status_code == 200
    assert body["status"] == "degraded"
    assert (body["checks"]["database"]["ok"], body["checks"]["broker"]["ok"]) == (True, False)
    assert client.get("/healthz").status_code == 200


def test_metrics_need_the_token(client, settings, cw):
    """/metrics is a 404 without METRICS_TOKEN or with a wrong one; with it, the scan
    counters and the outbox gauges are there."""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-metrics"
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 404
    post(cw.token, [scan("issue", cw.bins[0].label, quantity=1)])
    resp = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics")
    assert resp.status_code == 200
    text = resp.content.decode()
    assert 'cmi_scan_events_total{status="accepted"}' in text
    assert "cmi_scan_ingest_seconds_count" in text
    assert "cmi_edi_outbox_backlog" in text and "cmi_edi_failed_deliveries" in text


def test_request_id_is_echoed_and_carried_into_the_task(
    cw, private_redis, broker_at, django_capture_on_commit_callbacks
):
    """A response carries X-Request-ID (the client's, when well-formed); the evaluation
    task it publishes carries the same id in its headers."""
    import json

    broker_at(private_redis.url)
    client = bearer(cw.token)
    b = cw.bins[0]
    Bin.objects.filter(pk=b.pk).update(on_hand=b.min_qty)  # at its reorder point: published
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(
            URL,
            {"scans": [scan("issue", b.label, quantity=1)]},
            format="json",
            HTTP_X_REQUEST_ID="req-1234abcd",
        )
    assert resp["X-Request-ID"] == "req-1234abcd"
    queue = redis.Redis(port=private_redis.port)
    (key,) = queue.keys("cmi-test-*")
    message = json.loads(queue.lindex(key, 0))
    assert message["headers"]["request_id"] == "req-1234abcd"


# --- the database goes away under a running web process ---------------------------


@pytest.mark.postgres
@pytest.mark.skipif(not PrivatePostgres.available, reason="needs PostgreSQL 15's initdb")
def test_database_down_is_503_with_retry_after_and_web_recovers_without_restart(tmp_path):
    """gunicorn on a private PostgreSQL: while it is stopped, the API answers 503 with
    Retry-After and the JSON error shape, a portal page a plain 503; /readyz says
    the database is down. Started again, the same gunicorn answers 200."""
    pg = PrivatePostgres()
    pg.start()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": pg.url,
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_APP_ROLE": "",  # a fresh cluster has no restricted role; RLS is not the point
    }
    log = (tmp_path / "web.log").open("w")
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cmi.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "--timeout", "30"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, up=True, timeout=30)
        # The first request loads the URLconf and warms up: it is not the one measured.
        assert requests.get(f"{base}/readyz", timeout=90).json()["checks"]["database"]["ok"]
        pg.stop()
        started = time.monotonic()
        api = requests.post(
            f"{base}/api/v1/scans",
            json={"scans": []},
            headers={"Authorization": "Bearer cmid_whatever"},
            timeout=10,
        )
        assert api.status_code == 503, api.text
        assert api.headers["Retry-After"] == "10"
        assert api.json()["error"]["code"] == "service_unavailable"
        page = requests.get(f"{base}/", cookies={"sessionid": "x" * 32}, timeout=10)
        assert page.status_code == 503 and "Temporarily unavailable" in page.text
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"]["ok"] is False
        assert time.monotonic() - started < 10  # bounded: no request hangs on the dead database
        pg.start()
        assert requests.get(f"{base}/readyz", timeout=10).json()["checks"]["database"]["ok"]
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
    finally:
        web.terminate()
        web.wait(timeout=20)
        log.close()
        pg.destroy()


# --- a worker killed in the middle of a task ------------------------------------------


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("amqp://"),
    reason="immediate redelivery is RabbitMQ's; on Redis the catch-up pass covers it "
    "(test_catch_up_*); CI runs this on amqp://",
)
def test_rabbitmq_redelivers_the_task_of_a_sigkilled_worker_at_once(
    live_server, celery_test_queue, tmp_path
):
    """A worker is SIGKILLed while its evaluation waits on a row lock; a new worker gets
    the same message at once (acks_late) and the bin is ordered once, no catch-up run."""
    from django.db import connection, transaction

    from stocking.models import Site
    from tests.conftest import queue_purge
    from tests.test_e2e import worker_start

    queue_purge(celery_test_queue["queue"])
    queue_purge(celery_test_queue["evaluate_queue"])
    cw = vendor_world("kill", customers=1).customers[0]
    b = cw.bins[1]  # min 10, max 50, on hand 30
    log = tmp_path / "worker.log"
    first = worker_start(celery_test_queue, log)
    try:
        with transaction.atomic():
            Site.objects.select_for_update().get(pk=b.site_id)  # evaluation waits here
            resp = requests.post(
                f"{live_server.url}/api/v1/scans",
                json={"scans": [scan("issue", b.label, quantity=25)]},
                headers={"Authorization": f"Bearer {cw.token}"},
                timeout=30,
            )
            assert resp.json()["accepted"] == 1
            deadline = time.monotonic() + 30
            with connection.cursor() as cursor:
                while time.monotonic() < deadline:
                    # pg_locks, not pg_stat_activity: the app role sees every lock there
                    cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    if cursor.fetchone()[0]:
                        break
                    time.sleep(0.1)
                else:
                    pytest.fail(f"the worker never took the task:\n{log.read_text()}")
            first.kill()  # SIGKILL: no chance to ack or reject
            first.wait(timeout=10)
        second = worker_start(celery_test_queue, log)
        try:
            deadline = time.monotonic() + 20
            while not OrderLine.objects.filter(bin_id=b.pk).exists():
                assert time.monotonic() < deadline, f"not redelivered:\n{log.read_text()}"
                time.sleep(0.2)
            assert OrderLine.objects.get(bin_id=b.pk).quantity_ordered == 50
            assert not JobWatermark.objects.exists()  # no catch-up pass did it
        finally:
            second.terminate()
            second.wait(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()


def test_warming_the_broker_connects_at_start_and_shrugs_off_a_dead_one(private_redis, broker_at):
    """A web or worker process opens its broker connection when it starts (so its first
    scan does not pay for it); with the broker down, it logs and goes on, and the
    circuit stays closed for the first real publish."""
    broker_at(private_redis.url)
    assert broker.warm() is True
    private_redis.stop()
    broker_at(private_redis.url)  # a fresh pool: nothing already connected
    assert broker.warm() is False  # logged, not raised
    assert broker.breaker.allows()

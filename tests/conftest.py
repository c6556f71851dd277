"""Fixtures: two vendors, each with two customers, built through the services."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import vendor_world


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL row locks and real concurrency; runs in CI on PostgreSQL"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def celery_test_queue(tmp_path_factory):
    """Messages that tests enqueue go to the real broker, on a queue of this session's own.

    Nothing is faked: a scan really enqueues its evaluation. The queue (and for the
    filesystem broker, its folder) is this run's, and is purged when the run ends.
    """
    from django.conf import settings

    from cmi.celery import app

    name = f"cmi-test-{uuid.uuid4().hex[:12]}"
    app.conf.task_default_queue = name
    folder = None
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = tmp_path_factory.mktemp("broker")
        for sub in ("out", "processed", "control"):
            (folder / sub).mkdir()
        app.conf.broker_transport_options = {
            "data_folder_in": str(folder / "out"),
            "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    # A scan's evaluation goes to the ingest work queue (settings.CELERY_WORK_QUEUES).
    evaluate = app.amqp.router.route({}, "replenishment.tasks.evaluate_bins", (), {})
    yield {"queue": name, "broker_dir": folder, "evaluate_queue": evaluate["queue"].name}
    queue_purge(name)
    queue_purge(evaluate["queue"].name)


def queue_purge(name: str) -> None:
    from cmi.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(name)
    except Exception as exc:  # a queue that was never declared has nothing to purge
        print(f"queue purge of {name}: {exc}")


@pytest.fixture(scope="session", autouse=True)
def _tenant_system():
    """The test's own code (fixtures, factories, asserts over both vendors) spans
    vendors by design, so it runs in system mode. Requests made through the test
    client do not: each starts with no vendor and runs for its resolved scope, so
    row-level security is enforced wherever the application is exercised. Threads a
    test starts run in a copy of this context."""
    from cmi import rls

    with rls.system():
        yield


@pytest.fixture(autouse=True)
def _close_breakers():
    """A test that took the broker or cache down must not leave the next one skipping it."""
    from cmi.broker import breaker

    breaker.reset()
    yield
    breaker.reset()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def world(db):
    """Vendor A and vendor B; each has customers 0 and 1 with a site, a shelf and three bins."""
    return {"a": vendor_world("acme"), "b": vendor_world("bolt")}


@pytest.fixture
def api():
    return APIClient()


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def scan(kind: str, code: str, **extra) -> dict:
    event = {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "code": code,
        "occurred_at": timezone.now().isoformat(),
    }
    event.update(extra)
    return event


def pytest_configure(config):
    from django.conf import settings

    # Real hashing costs ~0.2 s a user and the fixtures make a dozen users per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

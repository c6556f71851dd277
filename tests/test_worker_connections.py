"""A worker keeps its database connection from task to task, tidied as between requests."""

from __future__ import annotations

import pytest
from celery import signals
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection

from cmi.celery import app
from replenishment.tasks import evaluate_bins

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _between_tasks() -> None:
    """What a worker runs after one task and before the next: Celery's Django fixup
    and the project's own handlers, through the signals they are connected to."""
    fixup = DjangoWorkerFixup(app)
    fixup.on_task_postrun(sender=evaluate_bins)
    signals.task_postrun.send(sender=evaluate_bins, task_id="t1", task=evaluate_bins)
    fixup.on_task_prerun(sender=evaluate_bins)
    signals.task_prerun.send(sender=evaluate_bins, task_id="t2", task=evaluate_bins)


def test_the_next_task_reuses_the_connection_of_the_last():
    """No new PostgreSQL connection (and cold backend) per task."""
    # A connection of its own, opened now: one an earlier test opened may be past
    # CONN_MAX_AGE, and closing that one between tasks is right.
    connection.close()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        before = cur.fetchone()[0]
    _between_tasks()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] == before


def test_a_connection_whose_backend_died_is_replaced_at_the_next_task():
    """After a database restart the next task reconnects instead of failing: the
    health check runs at the first use after a task, as after a request."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        before = cur.fetchone()[0]
    import psycopg

    conf = connection.settings_dict
    with psycopg.connect(
        host=conf["HOST"], port=conf["PORT"] or 5432, user=conf["USER"],
        password=conf["PASSWORD"] or None, dbname=conf["NAME"], autocommit=True,
    ) as other:  # fmt: skip
        other.execute("SELECT pg_terminate_backend(%s)", [before])
    _between_tasks()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != before

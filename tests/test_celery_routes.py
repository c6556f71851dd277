"""Work kinds on queues of their own (docs/scaling.md), one worker for all by default."""

from __future__ import annotations

from django.conf import settings

from cmi.celery import app


def test_every_routed_task_exists_and_goes_to_its_work_queue():
    app.loader.import_default_modules()
    default = app.conf.task_default_queue
    for name, kind in settings.CELERY_WORK_QUEUES.items():
        assert name in app.tasks, f"{name} is routed but is no task"
        route = app.amqp.router.route({}, name, (), {})
        assert route["queue"].name == f"{default}.{kind}", (name, route)


def test_the_scan_follow_up_is_apart_from_the_bulk_evaluation():
    queues = settings.CELERY_WORK_QUEUES
    assert queues["replenishment.tasks.evaluate_bins"] == "ingest"
    assert queues["replenishment.tasks.sweep_bins"] == "evaluate"
    assert queues["cmi.tasks.events_dispatch"] == "notify"
    assert queues["edi.tasks.flag_overdue"] == "edi"


def test_a_worker_without_queues_named_consumes_every_queue():
    """`celery -A cmi worker` (the embedded default, the compose file) takes all work."""
    base = settings.CELERY_TASK_DEFAULT_QUEUE
    declared = {q.name for q in settings.CELERY_TASK_QUEUES}
    wanted = {base} | {f"{base}.{kind}" for kind in settings.CELERY_WORK_QUEUES.values()}
    assert declared == wanted


def test_an_unrouted_task_takes_the_default_queue():
    route = app.amqp.router.route({}, "some.other.task", (), {})
    assert route["queue"].name == app.conf.task_default_queue

"""The Celery application: `celery -A cmi worker` and `celery -A cmi beat`."""

import os
import time

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")

app = Celery("cmi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_tokens: dict[str, object] = {}


def route_by_work(name, args, kwargs, options, task=None, **kw):
    """settings.CELERY_WORK_QUEUES as a router: the queue is named after the default
    queue at publishing time (tests give each run a default queue of its own)."""
    from django.conf import settings

    kind = settings.CELERY_WORK_QUEUES.get(name)
    if kind is None:
        return None
    return {"queue": f"{app.conf.task_default_queue}.{kind}"}


def _header(task, name: str):
    request = task.request
    return getattr(request, name, None) or (getattr(request, "headers", None) or {}).get(name)


@signals.task_prerun.connect
def _task_request_id(task_id=None, task=None, **kwargs) -> None:
    """The id of the request that published the task goes on the task's log lines."""
    from cmi.requestid import set_request_id

    _tokens[task_id] = set_request_id(_header(task, "request_id"))


@signals.task_postrun.connect
def _task_done(task_id=None, task=None, **kwargs) -> None:
    from cmi.metrics import TASK_LATENCY_SECONDS
    from cmi.requestid import reset_request_id

    published = _header(task, "published_at")
    if published:
        TASK_LATENCY_SECONDS.labels(task=task.name).observe(max(0.0, time.time() - published))
    token = _tokens.pop(task_id, None)
    if token is not None:
        reset_request_id(token)


@signals.task_prerun.connect
def _db_connections_before(**kwargs) -> None:
    _db_connections_tidy()


@signals.task_postrun.connect
def _db_connections_after(**kwargs) -> None:
    _db_connections_tidy()


def _db_connections_tidy() -> None:
    """Around each task what Django does around each request: keep a connection for
    CONN_MAX_AGE, close one left in a transaction or after an error, and health-check
    it at its next use (so a task after a database restart reconnects, not fails).

    Celery's own Django fixup closes every connection before and after each task
    unless CELERY_DB_REUSE_MAX is set (settings): a new PostgreSQL connection, with a
    backend whose catalog caches are cold, for every task. That was ~10 ms of each
    scan -> 850 and of every other task."""
    from django.db import close_old_connections

    close_old_connections()


@signals.worker_process_init.connect
def _freeze_startup_objects(**kwargs) -> None:
    """A pool process starts with the tasks imported: out of the collector's reach."""
    from cmi.startup import objects_freeze

    objects_freeze(load_urls=False)


@signals.worker_process_init.connect
def _warm_broker(**kwargs) -> None:
    """Each worker process publishes too (follow-up tasks): connect at its start."""
    from cmi.broker import warm_in_background

    warm_in_background()


@signals.worker_ready.connect
def _worker_metrics(**kwargs) -> None:
    """A worker serves its own metrics on METRICS_PORT (scraped on the private network)."""
    port = os.environ.get("METRICS_PORT")
    if port:
        from prometheus_client import start_http_server

        start_http_server(int(port))

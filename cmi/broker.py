"""Publishing to the broker: the one function every enqueue goes through.

A scan is accepted whether or not the broker answers; what the message would have
started, the catch-up pass finds in the database within a minute. So a publish must
never hold a web worker: one connection attempt with a short timeout, no retries,
and after a failure a small circuit breaker skips the broker entirely for a few
seconds, so the posts that follow do not each wait for the same dead broker.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import transaction

from cmi.requestid import current_request_id

log = logging.getLogger(__name__)


class CircuitBreaker:
    """Open for `cooldown` seconds after a failure; the first call after that is the probe."""

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._open_until = 0.0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        with self._lock:
            return time.monotonic() >= self._open_until

    def trip(self) -> None:
        with self._lock:
            self._open_until = time.monotonic() + self.cooldown

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


breaker = CircuitBreaker(cooldown=settings.BROKER_BREAKER_SECONDS)


def publish_on_commit(task: Any, *, args: tuple = (), kwargs: dict | None = None) -> None:
    """Publish once the current transaction commits, with the current request's id."""
    request_id = current_request_id()
    transaction.on_commit(lambda: publish(task, args=args, kwargs=kwargs, request_id=request_id))


def publish(
    task: Any, *, args: tuple = (), kwargs: dict | None = None, request_id: str | None = None
) -> bool:
    """Send `task` now; True if the broker took it, False (logged) if it did not.

    The caller must be able to lose the message: the database, not the broker, is
    the record of what is pending.
    """
    from cmi.celery import app
    from cmi.metrics import PUBLISH_FAILURES

    if not breaker.allows():
        PUBLISH_FAILURES.inc()
        log.info("broker circuit open; %s not published", task.name)
        return False
    timeout = settings.BROKER_PUBLISH_TIMEOUT
    started = time.monotonic()
    try:
        with app.pool.acquire(block=True, timeout=timeout) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
            task.apply_async(
                args=args,
                kwargs=kwargs,
                retry=False,
                connection=conn,
                headers={
                    "request_id": request_id or current_request_id(),
                    "published_at": time.time(),
                },
            )
    except Exception:  # the broker is the outside world: any failure opens the circuit
        breaker.trip()
        PUBLISH_FAILURES.inc()
        log.warning(
            "could not publish %s after %.0f ms; circuit open for %s s",
            task.name,
            (time.monotonic() - started) * 1000,
            breaker.cooldown,
            exc_info=True,
        )
        return False
    breaker.reset()
    return True


def warm() -> bool:
    """Pay a process's first publish at its start, not on a scan: load the tasks,
    open a pooled broker connection and declare the queues (the first publish of a
    process took 650 ms). Called once per web and worker process, in the background;
    True if the broker answered. Never raises, never trips the circuit: a broker
    that is down at start is the first real publish's business."""
    try:
        from cmi.celery import app

        app.loader.import_default_modules()
        app.finalize(auto=True)
        timeout = settings.BROKER_PUBLISH_TIMEOUT
        with app.pool.acquire(block=True, timeout=timeout) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
            with app.producer_or_acquire() as producer:
                for queue in app.amqp.queues.values():
                    queue.bind(producer.channel).declare()
    except Exception:  # the outside world: logged, and the process starts anyway
        log.info("broker not warmed at start", exc_info=True)
        return False
    return True


def warm_in_background() -> None:
    threading.Thread(target=warm, name="broker-warm", daemon=True).start()

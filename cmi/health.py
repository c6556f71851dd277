"""`GET /healthz` (liveness) and `GET /readyz` (readiness) for load balancers.

`/healthz`: is this process up and can it reach its database? One `SELECT 1`.

`/readyz`: database, broker and cache, each reported alone with its latency. The
status is 503 only when the database is down, because that is the one dependency
without which no request can be served; a broker or cache outage answers 200 with
`"status": "degraded"` (scans are still accepted and the catch-up pass orders later;
throttles fail open), so a load balancer does not take every web process out of
rotation for something they all share. Each check has a short timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker() -> None:
    from cmi.celery import app

    timeout = settings.BROKER_PUBLISH_TIMEOUT
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)


def _cache() -> None:
    # The fail-safe cache swallows errors, so probe the backend's own client.
    probe = getattr(cache, "probe", None)
    if probe is not None:
        probe()
        return
    cache.set("readyz", "1", 5)


def _check(name: str, run: Callable[[], None]) -> dict:
    started = time.monotonic()
    try:
        run()
    except Exception as exc:  # a dependency's failure of any kind is what this reports
        logger.warning("readyz: %s check failed: %s", name, exc)
        ok = False
    else:
        ok = True
    return {"ok": ok, "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        _database()
    except DatabaseError:
        logger.warning("healthz: database check failed", exc_info=True)
        return JsonResponse({"status": "unavailable", "database": False}, status=503)
    return JsonResponse({"status": "ok", "database": True})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": _check("database", _database),
        "broker": _check("broker", _broker),
        "cache": _check("cache", _cache),
    }
    if not checks["database"]["ok"]:
        status, code = "unavailable", 503
    elif all(c["ok"] for c in checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    response = JsonResponse({"status": status, "checks": checks}, status=code)
    if code == 503:
        response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER_SECONDS)
    return response

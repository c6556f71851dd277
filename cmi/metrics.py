"""Prometheus metrics at `/metrics`, readable only with METRICS_TOKEN.

Counters and histograms are kept per process; under gunicorn with several workers
set PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode) and the view
aggregates them. Gauges that live in the database (outbox backlog, failed
deliveries) are read at scrape time from sources the apps register in
`AppConfig.ready`, so this module imports no app above `cmi`.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from cmi.errors import json_not_found

SCAN_EVENTS = Counter(
    "cmi_scan_events", "Scan events answered by the scan API, by status", ["status"]
)
SCAN_INGEST_SECONDS = Histogram(
    "cmi_scan_ingest_seconds",
    "Time to ingest one scan batch",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5),
)
TASK_LATENCY_SECONDS = Histogram(
    "cmi_task_latency_seconds",
    "From publish (after the scans committed) to the task's end, by task",
    ["task"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
PUBLISH_FAILURES = Counter(
    "cmi_broker_publish_failures", "Publishes skipped or failed (the catch-up pass covers them)"
)

_GAUGES: dict[str, tuple[str, Callable[[], int]]] = {}


def gauge_source_register(name: str, documentation: str, read: Callable[[], int]) -> None:
    """A gauge read from the database at scrape time (idempotent per name)."""
    _GAUGES[name] = (documentation, read)


class DatabaseGauges(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        from cmi import rls

        with rls.system():  # platform-wide totals, across vendors by design
            values = [(n, d, read()) for n, (d, read) in sorted(_GAUGES.items())]
        for name, documentation, value in values:
            yield GaugeMetricFamily(name, documentation, value=value)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Not there (404) for anyone without the token: the public learns nothing."""
    if not _authorized(request):
        return json_not_found(request)
    registry = _registry()
    body = generate_latest(registry)
    extra = CollectorRegistry()
    extra.register(DatabaseGauges())
    body += generate_latest(extra)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def scan_results_count(answer: dict) -> None:
    """Count a scan batch's answer ({"accepted": n, "duplicates": n, "rejected": n})."""
    for status, key in (
        ("accepted", "accepted"),
        ("duplicate", "duplicates"),
        ("rejected", "rejected"),
    ):
        if answer.get(key):
            SCAN_EVENTS.labels(status=status).inc(answer[key])

"""What a web or worker process does once at its start, so its requests and tasks do not.

Python's full (oldest-generation) garbage collection walks every object the process
holds: after Django, DRF and the project are imported, some 150,000 of them, which took
35-140 ms on this machine kind each time it ran, in the middle of whatever request or
task triggered it (issue 10: the tail of one event per POST). Those objects live as
long as the process; `gc.freeze()` moves them out of the collector's reach, so later
collections walk only what requests and tasks created.
"""

from __future__ import annotations

import gc
import threading


def objects_freeze(*, load_urls: bool) -> None:
    """Import what the first request would import lazily (every view, serializer and
    form, through the URL patterns) when `load_urls`, then freeze what is alive."""
    if load_urls:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 (the import is the point)
    gc.collect()
    gc.freeze()


def web_process_start() -> None:
    """A gunicorn worker's start, in the background so that it serves at once: open
    its broker connection (cmi/broker.py warm), import the URL patterns and freeze.
    A request it serves meanwhile imports what it needs as before."""

    def start() -> None:
        from cmi.broker import warm

        warm()
        objects_freeze(load_urls=True)

    threading.Thread(target=start, name="process-start", daemon=True).start()

"""Rate limits on actions that cost something real, counted in Django's cache.

A limit is a fixed window: at most `limit` attempts per `window` seconds for one key.
Keys are hashed, so no address or e-mail appears in the cache. Counting is one
`add` and one `incr`, both atomic in Redis and memcached, so concurrent attempts
cannot slip past the limit together.

When the cache cannot count (Redis down, a timeout), the limiter fails closed and
raises LimiterUnavailable: the limits here guard mail sent to addresses that anyone can
type, and failing open would turn an outage into a mail cannon against our users and
our sending reputation, while a password reset can wait the minutes an outage lasts.
Callers answer 503 with Retry-After.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_AFTER = 60  # seconds a client is asked to wait while the cache is down


class LimiterUnavailable(Exception):
    """The cache could not count an attempt; the action must not go ahead."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int  # seconds until the current window ends


def hit(*, name: str, key: str, limit: int, window: int) -> Decision:
    """Count one attempt for `key` under the limit called `name`; say whether it may go."""
    now = int(time.time())
    start = now - now % window
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:40]
    cache_key = f"ratelimit:{name}:{digest}:{start}"
    try:
        cache.add(cache_key, 0, timeout=window + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired or evicted between add and incr: this is the first
            cache.set(cache_key, 1, timeout=window + 1)
            count = 1
    except Exception as exc:
        log.warning("rate limit %s cannot count: %s", name, exc)
        raise LimiterUnavailable(name) from exc
    return Decision(allowed=count <= limit, retry_after=max(1, start + window - now))


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with NUM_PROXIES trusted proxies in front the
    entry they appended to X-Forwarded-For (as DRF's throttles and the login lockout do),
    so that a client cannot choose its own key with a forged header."""
    proxies = settings.NUM_PROXIES
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


def password_reset_attempt(*, request: HttpRequest, address: str) -> Decision:
    """One password-reset request: counted per client, then per e-mail address (case and
    surrounding spaces ignored). A client over its limit is refused before its request
    counts against the address, so one noisy client cannot use up a user's own resets.
    Raises LimiterUnavailable when the cache cannot count."""
    limits = settings.PASSWORD_RESET_LIMITS
    by_client = hit(
        name="password-reset-client",
        key=client_address(request),
        limit=limits["client"][0],
        window=limits["client"][1],
    )
    normalized = address.strip().casefold()
    if not by_client.allowed or not normalized:
        return by_client
    return hit(
        name="password-reset-address",
        key=normalized,
        limit=limits["address"][0],
        window=limits["address"][1],
    )

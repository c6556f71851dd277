"""A Redis cache that fails safe: an unreachable cache is a miss, never an exception.

What uses the cache and which way it fails while Redis is down:
- API throttles (`/api/v1/auth/token`'s rate): fail OPEN. A get is a miss and a set
  is dropped, so nothing is throttled; password guessing stays bounded by the
  django-axes lockout, which lives in the database and keeps working.
- Login lockout (django-axes, database handler): not in the cache; fails CLOSED
  with the database (a 503, never a sign-in without the check).
- Sessions are in the database too, so nobody is signed out by a cache outage.
Short socket timeouts keep one request from waiting on a dead Redis; after a
failure the cache is skipped for a few seconds, as the broker publish is.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

from cmi.broker import CircuitBreaker

log = logging.getLogger(__name__)


class FailSafeRedisCache(RedisCache):
    breaker = CircuitBreaker(cooldown=5.0)

    def _safe(self, name: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.breaker.allows():
            return default
        try:
            return getattr(super(), name)(*args, **kwargs)
        except Exception:  # Redis is the outside world: any failure is a miss
            self.breaker.trip()
            log.warning("cache %s failed; treated as a miss", name, exc_info=True)
            return default

    def get(self, key, default=None, version=None):
        return self._safe("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._safe("get_many", {}, keys, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safe("set", None, key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safe("add", False, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safe("set_many", list(data), data, timeout, version)

    def delete(self, key, version=None):
        return self._safe("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._safe("delete_many", None, keys, version)

    def incr(self, key, delta=1, version=None):
        return self._safe("incr", delta, key, delta, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._safe("touch", False, key, timeout, version)

    def has_key(self, key, version=None):
        return self._safe("has_key", False, key, version)

    def clear(self):
        return self._safe("clear", None)

    def probe(self) -> None:
        """For /readyz: a round trip that raises when Redis does not answer."""
        self._cache.get_client(write=True).ping()

"""Password reset is rate-limited per e-mail address and per client address.

The limits (settings.PASSWORD_RESET_LIMITS: 3 per address and 20 per client an hour)
are counted in the cache by cmi/ratelimit.py. Over a limit the form answers 429 with
Retry-After and a page that says when to try again, and no mail goes; the page is
the same whether the address has an account or not. With the cache down the limiter
fails closed: 503 with Retry-After, no mail, never a 500.
"""

from __future__ import annotations

import os
import time

import pytest
from django.core import mail
from django.test import Client, override_settings

from cmi.ratelimit import client_address

RESET = "/password-reset/"


def ask(address: str, client_ip: str = "192.0.2.1", **extra):
    return Client(REMOTE_ADDR=client_ip).post(RESET, {"email": address}, **extra)


def test_a_fourth_reset_for_one_address_within_the_hour_is_refused(a):
    """Three links for one address (from three clients, in any letter case) go out; the
    fourth is a 429 with Retry-After and a page saying so, and sends nothing."""
    user = a.customers[0].manager
    for n, spelling in enumerate([user.email, user.email.upper(), f"  {user.email} "]):
        assert ask(spelling, client_ip=f"198.51.100.{n}").status_code == 302
    assert len(mail.outbox) == 3

    refused = ask(user.email, client_ip="198.51.100.9")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "Too many requests" in refused.content.decode()
    assert len(mail.outbox) == 3

    other = a.customers[0].staff  # another address from the same client still goes
    assert ask(other.email, client_ip="198.51.100.9").status_code == 302
    assert len(mail.outbox) == 4


def test_an_unknown_address_is_limited_the_same_way(db):
    """No account behind it: the same answers, so the limit tells nothing about accounts."""
    statuses = [
        ask("nobody@example.com", client_ip=f"198.51.100.{n}").status_code for n in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    assert mail.outbox == []


def test_one_client_asking_for_many_addresses_is_refused_after_twenty(a):
    """From one client, 20 requests for different addresses go through; the 21st is a 429
    and sends nothing, while another client is unaffected."""
    user = a.customers[0].manager
    for n in range(20):
        assert ask(f"someone{n}@example.com").status_code == 302
    refused = ask(user.email)
    assert refused.status_code == 429
    assert mail.outbox == []
    assert ask(user.email, client_ip="192.0.2.2").status_code == 302
    assert len(mail.outbox) == 1


def test_a_refused_client_does_not_use_up_the_address(a):
    """Requests refused for their client do not count against the address they name."""
    user = a.customers[0].manager
    for n in range(20):
        ask(f"someone{n}@example.com")
    for _ in range(5):
        assert ask(user.email).status_code == 429
    assert ask(user.email, client_ip="192.0.2.2").status_code == 302


@override_settings(PASSWORD_RESET_LIMITS={"address": (1, 1), "client": (20, 1)})
def test_the_limit_lifts_when_its_window_ends(a):
    """With a one-second window: refused, then allowed again once the window is over."""
    user = a.customers[0].manager
    time.sleep(1 - time.time() % 1)  # start at the top of a window
    assert ask(user.email).status_code == 302
    assert ask(user.email).status_code == 429
    time.sleep(1.05)
    assert ask(user.email).status_code == 302


@override_settings(NUM_PROXIES=1)
def test_behind_a_trusted_proxy_the_client_is_the_address_it_forwarded(rf):
    """With one trusted proxy, the last X-Forwarded-For entry (the one it appended)."""
    request = rf.post(RESET, HTTP_X_FORWARDED_FOR="203.0.113.7, 198.51.100.4")
    assert client_address(request) == "198.51.100.4"
    with override_settings(NUM_PROXIES=0):
        assert client_address(request) == "127.0.0.1"  # a forged header is ignored


DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


def test_with_the_cache_down_reset_fails_closed_with_503_not_500(a):
    """The limiter cannot count: 503 with Retry-After and a page saying to try shortly,
    and no mail goes."""
    user = a.customers[0].manager
    with override_settings(CACHES=DEAD_CACHE):
        response = Client(raise_request_exception=False).post(RESET, {"email": user.email})
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "Try again shortly" in response.content.decode()
    assert mail.outbox == []


REDIS_URL = os.environ.get("CELERY_BROKER_URL", "")


@pytest.mark.skipif(
    not REDIS_URL.startswith("redis://"), reason="this run has no Redis (CELERY_BROKER_URL)"
)
def test_the_limits_hold_on_a_real_redis_cache(a):
    """The same per-address limit counted in Redis, where production keeps it."""
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test-ratelimit-{os.getpid()}-{time.time_ns()}",
        }
    }
    user = a.customers[0].manager
    with override_settings(CACHES=redis_cache):
        statuses = [ask(user.email, client_ip=f"198.51.100.{n}").status_code for n in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3

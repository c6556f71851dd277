"""Outbound HTTP to receivers: the SSRF guard, signing, and one POST.

The guard resolves the URL's host and refuses it unless every address it resolves to
is a public unicast address (not private, loopback, link-local, multicast, reserved,
shared or unspecified). It runs when an endpoint is saved and again before every
POST, and the POST connects to the very address the guard approved (the host name
goes only into the Host header and TLS SNI/certificate check), so a DNS answer that
changes between the check and the connect (rebinding) cannot reach an inside address.
Redirects are never followed: a 3xx is a failed attempt. `WEBHOOKS_ALLOW_PRIVATE`
lifts the address rule for development and tests (a receiver on loopback).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

SECRET_PREFIX = "whsec_"
USER_AGENT = "CMI-Webhooks/1"
# Read at most this much of a receiver's answer: only its status matters.
RESPONSE_READ_LIMIT = 1024


class UrlCode(enum.StrEnum):
    """Stable error codes of an endpoint's URL (API `error.code`, field `url`)."""

    INVALID = "url_invalid"
    SCHEME = "url_scheme"
    CREDENTIALS = "url_credentials"
    UNRESOLVABLE = "url_unresolvable"
    PRIVATE_ADDRESS = "url_private_address"


class UrlRefused(ValueError):
    def __init__(self, code: UrlCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (for Host and TLS)
    port: int
    path: str  # path and query
    ip: str  # the address the request connects to


def secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed by the secret's bytes."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def address_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever its spelling
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(UrlCode.UNRESOLVABLE, f"The host {host} does not resolve.") from exc
    seen: list[str] = []
    for info in infos:
        addr = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone
        if addr not in seen:
            seen.append(addr)
    if not seen:
        raise UrlRefused(UrlCode.UNRESOLVABLE, f"The host {host} does not resolve.")
    return seen


def target_for(url: str) -> Target:
    """Check the URL and resolve it to the address to connect to, or raise UrlRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(UrlCode.INVALID, "Enter a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlRefused(UrlCode.SCHEME, "The URL must start with https:// or http://.")
    if parts.username or parts.password:
        raise UrlRefused(
            UrlCode.CREDENTIALS, "Leave credentials out of the URL; verify the signature instead."
        )
    host = parts.hostname
    if not host:
        raise UrlRefused(UrlCode.INVALID, "Enter a valid URL.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        for addr in addresses:
            if not address_is_public(ipaddress.ip_address(addr)):
                raise UrlRefused(
                    UrlCode.PRIVATE_ADDRESS,
                    f"{host} resolves to {addr}, a private or reserved address; "
                    "webhooks go to public addresses only.",
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    response_ms: int | None
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _pool(target: Target) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(
        connect=settings.WEBHOOKS_CONNECT_TIMEOUT, read=settings.WEBHOOKS_READ_TIMEOUT
    )
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            target.ip,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(
        target.ip, target.port, timeout=timeout, retries=False, maxsize=1
    )


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST once; never raises for the receiver's faults (they are the outcome)."""
    try:
        target = target_for(url)
    except UrlRefused as exc:
        return Outcome(None, None, f"{exc.code}: {exc.message}"[:300])
    default_port = 443 if target.scheme == "https" else 80
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != default_port:
        host_header += f":{target.port}"
    started = time.monotonic()
    pool = _pool(target)
    try:
        resp = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Host": host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            resp.read(RESPONSE_READ_LIMIT)
        finally:
            resp.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        elapsed = round((time.monotonic() - started) * 1000)
        return Outcome(None, elapsed, f"{type(exc).__name__}: {exc}"[:300])
    finally:
        pool.close()
    elapsed = round((time.monotonic() - started) * 1000)
    error = ""
    if 300 <= resp.status < 400:
        error = f"redirect to {resp.headers.get('Location', '?')} not followed"[:300]
    elif not 200 <= resp.status < 300:
        error = f"HTTP {resp.status}"
    return Outcome(resp.status, elapsed, error)

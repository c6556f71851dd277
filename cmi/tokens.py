"""Bearer secrets: random, prefixed by kind, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

DEVICE_PREFIX = "cmid_"
ERP_PREFIX = "cmik_"
USER_PREFIX = "cmiu_"


def token_new(prefix: str) -> tuple[str, str]:
    """Return (plain token, its hash)."""
    plain = prefix + secrets.token_urlsafe(32)
    return plain, token_hash(plain)


def token_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8", "surrogatepass")).hexdigest()

"""What each role hears of when a user has made no choice for a kind (per channel)."""

from __future__ import annotations

from cmi.events import KINDS
from cmi.models import Role
from notify.models import Channel

BOTH = frozenset({Channel.EMAIL, Channel.IN_APP})
IN_APP = frozenset({Channel.IN_APP})
NONE: frozenset[str] = frozenset()

_MANAGER = {
    "bin.at_zero": BOTH,
    "bin.below_min_unordered": BOTH,
    "order.awaiting_approval": BOTH,
    "order.approval_overdue": BOTH,
    "order.changed": BOTH,
    "scanner.silent": BOTH,
    "order.released": IN_APP,
    "order.acknowledged": IN_APP,
    "order.shipped": IN_APP,
    "order.received": IN_APP,
    "import.finished": IN_APP,
    "recommendations.ready": IN_APP,
}
_STAFF = {"bin.at_zero": IN_APP, "order.shipped": IN_APP, "order.received": IN_APP}
# A rep watches the customers: everything (for the assigned ones, or all without any).
_REP = dict.fromkeys(KINDS, BOTH)
_ADMIN = {
    **dict.fromkeys(KINDS, IN_APP),
    "edi.ack_overdue": BOTH,
    "delivery.failed": BOTH,
    "import.finished": BOTH,
}

DEFAULTS: dict[str, dict[str, frozenset[str]]] = {
    Role.CUSTOMER_MANAGER: _MANAGER,
    Role.CUSTOMER_STAFF: _STAFF,
    Role.VENDOR_REP: _REP,
    Role.VENDOR_ADMIN: _ADMIN,
}


def default_channels(role: str, kind: str) -> frozenset[str]:
    return DEFAULTS.get(role, {}).get(kind, NONE)


def kinds_for_role(role: str) -> list[str]:
    """The kinds a role can hear of at all: a customer's people never the vendor-wide ones."""
    vendor_staff = role in (Role.VENDOR_ADMIN, Role.VENDOR_REP)
    return [name for name, k in KINDS.items() if vendor_staff or k.scope == "customer"]

"""The portals' navigation: which pages each role is offered.

The roles here mirror the roles each view allows (`portal_view` / `customer_view`);
a test walks every entry for every role and checks the link opens (no 403).
"""

from __future__ import annotations

from dataclasses import dataclass

from cmi.scoping import CUSTOMER_USERS, VENDOR_STAFF

ALL_PEOPLE = VENDOR_STAFF | CUSTOMER_USERS
MANAGER_OR_VENDOR = VENDOR_STAFF | {"customer_manager"}


@dataclass(frozen=True)
class NavEntry:
    section: str  # the view's context["section"]; also its URL name
    label: str
    roles: frozenset[str]


# Pages of the vendor as a whole (the top bar).
VENDOR_NAV = (
    NavEntry("customers", "Customers", VENDOR_STAFF),
    NavEntry("vendor_orders", "Orders", VENDOR_STAFF),
    NavEntry("catalog", "Catalog", VENDOR_STAFF),
    NavEntry("webhooks", "Webhooks", frozenset({"vendor_admin"})),
    NavEntry("scorecards", "Scorecards", VENDOR_STAFF),
    NavEntry("settings", "Settings", frozenset({"vendor_admin"})),
)

# Pages of one customer (the tabs under the customer's name).
CUSTOMER_NAV = (
    NavEntry("dashboard", "Dashboard", ALL_PEOPLE),
    NavEntry("stock", "Stock", ALL_PEOPLE),
    NavEntry("orders", "Orders", ALL_PEOPLE),
    NavEntry("scan", "Scan", ALL_PEOPLE),
    NavEntry("scanners", "Scanners", MANAGER_OR_VENDOR),
    NavEntry("rfid", "RFID", MANAGER_OR_VENDOR),
    NavEntry("users", "Users", frozenset({"customer_manager", "vendor_admin"})),
    NavEntry("labels", "Labels", MANAGER_OR_VENDOR),
    NavEntry("bins_import", "Min/max files", VENDOR_STAFF),
    NavEntry("history", "History", ALL_PEOPLE),
    NavEntry("recommendations", "Recommended levels", ALL_PEOPLE),
    NavEntry("backtests", "Backtests", ALL_PEOPLE),
    NavEntry("customer_webhooks", "Webhooks", frozenset({"customer_manager", "vendor_admin"})),
    NavEntry("scorecard", "Scorecard", MANAGER_OR_VENDOR),
    NavEntry("customer_settings", "Settings", frozenset({"vendor_admin"})),
)


def nav_for(role: str, entries: tuple[NavEntry, ...]) -> list[NavEntry]:
    return [entry for entry in entries if role in entry.roles]

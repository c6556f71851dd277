"""Small template helpers of the portals: labels for codes, sortable column headers."""

from __future__ import annotations

from django import template

from cmi.models import Role

register = template.Library()

BIN_STATUS = {
    "at_zero": "At zero",
    "below_min": "Below min",
    "over_max": "Over max",
    "ok": "OK",
    "kanban": "Kanban",
}
ROLES = dict(Role.choices)
POLICIES = {
    "auto": "Released at once",
    "scheduled": "Released at cutoffs",
    "approval": "Needs approval",
}


@register.filter
def bin_status_label(status: str) -> str:
    return BIN_STATUS.get(status, status)


@register.filter
def role_label(role: str) -> str:
    return ROLES.get(role, role)


@register.filter
def policy_label(policy: str) -> str:
    """The release policy in a few words, for tight spaces (the model's label is a sentence)."""
    return POLICIES.get(policy, policy)


@register.filter
def side(role: str) -> str:
    """Whose side a person acts for, as the order history says it."""
    if role in ("vendor_admin", "vendor_rep"):
        return "vendor"
    if role in ("customer_manager", "customer_staff"):
        return "customer"
    return ""


@register.inclusion_tag("portals/_sort_header.html", takes_context=True)
def sort_header(context, label: str, key: str, numeric: bool = False) -> dict:
    """A column header that sorts by `key`; a second click reverses. aria-sort tells
    screen readers which column the table is sorted by."""
    current = context.get("sort", "")
    if current == key:
        direction, target = "ascending", f"-{key}"
    elif current == f"-{key}":
        direction, target = "descending", key
    else:
        direction, target = "none", key
    return {
        "request": context["request"],
        "label": label,
        "target": target,
        "direction": direction,
        "numeric": numeric,
        "hx_target": context.get("hx_target"),
    }


@register.simple_tag(takes_context=True)
def portal_nav(context, which: str) -> list[dict]:
    """Links of the top bar ("vendor") or of the customer's tabs ("customer") that the
    signed-in role may open, with the current one marked."""
    from django.urls import NoReverseMatch, reverse

    from portals.nav import CUSTOMER_NAV, VENDOR_NAV, nav_for

    scope = getattr(context["request"], "scope", None)
    if scope is None:
        return []
    current = context.get("section")
    if which == "vendor":
        entries, kwargs = VENDOR_NAV, {}
    else:
        entries, kwargs = CUSTOMER_NAV, {"customer_id": context["customer"].pk}
    links = []
    for entry in nav_for(scope.role, entries):
        try:
            target = reverse(f"portals:{entry.section}", kwargs=kwargs)
        except NoReverseMatch:  # a page not built in this installation yet (tests check all are)
            continue
        links.append({"label": entry.label, "url": target, "current": entry.section == current})
    return links

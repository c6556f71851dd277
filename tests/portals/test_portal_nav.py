"""The navigation offers each role exactly the pages that role may open."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portals.nav import CUSTOMER_NAV, VENDOR_NAV
from tests.portals.helpers import signed_in, url

PEOPLE = ("admin", "rep", "manager", "staff")
ROLE = {
    "admin": "vendor_admin",
    "rep": "vendor_rep",
    "manager": "customer_manager",
    "staff": "customer_staff",
}


def person(a, who):
    return getattr(a, who) if who in ("admin", "rep") else getattr(a.customers[0], who)


def test_every_entry_names_a_page_that_exists():
    """No entry is left out silently: each section resolves to a URL."""
    for entry in VENDOR_NAV:
        assert reverse(f"portals:{entry.section}")
    for entry in CUSTOMER_NAV:
        assert reverse(f"portals:{entry.section}", kwargs={"customer_id": 1})


@pytest.mark.parametrize("who", PEOPLE)
def test_each_role_sees_the_links_it_may_open_and_they_open(a, who):
    """Every link shown opens (200); every page left out of the navigation is 403 for
    that role, so the navigation and the views agree."""
    cw = a.customers[0]
    client = signed_in(person(a, who))
    role = ROLE[who]
    shown = {
        link["label"]
        for link in client.get(url("dashboard", cw)).context["nav_tabs"]  # the customer's tabs
    }
    for entry in CUSTOMER_NAV:
        status = client.get(url(entry.section, cw)).status_code
        if role in entry.roles:
            assert entry.label in shown and status == 200, (entry.section, status)
        else:
            assert entry.label not in shown and status == 403, (entry.section, status)
    for entry in VENDOR_NAV:
        status = client.get(reverse(f"portals:{entry.section}")).status_code
        assert status == (200 if role in entry.roles else 403), (entry.section, status)


def test_the_current_page_is_marked_for_screen_readers(a):
    """The tab of the page being shown carries aria-current="page", and only that one."""
    cw = a.customers[0]
    body = signed_in(a.admin).get(url("stock", cw)).content.decode()
    assert body.count('aria-current="page"') == 1
    assert f'href="{url("stock", cw)}" aria-current="page"' in body

"""The scanners and users pages in a real browser, at desktop and phone width: the token
is shown once with its warning, the revoke asks first, and nothing scrolls sideways.
Screenshots go to test-artifacts/screenshots/ (scanners-*, users-*)."""

from __future__ import annotations

import pytest

from stocking.models import ScannerDevice
from tests.portals.browser_kit import BROWSER_MARKS, DESKTOP, PHONE, fits_the_width, shoot
from tests.portals.helpers import url

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_manager_adds_and_revokes_a_scanner_and_sees_the_users(open_page, a, width, viewport):
    """The manager adds a scanner by its labelled fields; the token box says it will not be
    shown again; Revoke asks for confirmation before the scanner is revoked. The users
    page lists the people (long emails wrap). Both fit the screen."""
    cw = a.customers[0]
    page = open_page(cw.manager, viewport=viewport)
    page.goto(url("scanners", cw))
    page.get_by_label("Name").fill("Dock handheld")
    page.get_by_role("button", name="Add scanner").click()
    page.wait_for_load_state("domcontentloaded")
    assert "will not be shown again" in page.locator(".card--attention").inner_text()
    token = page.get_by_label("Token for Dock handheld").input_value()
    assert token.startswith("cmid_")
    assert fits_the_width(page)
    shoot(page, "scanners-token", width)

    page.goto(url("scanners", cw))
    assert token not in page.content()
    page.get_by_role("link", name="Revoke Dock handheld").click()
    page.wait_for_load_state("domcontentloaded")
    assert fits_the_width(page)
    shoot(page, "scanners-revoke", width)
    assert ScannerDevice.objects.get(name="Dock handheld").revoked_at is None
    page.get_by_role("button", name="Revoke Dock handheld").click()
    page.wait_for_load_state("domcontentloaded")
    assert "no longer works" in page.locator(".messages").inner_text()
    assert ScannerDevice.objects.get(name="Dock handheld").revoked_at is not None
    assert fits_the_width(page)
    shoot(page, "scanners", width)

    page.goto(url("users", cw))
    assert cw.staff.username in page.content()
    assert fits_the_width(page)
    shoot(page, "users", width)

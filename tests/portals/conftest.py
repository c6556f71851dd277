"""Fixtures of the portal tests; the helpers they share are in helpers.py and, for the
browser tests, browser_kit.py."""

from __future__ import annotations

import pytest

from tests.portals.browser_kit import (
    ARGS,
    CHROMIUM,
    CSP_LISTENER,
    CSP_MESSAGE,
    DESKTOP,
    sign_in,
)


@pytest.fixture
def a(world):
    """Vendor A: customers 0 and 1, each with a manager and a staff user; an admin and a rep."""
    return world["a"]


@pytest.fixture
def b(world):
    """Vendor B, the stranger: none of its ids may open anything for vendor A's users."""
    return world["b"]


@pytest.fixture(scope="module")
def _sync_database_access_beside_playwright():
    """Playwright's sync API runs an event loop in this thread, and Django refuses
    database access from a thread with a running loop. The tests' setup and checks are
    plain synchronous code, so the guard is lifted, for the browser test module only:
    left set, it would leak into subprocesses of other tests (`check --deploy` rejects it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_sync_database_access_beside_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser, live_server):
    """open_page(user=None, viewport=DESKTOP): a fresh browser context, signed in through
    the login form when a user is given.

    Every page it opens is watched for Content-Security-Policy violations (chromium's
    "Refused to ..." console messages, and the page's securitypolicyviolation events):
    any one fails the test at teardown. `open_page.csp_violations` lists them."""
    contexts = []
    violations: list[str] = []

    def watch(message) -> None:
        if CSP_MESSAGE in message.text or "Content Security Policy" in message.text:
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def make(user=None, viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        context.set_default_timeout(10_000)
        context.add_init_script(CSP_LISTENER)
        context.on("console", watch)
        contexts.append(context)
        page = context.new_page()
        if user is not None:
            sign_in(page, user.username)
        return page

    make.csp_violations = violations
    yield make
    for context in contexts:
        context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))

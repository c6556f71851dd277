"""What the Playwright tests share: where chromium is, viewports, signing in, screenshots.

The fixtures (`browser`, `open_page`) are in conftest.py; a browser test module sets
`pytestmark = BROWSER_MARKS`.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Reports each Content-Security-Policy violation on the console, where open_page watches;
# Playwright injects it outside the page's CSP.
CSP_MESSAGE = "CSP violation:"
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.effectiveDirective + " blocked " +
                (event.blockedURI || "inline") + " at " + event.sourceFile + ":" + event.lineNumber);
});
"""

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium not installed; .ci/run installs it"
    ),
]


# Resolves when htmx has wired up (processed) an element matching the selector; rejects
# after the same 10 s the tests' contexts wait for anything else.
_ARM_WIRED = """selector => {
  window.cmiWired = new Promise((resolve, reject) => {
    document.addEventListener("htmx:afterProcessNode", event => {
      if (event.target.matches(selector)) resolve();
    });
    setTimeout(() => reject(new Error("htmx never wired up " + selector)), 10000);
  });
}"""


@contextmanager
def htmx_wired(page, selector: str):
    """Leave the block only once htmx has wired up what it swapped in to match selector.

    htmx processes swapped-in content (a new form's hx-post, a new link's hx-get) in its
    settle step, a timer after the swap. A test that clicks the new element as soon as it
    is visible can land in between on a loaded machine: the browser then follows the
    plain link or submits the form natively and the page is left, which is how the
    in-place edit tests timed out waiting for "Saved". People never click that fast; the
    fallback keeps working for them."""
    page.evaluate(_ARM_WIRED, selector)
    yield
    page.evaluate("() => window.cmiWired")


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("domcontentloaded")


def shoot(page, name: str, width: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def fits_the_width(page) -> bool:
    """Nothing sticks out sideways: the page never scrolls horizontally."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

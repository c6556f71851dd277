"""The Content-Security-Policy, HSTS and the favicon, without a browser.

Every page answers with a policy that allows scripts and styles from this server only
(no 'unsafe-inline', no 'unsafe-eval', no other origin), and no page or template
carries what that policy would refuse: an inline <script> or <style>, an on* handler, a
style attribute or a javascript: URL. /favicon.ico is an icon served at the root, and
every page links it. In a production environment (subprocesses with SECURE set and no
HSTS setting) responses carry HSTS and `check --deploy` reports nothing.
The browser tests (test_portal_csp_browser.py) prove the policy holds in chromium.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.portals.helpers import signed_in, url

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = [ROOT / "templates", ROOT / "portals"]


class InlineFinder(HTMLParser):
    """Collects what a strict CSP refuses in a page's HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script_without_src = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            if not attributes.get("src"):
                self._in_script_without_src = attributes.get("type") not in (
                    "application/json",
                    "text/template",
                )
            elif re.match(r"^(https?:)?//", attributes["src"]):
                self.found.append(f"script from another origin: {attributes['src']}")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "link" and re.match(r"^(https?:)?//", attributes.get("href") or ""):
            self.found.append(f"link to another origin: {attributes['href']}")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...> handler")
            if name == "style":
                self.found.append(f"<{tag} style=...> attribute")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:...>")

    def handle_data(self, data):
        if self._in_script_without_src and data.strip():
            self.found.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script_without_src = False


def inline_in(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_policy(response, where: str) -> None:
    directives = policy_of(response)
    assert directives, f"{where}: no Content-Security-Policy header"
    assert directives["default-src"] == ["'self'"], where
    for name in ("script-src", "style-src"):
        assert directives[name] == ["'self'"], f"{where}: {name} {directives.get(name)}"
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]


def pages(a) -> dict[str, tuple[Client, str]]:
    cw = a.customers[0]
    manager, admin, anonymous = signed_in(cw.manager), signed_in(a.admin), Client()
    return {
        "login": (anonymous, reverse("portals:login")),
        "password reset": (anonymous, reverse("portals:password_reset")),
        "not found": (anonymous, "/no-such-page/"),
        "api docs": (anonymous, reverse("api-docs")),
        "admin login": (anonymous, "/admin/login/"),
        "dashboard": (manager, url("dashboard", cw)),
        "stock": (manager, url("stock", cw)),
        "stock (htmx)": (manager, url("stock", cw) + "?q=x"),
        "bin": (manager, url("bin", cw, bin_id=cw.bins[0].pk)),
        "orders": (manager, url("orders", cw)),
        "scan": (manager, url("scan", cw)),
        "scanners": (manager, url("scanners", cw)),
        "users": (manager, url("users", cw)),
        "customers": (admin, reverse("portals:customers")),
        "vendor orders": (admin, reverse("portals:vendor_orders")),
        "catalog": (admin, reverse("portals:catalog")),
        "labels": (admin, url("labels", cw) + f"?site={cw.site.pk}&format=code128"),
        "labels (QR)": (admin, url("labels", cw) + f"?site={cw.site.pk}&format=qr"),
        "bins import": (admin, url("bins_import", cw)),
        "settings": (admin, reverse("portals:settings")),
        "customer settings": (admin, url("customer_settings", cw)),
    }


def test_every_page_has_a_strict_policy_and_nothing_inline_it_would_refuse(a):
    """Each page (signed out, customer manager, vendor admin; full and htmx partial)."""
    for name, (client, target) in pages(a).items():
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(target, headers=headers)
            assert response.status_code in (200, 404), (name, response.status_code)
            assert_strict_policy(response, name)
            assert inline_in(response.content.decode()) == [], name


def test_the_finder_sees_what_the_policy_refuses():
    """The control for the test above: each kind of inline content is reported."""
    html = (
        '<script>alert(1)</script><script src="https://cdn.example/x.js"></script>'
        '<style>p{}</style><a onclick="x()" href="javascript:x()">a</a><p style="color:red">'
        '<script src="/static/ok.js"></script>'
    )
    assert len(inline_in(html)) == 6


def test_no_template_has_inline_script_style_or_handlers():
    """Every template in templates/ and portals/, read as text: what a render might not
    reach (an error branch, a rare role) is refused here too."""
    pattern = re.compile(
        r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I
    )
    offenders = []
    for folder in TEMPLATE_DIRS:
        for path in folder.rglob("*.html"):
            text = re.sub(r"\{#.*?#\}", "", path.read_text())  # template comments say "<style>"
            for number, line in enumerate(text.splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


def test_api_docs_script_is_a_file_and_assets_are_local(client):
    """The Swagger page loads its start-up script from this server (?script), and the
    Swagger UI bundle from our static files (drf-spectacular-sidecar), not a CDN."""
    page = client.get(reverse("api-docs")).content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert any("swagger-ui-bundle.js" in s and s.startswith("/static/") for s in sources)
    start = next(s for s in sources if "script" in s.split("?", 1)[-1])
    script = client.get(start.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def test_favicon_is_an_icon_at_the_root_and_pages_link_it(client, a):
    """GET /favicon.ico answers 200 with an icon (WhiteNoise serves it), and pages link it."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO header
    for name in ("login", "dashboard", "not found"):
        page_client, target = pages(a)[name]
        assert '<link rel="icon" href="/favicon.ico"' in page_client.get(target).content.decode()


# --- production settings, in subprocesses -------------------------------------------

SETTINGS_VARIABLES = re.findall(
    r"\benv(?:\.\w+)?\(\s*[\"']([A-Z0-9_]+)[\"']", (ROOT / "cmi" / "settings.py").read_text()
)


def production_environment(tmp_path: Path) -> dict[str, str]:
    """What docker-compose.yml gives the app: SECURE, DEBUG off, a real key, and no
    SECURE_HSTS_SECONDS (HSTS must follow SECURE by itself)."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL="memory://",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
        ALLOWED_HOSTS="cmi.example.com",
        SECURE="true",
    )
    return env


def test_check_deploy_reports_nothing_when_secure_is_set(tmp_path):
    """`manage.py check --deploy` with the production environment: no warning at all."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=production_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


PROBE = """
import django
django.setup()
from django.test import Client
response = Client().get("/favicon.ico", secure=True, headers={"Host": "cmi.example.com"})
print(response.status_code)
print(response.headers.get("Strict-Transport-Security", ""))
response = Client().get("/login/", secure=True, headers={"Host": "cmi.example.com"})
print(response.status_code)
print(response.headers.get("Strict-Transport-Security", ""))
print(response.headers.get("Content-Security-Policy", ""))
"""


@pytest.mark.parametrize("with_secure", [True, False])
def test_https_responses_carry_hsts_when_secure_is_set(tmp_path, with_secure):
    """With SECURE=true an HTTPS response carries a year of HSTS with subdomains and
    preload; with SECURE=false (trying it over plain HTTP) there is none."""
    env = production_environment(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "cmi.settings"
    if not with_secure:
        env["SECURE"] = "false"
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    icon_status, icon_hsts, login_status, login_hsts, csp = result.stdout.splitlines()[-5:]
    assert (icon_status, login_status) == ("200", "200"), result.stdout
    if with_secure:
        expected = "max-age=31536000; includeSubDomains; preload"
        assert icon_hsts == login_hsts == expected
    else:
        assert icon_hsts == login_hsts == ""
    assert "script-src 'self'" in csp

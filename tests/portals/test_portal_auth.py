"""Signing in and out, locking out password guessers, and resetting a password by email."""

from __future__ import annotations

import re

from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from cmi.models import ApiToken
from tests.factories import PASSWORD
from tests.portals.helpers import signed_in, url

LOGIN = "/login/"


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_login_page_has_a_labelled_form_with_csrf(db):
    body = Client().get(LOGIN).content.decode()
    assert 'name="csrfmiddlewaretoken"' in body
    assert '<label for="id_username">' in body and '<label for="id_password">' in body
    assert 'autocomplete="current-password"' in body


def test_signing_in_lands_on_the_roles_home(a):
    """The right password signs a manager in and sends them home, then to the dashboard."""
    cw = a.customers[0]
    client = Client()
    resp = sign_in(client, cw.manager.username)
    assert resp.status_code == 302 and resp["Location"] == "/"
    assert client.get("/")["Location"] == url("dashboard", cw)


def test_signing_in_honours_a_safe_next_and_ignores_another_host(a):
    cw = a.customers[0]
    target = url("stock", cw)
    resp = Client().post(
        LOGIN, {"username": cw.staff.username, "password": PASSWORD, "next": target}
    )
    assert resp["Location"] == target
    resp = Client().post(
        LOGIN, {"username": cw.staff.username, "password": PASSWORD, "next": "https://evil.test/"}
    )
    assert resp["Location"] == "/"


def test_wrong_password_shows_an_error_and_signs_nobody_in(a):
    client = Client()
    resp = sign_in(client, a.admin.username, "not-the-password")
    assert resp.status_code == 200
    assert "do not match" in resp.content.decode()
    assert client.get("/")["Location"] == reverse("portals:login")


def test_sign_out_takes_a_post_only(a):
    """A GET (a link, a prefetch) cannot sign anyone out; the POST from the header does."""
    client = signed_in(a.admin)
    assert client.get("/logout/").status_code == 405
    assert client.get(reverse("portals:customers")).status_code == 200
    resp = client.post("/logout/")
    assert resp.status_code == 302 and resp["Location"] == LOGIN
    assert client.get(reverse("portals:customers")).status_code == 302


def test_csrf_is_enforced_on_the_portal_forms(a):
    """A POST without the CSRF token is refused (403), on sign-in and on a write."""
    cw = a.customers[0]
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, cw.manager.username).status_code == 403
    client.force_login(a.admin)
    resp = client.post(url("bin_levels", cw, bin_id=cw.bins[0].pk), {"min_qty": 1, "max_qty": 2})
    assert resp.status_code == 403


def test_five_wrong_passwords_lock_the_account_out(a):
    """django-axes: the fifth wrong password from one address locks that username out
    (429, the lockout page); even the right password is then refused, while another
    user at the same address still signs in."""
    assert settings.AXES_FAILURE_LIMIT == 5
    victim = a.customers[0].manager
    client = Client()
    for _ in range(4):
        assert sign_in(client, victim.username, "guess").status_code == 200
    locked = sign_in(client, victim.username, "guess")
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    assert sign_in(client, victim.username).status_code == 429
    assert client.get("/")["Location"] == reverse("portals:login")
    assert AccessAttempt.objects.filter(username=victim.username).exists()

    other = Client()
    assert sign_in(other, a.customers[0].staff.username)["Location"] == "/"


def test_a_new_x_forwarded_for_per_guess_does_not_dodge_the_lockout(a):
    """The address axes counts is the connection's, not a header the guesser writes."""
    victim = a.customers[0].staff
    client = Client()
    for n in range(4):
        resp = sign_in(client, victim.username, "guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert resp.status_code == 200
    resp = sign_in(client, victim.username, "guess", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert resp.status_code == 429


def test_the_world_users_sign_in_with_axes_on(a, b):
    """Axes is on in tests, and the fixture users sign in through it."""
    assert settings.AUTHENTICATION_BACKENDS[0] == "cmi.auth_backends.LockoutBackend"
    for user in (a.admin, a.rep, b.customers[1].manager, b.customers[1].staff):
        assert sign_in(Client(), user.username)["Location"] == "/"


def test_a_sign_in_without_a_request_is_not_counted_but_still_checked(a):
    """client.login() (and management commands) call authenticate() with no request:
    there is no address to count, so axes steps aside and the password is still checked."""
    assert Client().login(username=a.admin.username, password=PASSWORD)
    assert not Client().login(username=a.admin.username, password="guess")
    assert not AccessAttempt.objects.exists()


def test_api_token_login_still_works_with_axes(a):
    """POST /api/v1/auth/token authenticates with the request, as axes needs: 201."""
    resp = APIClient().post(
        "/api/v1/auth/token",
        {"username": a.rep.username, "password": PASSWORD},
        format="json",
    )
    assert resp.status_code == 201, resp.content
    assert ApiToken.objects.filter(user=a.rep).count() == 1


def test_api_token_login_shares_the_lockout(a):
    """Five wrong passwords on the API lock the username there too: the right one then
    gets no token (401), so the API is no way around the portal's lockout."""
    client = APIClient()
    body = {"username": a.rep.username, "password": "guess"}
    for _ in range(5):
        assert client.post("/api/v1/auth/token", body, format="json").status_code == 401
    body["password"] = PASSWORD
    assert client.post("/api/v1/auth/token", body, format="json").status_code == 401
    assert not ApiToken.objects.exists()
    assert sign_in(Client(), a.rep.username).status_code == 429


def test_password_reset_by_email(a):
    """The reset form mails a one-time link; following it sets a new password that then
    signs in, and the old one no longer does."""
    user = a.customers[0].staff
    resp = Client().post("/password-reset/", {"email": user.email})
    assert resp.status_code == 302 and resp["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)

    client = Client()
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    new = "a-brand-new-passphrase-42"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}
    )
    assert done.status_code == 302 and done["Location"] == "/password-reset/complete/"
    assert sign_in(Client(), user.username, new)["Location"] == "/"
    assert sign_in(Client(), user.username).status_code == 200  # the old one: refused


def test_password_reset_for_an_unknown_address_says_the_same(db):
    """No account enumeration: an unknown address gets the same answer and no mail."""
    resp = Client().post("/password-reset/", {"email": "nobody@example.com"})
    assert resp.status_code == 302 and resp["Location"] == "/password-reset/sent/"
    assert mail.outbox == []

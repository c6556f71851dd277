"""The scanners and users pages: who may use them, the 404 wall, the one-time token,
revoking, inviting by email, deactivating, and a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cmi.models import Membership
from cmi.services import api_token_create
from stocking.models import ScannerDevice
from stocking.setup import device_create
from tests.conftest import bearer, scan
from tests.factories import PASSWORD
from tests.portals.helpers import signed_in, url

User = get_user_model()
SCANS = "/api/v1/scans"


def person(vw, who: str, n: int = 0):
    return getattr(vw.customers[n], who) if who in ("manager", "staff") else getattr(vw, who)


def scans_with(token: str, cw):
    return bearer(token).post(
        SCANS, {"scans": [scan("issue", cw.bins[0].label, quantity=1)]}, format="json"
    )


# --- who may open the pages ------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "scanners", "users"),
    [
        ("manager", 200, 200),
        ("admin", 200, 200),
        ("rep", 200, 403),
        ("staff", 403, 403),
    ],
)
def test_roles_of_the_scanners_and_users_pages(a, who, scanners, users):
    """Scanners: managers and vendor staff; users: managers and vendor admins. The rest 403."""
    cw = a.customers[0]
    client = signed_in(person(a, who))
    assert client.get(url("scanners", cw)).status_code == scanners
    assert client.get(url("users", cw)).status_code == users


@pytest.mark.parametrize("who", ["staff", "rep"])
def test_roles_without_the_users_page_cannot_post_to_it_either(a, who):
    """The writes of the users page are refused with 403 too, and change nothing."""
    cw = a.customers[0]
    client = signed_in(person(a, who))
    resp = client.post(
        url("user_invite", cw), {"email": "x@example.com", "name": "X", "role": "customer_staff"}
    )
    assert resp.status_code == 403
    assert client.post(url("user_deactivate", cw, user_id=cw.manager.pk)).status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()
    assert User.objects.get(pk=cw.manager.pk).is_active


def test_staff_cannot_add_or_revoke_scanners(a):
    cw = a.customers[0]
    client = signed_in(cw.staff)
    assert client.post(url("scanner_add", cw), {"name": "Mine"}).status_code == 403
    assert client.post(url("scanner_revoke", cw, device_id=cw.device.pk)).status_code == 403
    assert ScannerDevice.objects.get(pk=cw.device.pk).revoked_at is None


# --- the 404 wall ------------------------------------------------------------------------


def _all_urls(cw, device_id: int, user_id: int) -> list[tuple[str, str]]:
    return [
        ("get", url("scanners", cw)),
        ("post", url("scanner_add", cw)),
        ("get", url("scanner_revoke", cw, device_id=device_id)),
        ("post", url("scanner_revoke", cw, device_id=device_id)),
        ("get", url("users", cw)),
        ("post", url("user_invite", cw)),
        ("get", url("user_deactivate", cw, user_id=user_id)),
        ("post", url("user_deactivate", cw, user_id=user_id)),
        ("post", url("user_reactivate", cw, user_id=user_id)),
        ("post", url("user_invite_resend", cw, user_id=user_id)),
    ]


@pytest.mark.parametrize("who", ["admin", "manager"])
def test_another_vendors_customer_is_404_on_every_url(a, b, who):
    """Vendor B's admin or manager opening vendor A's customer gets 404 on every page and
    action, and nothing changes."""
    cw = a.customers[0]
    client = signed_in(person(b, who))
    for method, address in _all_urls(cw, cw.device.pk, cw.staff.pk):
        assert getattr(client, method)(address).status_code == 404, (method, address)
    assert ScannerDevice.objects.get(pk=cw.device.pk).revoked_at is None
    assert User.objects.get(pk=cw.staff.pk).is_active


def test_another_customers_manager_is_404_on_every_url(a):
    """Customer 1's manager cannot reach customer 0's scanners or users."""
    cw = a.customers[0]
    client = signed_in(a.customers[1].manager)
    for method, address in _all_urls(cw, cw.device.pk, cw.staff.pk):
        assert getattr(client, method)(address).status_code == 404, (method, address)


def test_a_rep_sees_only_assigned_customers(a):
    """A rep assigned to customer 1 gets 404 on customer 0's scanners, 200 on customer 1's."""
    a.rep.membership.assigned_customers.add(a.customers[1].customer)
    client = signed_in(a.rep)
    assert client.get(url("scanners", a.customers[0])).status_code == 404
    assert client.get(url("scanners", a.customers[1])).status_code == 200


@pytest.mark.parametrize("stranger", ["other_customer", "other_vendor", "missing"])
def test_foreign_scanner_and_user_ids_under_ones_own_customer_are_404(a, b, stranger):
    """Under customer 0's own URL, a scanner or user of customer 1, of vendor B, or one that
    does not exist is a 404 for the vendor admin (who may see both customers) and changes
    nothing."""
    cw = a.customers[0]
    other = {"other_customer": a.customers[1], "other_vendor": b.customers[0]}.get(stranger)
    device_id = other.device.pk if other else 10**9
    user_id = other.staff.pk if other else 10**9
    client = signed_in(a.admin)
    for method, address in _all_urls(cw, device_id, user_id)[2:]:
        if address.endswith(("scanners/new/", "users/", "users/invite/")):
            continue
        assert getattr(client, method)(address).status_code == 404, (method, address)
    if other:
        assert ScannerDevice.objects.get(pk=other.device.pk).revoked_at is None
        assert User.objects.get(pk=other.staff.pk).is_active


def test_vendor_staff_are_not_users_of_a_customer(a):
    """The vendor's own people are not in a customer's list and cannot be deactivated there."""
    cw = a.customers[0]
    client = signed_in(a.admin)
    body = client.get(url("users", cw)).content.decode()
    assert cw.manager.username in body and a.rep.username not in body
    assert client.post(url("user_deactivate", cw, user_id=a.rep.pk)).status_code == 404
    assert User.objects.get(pk=a.rep.pk).is_active


def test_wrong_methods_are_405_not_500(a):
    cw = a.customers[0]
    client = signed_in(cw.manager)
    assert client.get(url("scanner_add", cw)).status_code == 405
    assert client.get(url("user_invite", cw)).status_code == 405
    assert client.get(url("user_reactivate", cw, user_id=cw.staff.pk)).status_code == 405
    assert client.put(url("scanner_revoke", cw, device_id=cw.device.pk)).status_code == 405


def test_csrf_is_enforced_on_every_form(a):
    """Each POST of these pages without the CSRF token is a 403 and changes nothing."""
    cw = a.customers[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(cw.manager)
    for address, data in [
        (url("scanner_add", cw), {"name": "Sneaky"}),
        (url("scanner_revoke", cw, device_id=cw.device.pk), {}),
        (url("user_invite", cw), {"email": "s@example.com", "name": "S", "role": "customer_staff"}),
        (url("user_deactivate", cw, user_id=cw.staff.pk), {}),
        (url("user_reactivate", cw, user_id=cw.staff.pk), {}),
    ]:
        assert client.post(address, data).status_code == 403, address
    assert not ScannerDevice.objects.filter(name="Sneaky").exists()
    assert ScannerDevice.objects.get(pk=cw.device.pk).revoked_at is None
    assert User.objects.get(pk=cw.staff.pk).is_active


# --- scanners ----------------------------------------------------------------------------


def test_scanner_list_shows_site_last_seen_silent_and_revoked(a):
    """Each scanner with its site, when it was last heard from and whether that (or, never
    heard from, its adding) is more than 24 hours ago (the default scanner-silent
    threshold): silent; revoked ones marked so."""
    cw = a.customers[0]
    now = timezone.now()
    ScannerDevice.objects.filter(pk=cw.device.pk).update(last_seen_at=now - dt.timedelta(hours=25))
    fresh, _ = device_create(scope=a.scope, customer_id=cw.customer.pk, name="Fresh one")
    ScannerDevice.objects.filter(pk=fresh.pk).update(last_seen_at=now - dt.timedelta(hours=1))
    device_create(scope=a.scope, customer_id=cw.customer.pk, name="Dock gun", site_id=cw.site.pk)
    mute, _ = device_create(scope=a.scope, customer_id=cw.customer.pk, name="Never used")
    ScannerDevice.objects.filter(pk=mute.pk).update(created_at=now - dt.timedelta(days=2))
    gone, _ = device_create(scope=a.scope, customer_id=cw.customer.pk, name="Old gun")
    ScannerDevice.objects.filter(pk=gone.pk).update(revoked_at=now)
    body = signed_in(cw.manager).get(url("scanners", cw)).content.decode()
    body = body.replace("\xa0", " ")  # timesince joins with non-breaking spaces
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<span class="strong">([^<]+)</span>.*?</tr>', body, re.S)
    }
    assert set(rows) == {"Handheld 1", "Fresh one", "Dock gun", "Never used", "Old gun"}
    assert "silent" in rows["Handheld 1"] and "1 day" in rows["Handheld 1"]
    assert "silent" not in rows["Fresh one"] and "1 hour" in rows["Fresh one"]
    # Never heard from: silent once it has had a day to report, not the minute it is added.
    assert "never" in rows["Dock gun"] and "Main plant" in rows["Dock gun"]
    assert "silent" not in rows["Dock gun"]
    assert "never" in rows["Never used"] and "silent" in rows["Never used"]
    assert "Revoked" in rows["Old gun"] and "silent" not in rows["Old gun"]
    assert "Revoke<" not in rows["Old gun"] and "Revoke<" in rows["Fresh one"]


def test_new_scanner_token_is_shown_once_uncached_and_works_until_revoked(a):
    """Adding a scanner answers with its token on that page only (no-store, nothing in the
    session, only its hash in the database); the token posts scans; after the confirmed
    revoke the real scan API refuses it with 401 token_revoked."""
    cw = a.customers[0]
    client = signed_in(cw.manager)
    resp = client.post(url("scanner_add", cw), {"name": "Dock handheld", "site": cw.site.pk})
    assert resp.status_code == 201
    assert "no-store" in resp["Cache-Control"]
    body = resp.content.decode()
    assert "will not be shown again" in body
    token = re.search(r'id="new-token"[^>]*value="(cmid_[^"]+)"', body).group(1)
    device = ScannerDevice.objects.get(name="Dock handheld")
    assert (device.customer_id, device.site_id) == (cw.customer.pk, cw.site.pk)
    assert device.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(dict(client.session))
    assert token not in client.get(url("scanners", cw)).content.decode()  # never again

    assert scans_with(token, cw).json()["accepted"] == 1

    confirm = client.get(url("scanner_revoke", cw, device_id=device.pk))
    assert confirm.status_code == 200
    assert 'method="post"' in confirm.content.decode() and "Revoke Dock handheld" in (
        confirm.content.decode()
    )
    assert ScannerDevice.objects.get(pk=device.pk).revoked_at is None  # GET only asks
    resp = client.post(url("scanner_revoke", cw, device_id=device.pk))
    assert resp.status_code == 302 and resp["Location"] == url("scanners", cw)
    assert ScannerDevice.objects.get(pk=device.pk).revoked_at is not None
    refused = scans_with(token, cw)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"
    assert scans_with(cw.token, cw).json()["accepted"] == 1  # the other scanner still works


def test_vendor_rep_adds_a_scanner_for_the_customer(a):
    cw = a.customers[1]
    resp = signed_in(a.rep).post(url("scanner_add", cw), {"name": "Van kit"})
    assert resp.status_code == 201
    assert ScannerDevice.objects.get(name="Van kit").customer_id == cw.customer.pk


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": ""}, "This field is required"),
        ({"name": "n" * 101}, "at most 100 characters"),
        ({"name": "Gun", "site": "main"}, "Select a valid choice"),
        ({"name": "Gun", "site": "other-customer"}, "Select a valid choice"),
    ],
)
def test_bad_scanner_input_is_a_400_with_the_message(a, data, error):
    """A blank or long name, or a site that is not one of this customer's, is shown on the
    form (400) and makes no scanner."""
    cw = a.customers[0]
    if data.get("site") == "other-customer":
        data = {**data, "site": a.customers[1].site.pk}
    count = ScannerDevice.objects.count()
    resp = signed_in(cw.manager).post(url("scanner_add", cw), data)
    assert resp.status_code == 400
    assert error in resp.content.decode()
    assert "new-token" not in resp.content.decode()
    assert ScannerDevice.objects.count() == count


def test_revoking_a_revoked_scanner_is_harmless(a):
    cw = a.customers[0]
    client = signed_in(cw.manager)
    client.post(url("scanner_revoke", cw, device_id=cw.device.pk))
    first = ScannerDevice.objects.get(pk=cw.device.pk).revoked_at
    assert client.post(url("scanner_revoke", cw, device_id=cw.device.pk)).status_code == 302
    assert client.get(url("scanner_revoke", cw, device_id=cw.device.pk)).status_code == 302
    assert ScannerDevice.objects.get(pk=cw.device.pk).revoked_at == first


# --- users -------------------------------------------------------------------------------


def invite(client, cw, **data):
    body = {"email": "new.person@example.com", "name": "Nora Person", "role": "customer_staff"}
    return client.post(url("user_invite", cw), {**body, **data})


def test_user_list_shows_the_customers_people(a):
    """Name, email, role, status and last sign-in of each of the customer's users; nobody
    of the other customer."""
    cw = a.customers[0]
    User.objects.filter(pk=cw.staff.pk).update(first_name="Sam", last_name="Shelf")
    body = signed_in(cw.manager).get(url("users", cw)).content.decode()
    assert "Sam Shelf" in body and cw.staff.email in body and "Customer staff" in body
    assert cw.manager.username in body and "Customer manager" in body
    assert a.customers[1].staff.username not in body
    assert "never" in body  # the staff user has not signed in


def test_invite_creates_a_user_who_sets_a_password_by_the_mail_link(
    a, mailoutbox, django_capture_on_commit_callbacks
):
    """Inviting makes the user (no usable password, username from the email) and its
    membership; once committed, one mail goes out whose link lets them choose a password,
    after which they sign in and land on the customer's dashboard."""
    cw = a.customers[0]
    with django_capture_on_commit_callbacks(execute=True):
        resp = invite(signed_in(cw.manager), cw, role="customer_manager")
    assert resp.status_code == 302 and resp["Location"] == url("users", cw)
    user = User.objects.get(email="new.person@example.com")
    assert (user.username, user.first_name, user.last_name) == (
        "new.person@example.com",
        "Nora",
        "Person",
    )
    assert not user.has_usable_password() and user.is_active
    assert (user.membership.customer_id, user.membership.role) == (
        cw.customer.pk,
        "customer_manager",
    )
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["new.person@example.com"] and cw.customer.name in mail.subject
    assert "new.person@example.com" in mail.body  # the username they sign in with
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", mail.body).group(1)

    visitor = Client()
    form_page = visitor.get(link, follow=True)
    # They never had a password: the page asks them to set one, not to replace it.
    page = form_page.content.decode()
    assert form_page.status_code == 200 and "Set your password" in page
    assert "Choose a new password" not in page
    new_password = "a-Fresh-password-42"
    done = visitor.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302
    signed = Client()
    resp = signed.post("/login/", {"username": user.username, "password": new_password})
    assert resp.status_code == 302
    assert signed.get("/")["Location"] == url("dashboard", cw)
    # The link works once.
    assert "no longer works" in Client().get(link, follow=True).content.decode()


def test_invite_is_audited_on_the_list(a, django_capture_on_commit_callbacks):
    cw = a.customers[0]
    client = signed_in(cw.manager)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, cw)
    body = client.get(url("users", cw)).content.decode()
    assert f"Invited as Customer staff by {cw.manager.username}" in body
    assert "Invited</span>" in body  # the status badge until a password is chosen


@pytest.mark.parametrize("email", ["{staff}", "{staff_upper}", "{other_vendor}"])
def test_an_email_in_use_is_a_form_error_not_a_500(
    a, b, mailoutbox, email, django_capture_on_commit_callbacks
):
    """An email some account already has (any case, any vendor) is shown on the form (400);
    no user and no mail are made."""
    cw = a.customers[0]
    email = {
        "{staff}": cw.staff.email,
        "{staff_upper}": cw.staff.email.upper(),
        "{other_vendor}": b.customers[0].staff.email,
    }[email]
    count = User.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        resp = invite(signed_in(cw.manager), cw, email=email)
    assert resp.status_code == 400
    assert "Someone already uses this email." in resp.content.decode()
    assert User.objects.count() == count and mailoutbox == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address"),
        ({"name": ""}, "name", "This field is required"),
        ({"role": "vendor_admin"}, "role", "Select a valid choice"),
    ],
)
def test_bad_invite_input_is_a_400_on_its_field(a, data, field, message):
    cw = a.customers[0]
    count = User.objects.count()
    resp = invite(signed_in(a.admin), cw, **data)
    assert resp.status_code == 400
    body = resp.content.decode()
    assert f'id="id_{field}_error">{message}' in body
    assert User.objects.count() == count


def test_usernames_stay_unique_when_the_email_was_a_username(a, django_capture_on_commit_callbacks):
    """Someone whose username is the invited email (with another email) does not block the
    invite: the new user gets the same name with -2."""
    cw = a.customers[0]
    User.objects.create_user(username="new.person@example.com", email="old@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(signed_in(cw.manager), cw).status_code == 302
    assert User.objects.get(email="new.person@example.com").username == "new.person@example.com-2"


def test_deactivate_after_confirmation_locks_the_user_out_everywhere(a):
    """GET asks; POST deactivates: their session ends, they cannot sign in, their personal
    API token is refused, and the list says who did it and when."""
    cw = a.customers[0]
    staff_session = signed_in(cw.staff)
    assert staff_session.get(url("stock", cw)).status_code == 200
    _, token = api_token_create(user=cw.staff)
    assert bearer(token).get("/api/v1/bins").status_code == 200

    manager = signed_in(cw.manager)
    confirm = manager.get(url("user_deactivate", cw, user_id=cw.staff.pk))
    assert confirm.status_code == 200 and 'method="post"' in confirm.content.decode()
    assert User.objects.get(pk=cw.staff.pk).is_active  # GET only asks
    resp = manager.post(url("user_deactivate", cw, user_id=cw.staff.pk))
    assert resp.status_code == 302 and resp["Location"] == url("users", cw)

    assert not User.objects.get(pk=cw.staff.pk).is_active
    assert staff_session.get(url("stock", cw)).status_code == 302  # signed out
    assert (
        Client().post("/login/", {"username": cw.staff.username, "password": PASSWORD}).status_code
        == 200
    )
    assert bearer(token).get("/api/v1/bins").status_code == 401
    entry = LogEntry.objects.get(object_id=str(cw.staff.pk), change_message="Deactivated")
    assert entry.user_id == cw.manager.pk
    body = manager.get(url("users", cw)).content.decode()
    assert f"Deactivated by {cw.manager.username}" in body
    when = entry.action_time.astimezone(ZoneInfo(cw.customer.timezone))  # the customer's zone
    assert f"{when:%b} {when.day}, {when:%Y %H:%M}" in body


def test_reactivate_lets_them_back_in(a):
    cw = a.customers[0]
    client = signed_in(a.admin)
    client.post(url("user_deactivate", cw, user_id=cw.staff.pk))
    resp = client.post(url("user_reactivate", cw, user_id=cw.staff.pk))
    assert resp.status_code == 302
    assert User.objects.get(pk=cw.staff.pk).is_active
    assert f"Reactivated by {a.admin.username}" in client.get(url("users", cw)).content.decode()
    assert signed_in(cw.staff).get(url("stock", cw)).status_code == 200


def test_a_manager_cannot_deactivate_themselves(a):
    """Their own row has no button, the confirmation page says why, and a forged POST is a
    400 that leaves them active."""
    cw = a.customers[0]
    client = signed_in(cw.manager)
    assert (
        url("user_deactivate", cw, user_id=cw.manager.pk)
        not in client.get(url("users", cw)).content.decode()
    )
    page = client.get(url("user_deactivate", cw, user_id=cw.manager.pk)).content.decode()
    assert "your own account" in page and 'method="post"' not in page.split("<main")[1]
    resp = client.post(url("user_deactivate", cw, user_id=cw.manager.pk))
    assert resp.status_code == 400
    assert "You cannot deactivate your own account." in resp.content.decode()
    assert User.objects.get(pk=cw.manager.pk).is_active


def test_a_manager_may_deactivate_another_manager(a):
    cw = a.customers[0]
    other = User.objects.create_user(username="second-manager", email="m2@example.com")
    Membership.objects.create(
        user=other, vendor=a.vendor, customer=cw.customer, role="customer_manager"
    )
    assert (
        signed_in(cw.manager).post(url("user_deactivate", cw, user_id=other.pk)).status_code == 302
    )
    assert not User.objects.get(pk=other.pk).is_active


# --- queries -----------------------------------------------------------------------------


def count_queries(client, address: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(address).status_code == 200
    return len(ctx.captured_queries)


def test_scanners_page_costs_the_same_queries_with_2_or_40_scanners(
    a, django_assert_max_num_queries
):
    """session, user, membership, customer, sites, count, page, the customer's
    scanner-silent threshold: 8 whatever the number."""
    cw = a.customers[0]
    client = signed_in(cw.manager)
    device_create(scope=a.scope, customer_id=cw.customer.pk, name="Second", site_id=cw.site.pk)
    small = count_queries(client, url("scanners", cw))
    for n in range(38):
        device_create(
            scope=a.scope, customer_id=cw.customer.pk, name=f"Gun {n}", site_id=cw.site.pk
        )
    with django_assert_max_num_queries(8):
        large = count_queries(client, url("scanners", cw))
    assert small == large


def test_users_page_costs_the_same_queries_with_2_or_40_users(a, django_assert_max_num_queries):
    """session, user, membership, customer, count, page: 6 whatever the number."""
    cw = a.customers[0]
    client = signed_in(a.admin)
    small = count_queries(client, url("users", cw))
    for n in range(38):
        user = User.objects.create_user(username=f"many-{n}", email=f"many{n}@example.com")
        Membership.objects.create(
            user=user, vendor=a.vendor, customer=cw.customer, role="customer_staff"
        )
        client.post(url("user_deactivate", cw, user_id=user.pk))  # each row gets a log entry
    with django_assert_max_num_queries(6):
        large = count_queries(client, url("users", cw))
    assert small == large


def test_an_invitation_can_be_sent_again_until_a_password_is_chosen(
    a, mailoutbox, django_capture_on_commit_callbacks
):
    """The list offers "Resend invitation" for an invited user; it mails a new link and is
    audited. Once they have a password (or for a user who always had one) it is refused
    with a message and nothing is sent."""
    cw = a.customers[0]
    client = signed_in(cw.manager)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client, cw)
    user = User.objects.get(email="new.person@example.com")
    body = client.get(url("users", cw)).content.decode()
    assert url("user_invite_resend", cw, user_id=user.pk) in body
    assert url("user_invite_resend", cw, user_id=cw.staff.pk) not in body  # has a password

    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(url("user_invite_resend", cw, user_id=user.pk))
    assert resp.status_code == 302 and len(mailoutbox) == 2
    assert mailoutbox[1].to == [user.email] and "/password-reset/" in mailoutbox[1].body
    assert "Invitation sent again by" in client.get(url("users", cw)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(url("user_invite_resend", cw, user_id=cw.staff.pk), follow=True)
    assert "has chosen a password already" in resp.content.decode()
    assert len(mailoutbox) == 2

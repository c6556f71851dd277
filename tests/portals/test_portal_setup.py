"""The vendor's settings pages: the trading partner profile (the same fields and checks
as PUT /api/v1/edi/partner), each customer's release policy, cutoffs, time zone and
reps. Vendor admins only; another vendor's customer is a 404."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmi.errors import ApiError
from cmi.models import Customer, Membership, Role
from cmi.services import customer_reps_assign
from edi.models import TradingPartner
from notify.thresholds import alert_thresholds_set
from tests.conftest import as_user
from tests.factories import user_make, vendor_world
from tests.portals.helpers import signed_in

pytestmark = pytest.mark.django_db

SETTINGS = reverse("portals:settings")


def customer_settings_url(cw) -> str:
    return reverse("portals:customer_settings", kwargs={"customer_id": cw.customer.pk})


def partner_post(**changes) -> dict:
    data = {
        "isa_sender_qualifier": "ZZ",
        "isa_sender_id": "CMIPLATFORM",
        "isa_receiver_qualifier": "ZZ",
        "isa_receiver_id": "ERPRECEIVER",
        "gs_sender": "CMIPLAT",
        "gs_receiver": "ERPRCV",
        "version": "004010",
        "gs08_suffix": "",
        "usage": "T",
        "element_separator": "*",
        "component_separator": ">",
        "segment_terminator": "~",
        "repetition_separator": "^",
        "newline": "on",
        "expect_997": "on",
        "hours_997": "4",
        "hours_855": "24",
        "days_receipt": "14",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["rep", "manager", "staff"])
def test_only_vendor_admins_open_the_settings_pages(a, who):
    """Reps and customer users get 403 on both pages, reading and saving."""
    user = getattr(a, who) if who == "rep" else getattr(a.customers[0], who)
    client = signed_in(user)
    target = customer_settings_url(a.customers[0])
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, partner_post()).status_code == 403
    assert client.get(target).status_code == 403
    resp = client.post(target, {"action": "release", "release_policy": "approval"})
    assert resp.status_code == 403
    assert not TradingPartner.objects.exists()
    assert Customer.objects.get(pk=a.customers[0].customer.pk).release_policy == "auto"


def test_another_vendors_customer_settings_are_404(a, b):
    """Vendor B's customer id is a 404 for A's admin, to read and to save; nothing changes."""
    client = signed_in(a.admin)
    target = customer_settings_url(b.customers[0])
    assert client.get(target).status_code == 404
    resp = client.post(target, {"action": "release", "release_policy": "approval"})
    assert resp.status_code == 404
    resp = client.post(target, {"action": "reps", "reps": [a.rep.pk]})
    assert resp.status_code == 404
    assert Customer.objects.get(pk=b.customers[0].customer.pk).release_policy == "auto"
    assert not Membership.objects.get(user=a.rep).assigned_customers.exists()
    missing = reverse("portals:customer_settings", kwargs={"customer_id": 2**64})
    assert client.get(missing).status_code == 404


# --- the partner profile ---------------------------------------------------------------------


def test_admin_creates_then_changes_the_partner_profile(a):
    """The first save creates the profile with a message; the next replaces it whole,
    an unticked box saving False."""
    client = signed_in(a.admin)
    page = client.get(SETTINGS)
    assert page.status_code == 200 and "No profile yet" in page.content.decode()
    resp = client.post(SETTINGS, partner_post(), follow=True)
    assert resp.status_code == 200
    assert "Trading partner profile created" in resp.content.decode()
    partner = TradingPartner.objects.get(vendor=a.vendor)
    assert (partner.isa_receiver_id, partner.hours_997, partner.newline) == ("ERPRECEIVER", 4, True)
    # An unticked box is False, not the default.
    resp = client.post(
        SETTINGS, partner_post(newline=None, hours_855="48", version="005010"), follow=True
    )
    assert "Trading partner profile saved." in resp.content.decode()
    partner.refresh_from_db()
    assert (partner.newline, partner.hours_855, partner.version) == (False, 48, "005010")
    assert TradingPartner.objects.filter(vendor=a.vendor).count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"component_separator": "*"}, "element_separator", "separators must all differ"),
        ({"segment_terminator": "."}, "segment_terminator", "'.' and '-'"),
        ({"isa_sender_qualifier": "Z"}, "isa_sender_qualifier", "2 letters or digits"),
        ({"isa_sender_id": ""}, "isa_sender_id", "This field is required."),
        ({"gs_sender": "X" * 16}, "gs_sender", "at most 15 characters"),
        ({"hours_997": "0"}, "hours_997", "greater than or equal to 1"),
        ({"hours_855": "abc"}, "hours_855", "whole number"),
        ({"version": "009999"}, "version", "Select a valid choice"),
    ],
)
def test_bad_partner_profile_is_shown_on_the_form_and_nothing_is_saved(a, changes, field, message):
    """Each bad value comes back as a 400 with the error next to its field."""
    resp = signed_in(a.admin).post(SETTINGS, partner_post(**changes))
    assert resp.status_code == 400
    errors = resp.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert f'id="id_{field}_error"' in resp.content.decode()
    assert not TradingPartner.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"component_separator": "*"},
        {"segment_terminator": "-"},
        {"isa_receiver_id": "ERP\u00e9"},
        {"hours_997": "721"},
    ],
)
def test_the_page_refuses_what_the_api_refuses_naming_the_same_field(a, changes):
    """The same profile through PUT /api/v1/edi/partner is a 400 naming the same field."""
    page = signed_in(a.admin).post(SETTINGS, partner_post(**changes))
    body = {k: v for k, v in partner_post(**changes).items()}
    body.update(newline=True, expect_997=True)
    api = as_user(a.admin).put("/api/v1/edi/partner", body, format="json")
    assert page.status_code == 400 and api.status_code == 400
    field = api.json()["error"]["field"]
    assert field in page.context["form"].errors
    assert api.json()["error"]["detail"] in page.context["form"].errors[field]


def test_a_saved_profile_is_shown_in_the_form(a):
    """The form opens with the saved values."""
    from tests.edi.vectors import partner_for

    partner_for(a.vendor, hours_997=9)
    page = signed_in(a.admin).get(SETTINGS).content.decode()
    assert 'value="ERPRECEIVER"' in page and 'value="9"' in page
    assert "Save profile" in page


# --- a customer's release settings ---------------------------------------------------------


def test_admin_sets_a_scheduled_policy_with_cutoffs_and_time_zone(a):
    """Policy, cutoffs and time zone are saved through customer_update and confirmed."""
    cw = a.customers[0]
    resp = signed_in(a.admin).post(
        customer_settings_url(cw),
        {
            "action": "release",
            "release_policy": "scheduled",
            "cutoff_times": "09:00, 14:30",
            "timezone": "Europe/Berlin",
        },
        follow=True,
    )
    assert resp.status_code == 200
    assert f"Release settings of {cw.customer.name} saved." in resp.content.decode()
    customer = Customer.objects.get(pk=cw.customer.pk)
    assert customer.release_policy == "scheduled"
    assert customer.cutoff_times == ["09:00", "14:30"]
    assert customer.timezone == "Europe/Berlin"
    page = signed_in(a.admin).get(customer_settings_url(cw)).content.decode()
    assert 'value="09:00, 14:30"' in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"release_policy": "scheduled", "cutoff_times": ""},
            "cutoff_times",
            "A scheduled policy needs at least one cutoff time.",
        ),
        (
            {"release_policy": "scheduled", "cutoff_times": "09:00, 25:00"},
            "cutoff_times",
            "'25:00' is not a time of day",
        ),
        (
            {"release_policy": "auto", "cutoff_times": "9am"},
            "cutoff_times",
            "'9am' is not a time of day",
        ),
        (
            {"release_policy": "auto", "cutoff_times": ", ".join(["08:00"] * 25)},
            "cutoff_times",
            "no more than 24",
        ),
        ({"release_policy": "sometimes"}, "release_policy", "Select a valid choice"),
        ({"release_policy": "auto", "timezone": "Mars/Base"}, "timezone", "valid choice"),
    ],
)
def test_bad_release_settings_are_shown_on_the_form_and_nothing_changes(a, data, field, message):
    """The customer API's checks, and customer_update's, shown on the field; a 400."""
    cw = a.customers[0]
    body = {"action": "release", "timezone": "America/Chicago", **data}
    resp = signed_in(a.admin).post(customer_settings_url(cw), body)
    assert resp.status_code == 400
    errors = resp.context["release_form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    customer = Customer.objects.get(pk=cw.customer.pk)
    assert (customer.release_policy, customer.cutoff_times) == ("auto", [])


def test_a_release_policy_error_is_tied_to_its_group_of_choices(a):
    """Screen readers hear the policy's error with its radio group: the fieldset names
    the error's id, and the id occurs once."""
    cw = a.customers[0]
    body = {"action": "release", "timezone": "America/Chicago", "release_policy": "sometimes"}
    page = signed_in(a.admin).post(customer_settings_url(cw), body).content.decode()
    assert 'aria-describedby="policy-error"' in page
    assert page.count('id="policy-error"') == 1


def test_a_post_without_an_action_saves_nothing(a):
    """A POST that names no form is refused without a change."""
    cw = a.customers[0]
    resp = signed_in(a.admin).post(customer_settings_url(cw), {"release_policy": "approval"})
    assert resp.status_code == 400
    assert Customer.objects.get(pk=cw.customer.pk).release_policy == "auto"


# --- reps ------------------------------------------------------------------------------------


def _customers_seen(user) -> str:
    return signed_in(user).get(reverse("portals:customers")).content.decode()


def test_assigning_a_rep_limits_what_the_rep_sees(a):
    """Once assigned to customer 0 only, the rep sees only it in the customers list;
    unassigned again, the rep sees every customer."""
    c0, c1 = a.customers[0], a.customers[1]
    assert c1.customer.name in _customers_seen(a.rep)
    client = signed_in(a.admin)
    resp = client.post(
        customer_settings_url(c0), {"action": "reps", "reps": [a.rep.pk]}, follow=True
    )
    assert f"1 rep assigned to {c0.customer.name}." in resp.content.decode()
    seen = _customers_seen(a.rep)
    assert c0.customer.name in seen and c1.customer.name not in seen
    assert signed_in(a.rep).get(customer_settings_url(c1)).status_code == 403
    page = client.get(customer_settings_url(c0)).content.decode()
    assert f'value="{a.rep.pk}"' in page and "checked" in page
    client.post(customer_settings_url(c0), {"action": "reps"})
    assert c1.customer.name in _customers_seen(a.rep)
    assert not Membership.objects.get(user=a.rep).assigned_customers.exists()


def test_assigning_reps_to_one_customer_keeps_their_other_customers(a):
    """Assigning a rep to customer 0 leaves the rep's customer 1 assignment alone."""
    c0, c1 = a.customers[0], a.customers[1]
    customer_reps_assign(scope=a.scope, customer_id=c1.customer.pk, rep_user_ids=[a.rep.pk])
    signed_in(a.admin).post(customer_settings_url(c0), {"action": "reps", "reps": [a.rep.pk]})
    assigned = set(
        Membership.objects.get(user=a.rep).assigned_customers.values_list("pk", flat=True)
    )
    assert assigned == {c0.customer.pk, c1.customer.pk}


def test_the_form_offers_only_this_vendors_reps(a, b):
    """Another vendor's rep or a customer user posted by hand is a form error; nothing changes."""
    client = signed_in(a.admin)
    for stranger in (b.rep, a.customers[0].manager, a.admin):
        resp = client.post(
            customer_settings_url(a.customers[0]), {"action": "reps", "reps": [stranger.pk]}
        )
        assert resp.status_code == 400
        assert "reps" in resp.context["reps_form"].errors
    assert not Membership.objects.get(user=b.rep).assigned_customers.exists()


@pytest.mark.parametrize("stranger", ["b_rep", "manager", "admin", "nobody", "huge"])
def test_the_service_refuses_anyone_who_is_not_a_rep_of_this_vendor(a, b, stranger):
    """customer_reps_assign refuses the whole list with not_a_rep; nothing changes."""
    ids = {
        "b_rep": b.rep.pk,
        "manager": a.customers[0].manager.pk,
        "admin": a.admin.pk,
        "nobody": 987654,
        "huge": 2**70,
    }
    with pytest.raises(ApiError) as raised:
        customer_reps_assign(
            scope=a.scope,
            customer_id=a.customers[0].customer.pk,
            rep_user_ids=[a.rep.pk, ids[stranger]],
        )
    assert raised.value.error_code == "not_a_rep"
    assert not Membership.objects.get(user=a.rep).assigned_customers.exists()


def test_the_service_is_for_vendor_admins_of_the_customers_vendor(a, b):
    """A rep's scope is refused (403); another vendor's customer is a 404."""
    from cmi.scoping import Scope

    rep_scope = Scope(vendor_id=a.vendor.pk, role="vendor_rep", user_id=a.rep.pk)
    with pytest.raises(ApiError) as raised:
        customer_reps_assign(
            scope=rep_scope, customer_id=a.customers[0].customer.pk, rep_user_ids=[]
        )
    assert raised.value.status_code == 403
    with pytest.raises(ApiError) as raised:
        customer_reps_assign(
            scope=a.scope, customer_id=b.customers[0].customer.pk, rep_user_ids=[a.rep.pk]
        )
    assert raised.value.status_code == 404


# --- queries ---------------------------------------------------------------------------------


def _count(client, target: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(target).status_code == 200
    return len(ctx.captured_queries)


def test_settings_pages_have_a_fixed_query_count(db):
    """The same queries with 1 customer and 1 rep as with 12 customers and 10 reps,
    each rep assigned to customers."""
    from tests.edi.vectors import partner_for

    counts = []
    for code, customers, reps in (("small", 1, 0), ("large", 12, 9)):
        vw = vendor_world(code, customers=customers)
        partner_for(vw.vendor)
        extra = [user_make(vw.vendor, Role.VENDOR_REP) for _ in range(reps)]
        for rep in [vw.rep, *extra]:
            customer_reps_assign(
                scope=vw.scope,
                customer_id=vw.customers[0].customer.pk,
                rep_user_ids=[vw.rep.pk, rep.pk],
            )
        for cw in vw.customers:  # each customer with its own alert thresholds
            alert_thresholds_set(
                scope=vw.scope, customer_id=cw.customer.pk, hours={"scanner.silent": 3}
            )
        client = signed_in(vw.admin)
        counts.append(
            (_count(client, SETTINGS), _count(client, customer_settings_url(vw.customers[0])))
        )
    assert counts[0] == counts[1], counts
    settings_queries, customer_queries = counts[0]
    # session, user, membership; partner, alert thresholds, count, page
    assert settings_queries <= 7
    assert customer_queries <= 7  # + customer, reps, assigned reps, alert thresholds

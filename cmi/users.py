"""A customer's people: who may sign in for it, inviting them, switching them off and on.

Reads first, then the writes. Every write is audited in Django's own change log
(`django.contrib.admin`'s LogEntry: who, when, to whom, what), which the admin's history
pages show too and the portal's users list reads back: who deactivated someone, and when.

An invited user has no password: the invitation mail carries a one-time link to choose
one (Django's password-reset token, which stops working once a password is set or after
PASSWORD_RESET_TIMEOUT). Deactivated users can no longer sign in, their sessions end at
the next request, and their personal API tokens are refused (cmi/authentication.py
checks is_active).
"""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import CharField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from cmi.errors import ApiError
from cmi.models import CUSTOMER_ROLES, Customer, Membership, Role
from cmi.scoping import Scope

# Who may manage a customer's users: its managers, and the vendor's admins. Reps set up
# stock, not people.
USER_MANAGERS = frozenset({Role.CUSTOMER_MANAGER, Role.VENDOR_ADMIN})
USERNAME_MAX = 150


# --- reads ---------------------------------------------------------------------------------


def _user_log(user_id_ref) -> QuerySet[LogEntry]:
    """The change-log entries about one user (a correlated subquery on the user's id).

    The content type is matched by name in a join rather than looked up first, so that
    the first page of a fresh process costs the same number of queries as every other."""
    meta = get_user_model()._meta
    return LogEntry.objects.filter(
        content_type__app_label=meta.app_label,
        content_type__model=meta.model_name,
        object_id=Cast(user_id_ref, output_field=CharField()),
    ).order_by("-action_time", "-pk")


def customer_user_list(*, scope: Scope, customer_id: int) -> QuerySet[Membership]:
    """The customer's users (as memberships, with the user joined), active first.

    Each row carries the last change-log entry about the user: `last_change` (what),
    `last_change_at` (when) and `last_change_by` (whose username)."""
    if not scope.sees_customer(customer_id):
        return Membership.objects.none()
    log = _user_log(OuterRef("user_id"))
    return (
        Membership.objects.filter(
            vendor_id=scope.vendor_id, customer_id=customer_id, role__in=sorted(CUSTOMER_ROLES)
        )
        .select_related("user")
        .annotate(
            last_change=Subquery(log.values("change_message")[:1]),
            last_change_at=Subquery(log.values("action_time")[:1]),
            last_change_by=Subquery(log.values("user__username")[:1]),
        )
        .order_by("-user__is_active", "user__username", "pk")
    )


def customer_member_get(*, scope: Scope, customer_id: int, user_id: int) -> Membership | None:
    """One of the customer's users, or None when the id is not one of them."""
    return customer_user_list(scope=scope, customer_id=customer_id).filter(user_id=user_id).first()


# --- writes --------------------------------------------------------------------------------


def _check_may_manage(scope: Scope, customer_id: int) -> Customer:
    if scope.role not in USER_MANAGERS:
        raise ApiError("permission_denied", "Your role cannot manage users.", status_code=403)
    customer = Customer.objects.for_scope(scope).filter(pk=customer_id).first()
    if customer is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    return customer


def _log(*, scope: Scope, user, flag: int, message: str) -> None:
    LogEntry.objects.create(
        user_id=scope.user_id,
        content_type=ContentType.objects.get_for_model(user),
        object_id=str(user.pk),
        object_repr=str(user)[:200],
        action_flag=flag,
        change_message=message,
    )


def _username_for(email: str) -> str:
    """The email, lowercased; with -2, -3 ... when an account already has that name."""
    base = email.lower()[: USERNAME_MAX - 6]
    taken = set(
        get_user_model()
        .objects.filter(username__istartswith=base)
        .values_list("username", flat=True)
    )
    taken = {name.lower() for name in taken}
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = " ".join(name.split()).partition(" ")
    return first[:150], last[:150]


@transaction.atomic
def customer_user_invite(
    *,
    scope: Scope,
    customer_id: int,
    email: str,
    name: str,
    role: str,
    base_url: str,
):
    """A new user of the customer, and its membership, without a password; once the
    transaction commits, an invitation mail with a link to choose one.

    `base_url` is the portal's own address (scheme and host) for the link in the mail.
    An email already in use by any account is refused (duplicate_email): it is how
    people are told apart at password reset."""
    customer = _check_may_manage(scope, customer_id)
    if role not in CUSTOMER_ROLES:
        raise ApiError("invalid_role", "Choose manager or staff.", field="role")
    User = get_user_model()
    email = User.objects.normalize_email(email.strip())
    if not email:
        raise ApiError("required", "An email address is required.", field="email")
    if User.objects.filter(email__iexact=email).exists():
        raise ApiError("duplicate_email", "Someone already uses this email.", field="email")
    first, last = _split_name(name)
    try:
        with transaction.atomic():  # a savepoint: a racing invite fails here, not at commit
            user = User.objects.create_user(
                username=_username_for(email),
                email=email,
                password=None,  # unusable until they choose one through the mail's link
                first_name=first,
                last_name=last,
            )
    except IntegrityError as exc:
        raise ApiError(
            "duplicate_email", "Someone already uses this email.", field="email"
        ) from exc
    Membership.objects.create(user=user, vendor_id=scope.vendor_id, customer=customer, role=role)
    _log(scope=scope, user=user, flag=ADDITION, message=f"Invited as {Role(role).label}")
    # robust: a mail server that is down is logged; the user exists and can be re-invited.
    transaction.on_commit(
        lambda: invitation_send(user_id=user.pk, customer_name=customer.name, base_url=base_url),
        robust=True,
    )
    return user


def invitation_send(*, user_id: int, customer_name: str, base_url: str) -> None:
    """The mail with the link to choose a password (the portal's password-reset page)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    path = reverse(
        "portals:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "user": user,
        "customer_name": customer_name,
        "link": base_url.rstrip("/") + path,
    }
    subject = render_to_string("portals/people/invite_subject.txt", context).strip()
    body = render_to_string("portals/people/invite_email.txt", context)
    send_mail(subject, body, None, [user.email])


def _member_for_update(*, scope: Scope, customer_id: int, user_id: int):
    _check_may_manage(scope, customer_id)
    membership = (
        Membership.objects.filter(
            vendor_id=scope.vendor_id,
            customer_id=customer_id,
            role__in=sorted(CUSTOMER_ROLES),
            user_id=user_id,
        )
        .select_related("user")
        .first()
    )
    if membership is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    return get_user_model().objects.select_for_update().get(pk=membership.user_id)


@transaction.atomic
def customer_user_deactivate(*, scope: Scope, customer_id: int, user_id: int):
    """The user can no longer sign in or use a personal token. Nobody switches themselves
    off: a customer must not be left without the manager who could undo it."""
    if user_id == scope.user_id:
        raise ApiError("own_account", "You cannot deactivate your own account.")
    user = _member_for_update(scope=scope, customer_id=customer_id, user_id=user_id)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        _log(scope=scope, user=user, flag=CHANGE, message="Deactivated")
    return user


@transaction.atomic
def customer_user_reactivate(*, scope: Scope, customer_id: int, user_id: int):
    user = _member_for_update(scope=scope, customer_id=customer_id, user_id=user_id)
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        _log(scope=scope, user=user, flag=CHANGE, message="Reactivated")
    return user


@transaction.atomic
def customer_user_invite_resend(*, scope: Scope, customer_id: int, user_id: int, base_url: str):
    """A fresh invitation mail for someone invited who has not chosen a password yet
    (the mail was lost, or its link expired). Earlier links stay valid until they expire
    or a password is chosen."""
    customer = _check_may_manage(scope, customer_id)
    user = _member_for_update(scope=scope, customer_id=customer_id, user_id=user_id)
    if not user.is_active:
        raise ApiError("user_inactive", "Reactivate this user before inviting them again.")
    if user.has_usable_password():
        raise ApiError("already_joined", "This user has chosen a password already.")
    _log(scope=scope, user=user, flag=CHANGE, message="Invitation sent again")
    transaction.on_commit(
        lambda: invitation_send(user_id=user.pk, customer_name=customer.name, base_url=base_url),
        robust=True,
    )
    return user

"""Signing in and out, password reset by email, and where each role lands."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from cmi.ratelimit import UNAVAILABLE_RETRY_AFTER, LimiterUnavailable, password_reset_attempt
from cmi.tenancy import scope_enter, scope_for_user


class LoginView(auth_views.LoginView):
    # AuthenticationForm authenticates with the request, which django-axes needs to
    # count failures per username and address.
    template_name = "portals/auth/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    # Django's LogoutView only accepts POST: a link or a prefetch cannot sign anyone out.
    next_page = reverse_lazy("portals:login")


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "portals/auth/password_reset_form.html"
    email_template_name = "portals/auth/password_reset_email.txt"
    subject_template_name = "portals/auth/password_reset_subject.txt"
    success_url = reverse_lazy("portals:password_reset_done")

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # Limited per client and per address before any mail goes (cmi/ratelimit.py).
        # The page says the same whether or not the address has an account.
        address = request.POST.get("email", "")
        try:
            decision = password_reset_attempt(request=request, address=address)
        except LimiterUnavailable:
            return _reset_refused(request, status=503, retry_after=UNAVAILABLE_RETRY_AFTER)
        if not decision.allowed:
            return _reset_refused(request, status=429, retry_after=decision.retry_after)
        return super().post(request, *args, **kwargs)


def _reset_refused(request: HttpRequest, *, status: int, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "portals/auth/password_reset_limited.html",
        {"unavailable": status == 503, "minutes": max(1, -(-retry_after // 60))},
        status=status,
    )
    response["Retry-After"] = str(retry_after)
    return response


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portals/auth/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portals/auth/password_reset_confirm.html"
    success_url = reverse_lazy("portals:password_reset_complete")

    def get_context_data(self, **kwargs):
        # Someone invited has never had a password: they set one, they do not replace it.
        context = super().get_context_data(**kwargs)
        user = getattr(self, "user", None)
        context["invited"] = user is not None and not user.has_usable_password()
        return context


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "portals/auth/password_reset_complete.html"


def home(request: HttpRequest) -> HttpResponse:
    """Customer users land on their customer's dashboard, vendor staff on the customers."""
    if not request.user.is_authenticated:
        return redirect("portals:login")
    scope = scope_enter(scope_for_user(request.user))
    if scope is None:
        raise PermissionDenied("This account has no access to the portals.")
    if scope.is_customer_user and scope.customer_id is not None:
        return redirect("portals:dashboard", customer_id=scope.customer_id)
    return redirect("portals:customers")

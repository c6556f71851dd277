"""django-axes in front of Django's own backend, for the sign-ins it can count."""

from __future__ import annotations

from axes.backends import AxesBackend


class LockoutBackend(AxesBackend):
    """Axes' backend, except for calls that carry no request.

    Every sign-in over HTTP passes its request (the portal's login form, the API's
    token view, the admin), and those are what axes counts and locks out per username
    and address. A call without a request has no address and no attacker on the wire:
    a management command, the shell, a test's client.login(). Stock axes refuses those
    with an exception; here they go on to the next backend, which checks the password.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

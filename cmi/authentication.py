"""`Authorization: Bearer <token>` for scanners, ERP keys and personal tokens.

The prefix says which table to look in; one indexed lookup by hash either way.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from cmi import rls, tokens


class MachinePrincipal:
    """request.user for a scanner or an ERP key: authenticated, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, kind: str, obj: object) -> None:
        self.kind = kind
        self.obj = obj

    def __str__(self) -> str:
        return f"{self.kind}:{getattr(self.obj, 'pk', '?')}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Bearer header."), code="authentication_failed"
            )
        try:
            plain = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                _("Invalid token."), code="authentication_failed"
            ) from exc
        return self._principal(plain)

    def _principal(self, plain: str):
        digest = tokens.token_hash(plain)
        # The token is what tells the vendor: it is looked up across vendors, by hash.
        with rls.system():
            return self._principal_lookup(plain, digest)

    def _principal_lookup(self, plain: str, digest: str):
        from cmi.models import ApiToken, ErpKey
        from stocking.models import ScannerDevice

        if plain.startswith(tokens.DEVICE_PREFIX):
            # The scope needs the device's own ids only, and the hash is unique: no join
            # and no ORDER BY (.first() would sort by the model's ordering).
            obj = next(iter(ScannerDevice.objects.filter(token_hash=digest).order_by()[:1]), None)
            kind = "device"
        elif plain.startswith(tokens.ERP_PREFIX):
            obj = ErpKey.objects.filter(token_hash=digest).first()
            kind = "erp"
        elif plain.startswith(tokens.USER_PREFIX):
            obj = (
                ApiToken.objects.filter(token_hash=digest)
                .select_related("user", "user__membership__vendor")
                .first()
            )
            kind = "user"
        else:
            obj, kind = None, ""
        if obj is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."), code="authentication_failed")
        if obj.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("This token has been revoked."), code="token_revoked"
            )
        if kind == "user":
            if not obj.user.is_active:
                raise exceptions.AuthenticationFailed(
                    _("User inactive."), code="authentication_failed"
                )
            return obj.user, obj
        return MachinePrincipal(kind, obj), obj

    def authenticate_header(self, request) -> str:
        return self.keyword

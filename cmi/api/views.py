"""Personal API tokens: `POST /api/v1/auth/token` with username and password."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from cmi.api.base import ScopedViewSet
from cmi.api.serializers import (
    CustomerIn,
    CustomerOut,
    ErrorSerializer,
    TokenRequestSerializer,
    TokenResponseSerializer,
)
from cmi.errors import ApiError
from cmi.models import Customer
from cmi.permissions import ALL_PEOPLE
from cmi.services import api_token_create, api_token_revoke, customer_update
from cmi.tenancy import scope_enter, scope_for_user


class TokenCreateView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth_token"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            201: TokenResponseSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
            429: ErrorSerializer,
        },
        summary="Get a personal API token",
        auth=[],
    )
    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        # The token is the member's: the request runs for its vendor from here on.
        if user is None or scope_enter(scope_for_user(user)) is None:
            raise ApiError("invalid_credentials", "Wrong username or password.", status_code=401)
        token, plain = api_token_create(user=user, name=body.validated_data.get("name", ""))
        return Response(
            {"id": token.pk, "token": plain, "prefix": token.prefix}, status=status.HTTP_201_CREATED
        )


class TokenRevokeView(APIView):
    read_roles = ALL_PEOPLE
    write_roles = ALL_PEOPLE

    @extend_schema(
        request=None,
        responses={204: None, 404: ErrorSerializer},
        summary="Revoke one of your API tokens",
    )
    def delete(self, request, token_id: int):
        if request.user is None or not getattr(request.user, "pk", None):
            raise ApiError("not_found", "Not found.", status_code=404)
        api_token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The vendor's customers; customer users see their own. Vendor admins set the release policy."""

    serializer_class = CustomerOut
    lookup_value_regex = r"\d+"
    write_roles = frozenset({"vendor_admin"})

    def scoped_queryset(self, scope):
        return Customer.objects.for_scope(scope).order_by("code")

    @extend_schema(
        request=CustomerIn, responses={200: CustomerOut, 400: ErrorSerializer, 404: ErrorSerializer}
    )
    def partial_update(self, request, pk=None):
        customer = self.get_object()
        body = CustomerIn(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        customer = customer_update(scope=self.scope, customer_id=customer.pk, **body.validated_data)
        return Response(CustomerOut(customer).data)

"""Webhook endpoints and their delivery log: parse, call a service or selector, render.

Vendor admins manage every endpoint of the vendor; a customer manager only their own
customer's. Anything else in the path is a 404 (the selectors go through the scope)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cmi.api.base import ScopedViewSet
from cmi.api.serializers import ErrorSerializer
from webhooks import selectors, services
from webhooks.api.serializers import (
    WebhookDeliveryFilterIn,
    WebhookDeliveryOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointSecretOut,
    WebhookEndpointUpdateIn,
    WebhookQueuedOut,
    WebhookTestQueuedOut,
)

MANAGERS = frozenset({"vendor_admin", "customer_manager"})


class EndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ScopedViewSet
):
    """Where the vendor's (or a customer's) events are POSTed, signed (Standard Webhooks)."""

    serializer_class = WebhookEndpointOut
    lookup_value_regex = r"\d+"
    read_roles = MANAGERS
    write_roles = MANAGERS
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self, scope):
        return selectors.endpoint_list(scope=scope)

    @extend_schema(responses={200: WebhookEndpointSecretOut, 404: ErrorSerializer})
    def retrieve(self, request, pk=None):
        return Response(WebhookEndpointSecretOut(self.get_object()).data)

    @extend_schema(
        request=WebhookEndpointIn, responses={201: WebhookEndpointSecretOut, 400: ErrorSerializer}
    )
    def create(self, request):
        """Register an endpoint; the answer carries its signing secret."""
        body = WebhookEndpointIn(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        endpoint = services.endpoint_create(
            scope=self.scope,
            url=d["url"],
            kinds=d.get("kinds") or (),
            customer_id=d.get("customer"),
            description=d.get("description", ""),
        )
        return Response(WebhookEndpointSecretOut(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=WebhookEndpointUpdateIn,
        responses={200: WebhookEndpointOut, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def partial_update(self, request, pk=None):
        """Change the URL, kinds, description; `enabled: true` re-enables a disabled one."""
        found = self.get_object()
        body = WebhookEndpointUpdateIn(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            scope=self.scope, endpoint_id=found.pk, **body.validated_data
        )
        return Response(WebhookEndpointOut(endpoint).data)

    @extend_schema(responses={204: None, 404: ErrorSerializer})
    def destroy(self, request, pk=None):
        services.endpoint_delete(scope=self.scope, endpoint_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={202: WebhookTestQueuedOut, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Send a synthetic `webhook.test` message (not a domain event) now."""
        delivery = services.endpoint_send_test(scope=self.scope, endpoint_id=self.get_object().pk)
        return Response(
            {"delivery": delivery.pk, "msg_id": delivery.msg_id}, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        request=None, responses={202: WebhookQueuedOut, 404: ErrorSerializer, 409: ErrorSerializer}
    )
    @action(detail=True, methods=["post"], url_path="replay-failed")
    def replay_failed(self, request, pk=None):
        """Every failed delivery of the endpoint again (same webhook-id, fresh schedule)."""
        count = services.endpoint_replay_failed(scope=self.scope, endpoint_id=self.get_object().pk)
        return Response({"queued": count}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: WebhookEndpointSecretOut, 404: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new secret; the old one still signs beside it for 24 hours."""
        endpoint = services.endpoint_rotate_secret(
            scope=self.scope, endpoint_id=self.get_object().pk
        )
        return Response(WebhookEndpointSecretOut(endpoint).data)


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The delivery log of one endpoint: each message with every attempt."""

    serializer_class = WebhookDeliveryOut
    lookup_value_regex = r"\d+"
    read_roles = MANAGERS
    write_roles = MANAGERS

    def scoped_queryset(self, scope):
        body = WebhookDeliveryFilterIn(data=self.request.query_params)
        body.is_valid(raise_exception=True)
        return selectors.delivery_list(
            scope=scope,
            endpoint_id=int(self.kwargs["endpoint_id"]),
            status=body.validated_data.get("status"),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=["pending", "sending", "succeeded", "failed"])
        ],
        responses={200: WebhookDeliveryOut(many=True), 404: ErrorSerializer},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=None, responses={202: WebhookQueuedOut, 404: ErrorSerializer, 409: ErrorSerializer}
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, endpoint_id=None, pk=None):
        """Send this failed delivery again (same webhook-id, fresh schedule)."""
        count = services.delivery_replay(
            scope=self.scope, endpoint_id=int(endpoint_id), delivery_id=self.get_object().pk
        )
        return Response({"queued": count}, status=status.HTTP_202_ACCEPTED)

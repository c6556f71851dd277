from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from cmi.api.base import ScopedViewSet
from cmi.api.serializers import ErrorSerializer
from cmi.pagination import UpdatedCursorPagination
from cmi.permissions import ALL_PEOPLE
from replenishment import selectors, services
from replenishment.api.filters import OrderFilter
from replenishment.api.serializers import ApproveIn, CancelIn, OrderDetailOut, OrderOut


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Replenishment orders. Polled by ERPs (cursor pagination, `updated_after`)."""

    serializer_class = OrderOut
    filterset_class = OrderFilter
    pagination_class = UpdatedCursorPagination
    lookup_value_regex = r"\d+"
    read_roles = ALL_PEOPLE | {"erp"}
    action_roles = {
        "approve": frozenset({"customer_manager"}),
        "reject": frozenset({"customer_manager"}),
        "cancel": frozenset({"vendor_admin", "vendor_rep", "customer_manager"}),
    }

    def scoped_queryset(self, scope):
        if self.action == "list":
            return selectors.order_list(scope=scope)
        return selectors.order_detail(scope=scope)

    def get_serializer_class(self):
        return OrderOut if self.action == "list" else OrderDetailOut

    def _render(self, order_id: int) -> Response:
        return Response(
            OrderDetailOut(selectors.order_detail(scope=self.scope).get(pk=order_id)).data
        )

    @extend_schema(
        request=ApproveIn,
        responses={
            200: OrderDetailOut,
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve an order awaiting approval, optionally with edited line quantities (whole packs)."""
        order = self.get_object()
        body = ApproveIn(data=request.data or {})
        body.is_valid(raise_exception=True)
        quantities = {line["id"]: line["quantity"] for line in body.validated_data.get("lines", [])}
        services.order_approve(scope=self.scope, order_id=order.pk, quantities=quantities)
        return self._render(order.pk)

    @extend_schema(
        request=CancelIn,
        responses={200: OrderDetailOut, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject an order awaiting approval: nothing is sent, on-order is released."""
        order = self.get_object()
        body = CancelIn(data=request.data or {})
        body.is_valid(raise_exception=True)
        services.order_cancel(
            scope=self.scope,
            order_id=order.pk,
            reason=body.validated_data.get("reason", ""),
            rejected=True,
        )
        return self._render(order.pk)

    @extend_schema(
        request=CancelIn,
        responses={200: OrderDetailOut, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel an order that has not shipped; its open quantities leave on-order."""
        order = self.get_object()
        body = CancelIn(data=request.data or {})
        body.is_valid(raise_exception=True)
        services.order_cancel(
            scope=self.scope, order_id=order.pk, reason=body.validated_data.get("reason", "")
        )
        return self._render(order.pk)

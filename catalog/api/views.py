from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api import filters
from catalog.api.serializers import CrossReferenceIn, CrossReferenceOut, ItemIn, ItemOut
from cmi.api.base import ScopedViewSet
from cmi.api.serializers import ErrorSerializer
from cmi.permissions import ALL_PEOPLE


class ItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The vendor's catalog. Vendor staff write; every principal of the vendor reads."""

    serializer_class = ItemOut
    lookup_value_regex = r"\d+"
    filterset_class = filters.ItemFilter
    read_roles = ALL_PEOPLE | {"erp"}

    def scoped_queryset(self, scope):
        return selectors.item_list(scope=scope)

    @extend_schema(request=ItemIn, responses={201: ItemOut, 400: ErrorSerializer})
    def create(self, request):
        body = ItemIn(data=request.data)
        body.is_valid(raise_exception=True)
        item = services.item_create(scope=self.scope, **body.validated_data)
        return Response(
            ItemOut(self.get_queryset().get(pk=item.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=ItemIn, responses={200: ItemOut, 400: ErrorSerializer, 404: ErrorSerializer}
    )
    def partial_update(self, request, pk=None):
        item = self.get_object()
        body = ItemIn(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.item_update(scope=self.scope, item_id=item.pk, **body.validated_data)
        return Response(ItemOut(self.get_queryset().get(pk=item.pk)).data)


class CrossReferenceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Customers' own part numbers and barcodes for the vendor's items."""

    serializer_class = CrossReferenceOut
    lookup_value_regex = r"\d+"
    filterset_class = filters.CrossReferenceFilter

    def scoped_queryset(self, scope):
        return selectors.cross_reference_list(scope=scope)

    @extend_schema(
        request=CrossReferenceIn, responses={201: CrossReferenceOut, 400: ErrorSerializer}
    )
    def create(self, request):
        body = CrossReferenceIn(data=request.data)
        body.is_valid(raise_exception=True)
        ref = services.cross_reference_create(
            scope=self.scope,
            customer_id=body.validated_data["customer"],
            item_id=body.validated_data["item"],
            kind=body.validated_data["kind"],
            code=body.validated_data["code"],
        )
        return Response(
            CrossReferenceOut(self.get_queryset().get(pk=ref.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={204: None, 404: ErrorSerializer})
    def destroy(self, request, pk=None):
        ref = self.get_object()
        services.cross_reference_delete(scope=self.scope, reference_id=ref.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

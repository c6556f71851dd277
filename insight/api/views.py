"""Recommended levels, demand policies and backtests: parse, call a service, render."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from cmi.api.base import ScopedViewSet
from cmi.api.serializers import ErrorSerializer
from cmi.errors import ApiError
from cmi.permissions import ALL_PEOPLE, VENDOR_STAFF, HasScope
from cmi.scoping import Scope
from insight import selectors, services
from insight.api import filters
from insight.api.serializers import (
    ApplyIn,
    ApplyOut,
    BacktestIn,
    BacktestOut,
    DismissIn,
    DismissOut,
    PolicyIn,
    PolicyOut,
    QueuedOut,
    RecommendationOut,
    RecomputeIn,
)
from stocking.models import Bin


class RecommendationViewSet(mixins.ListModelMixin, ScopedViewSet):
    """Recommended min/max per bin. Everyone in scope reads; vendor staff apply."""

    serializer_class = RecommendationOut
    filterset_class = filters.RecommendationFilter
    action_roles = {"apply": VENDOR_STAFF, "recompute": VENDOR_STAFF, "dismiss": VENDOR_STAFF}

    def scoped_queryset(self, scope):
        return selectors.recommendation_list(scope=scope)

    @extend_schema(
        request=ApplyIn,
        responses={200: ApplyOut, 400: ErrorSerializer, 404: ErrorSerializer},
        filters=False,
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def apply(self, request):
        """Set bins to their recommended levels through the levels service (audited as
        source `recommendation`). Bins whose levels moved since are skipped, with a code."""
        body = ApplyIn(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        result = services.recommendations_apply(
            scope=self.scope,
            customer_id=d["customer"],
            bin_ids=d.get("bins"),
            site_id=d.get("site"),
            user_id=self.scope.user_id,
        )
        return Response(ApplyOut({"applied": result.applied, "skipped": result.skipped}).data)

    @extend_schema(
        request=DismissIn,
        responses={200: DismissOut, 400: ErrorSerializer, 404: ErrorSerializer},
        filters=False,
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def dismiss(self, request):
        """Set recommendations aside until the engine recommends different levels."""
        body = DismissIn(data=request.data)
        body.is_valid(raise_exception=True)
        dismissed = services.recommendations_dismiss(
            scope=self.scope,
            customer_id=body.validated_data["customer"],
            bin_ids=body.validated_data["bins"],
        )
        return Response({"dismissed": dismissed})

    @extend_schema(
        request=RecomputeIn,
        responses={202: QueuedOut, 400: ErrorSerializer, 404: ErrorSerializer},
        filters=False,
    )
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def recompute(self, request):
        """Recompute every bin of one customer now, on a worker."""
        body = RecomputeIn(data=request.data)
        body.is_valid(raise_exception=True)
        services.recommendations_recompute_enqueue(
            scope=self.scope, customer_id=body.validated_data["customer"]
        )
        return Response({"queued": True}, status=status.HTTP_202_ACCEPTED)


class BinRecommendationView(APIView):
    """`GET /bins/{id}/recommendation`: the bin's recommendation (404 when it has none)."""

    permission_classes = [HasScope]
    read_roles = ALL_PEOPLE
    scope: Scope

    @extend_schema(responses={200: RecommendationOut, 404: ErrorSerializer})
    def get(self, request, bin_id: int):
        found = get_object_or_404(Bin.objects.for_scope(self.scope), pk=bin_id)
        rec = get_object_or_404(selectors.recommendation_list(scope=self.scope), bin_id=found.pk)
        return Response(RecommendationOut(rec).data)


class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Demand policies: target fill, a floor under min, opt-out; for a customer, an item
    of it, or one bin. Vendor staff only."""

    serializer_class = PolicyOut
    filterset_class = filters.PolicyFilter
    lookup_value_regex = r"\d+"
    read_roles = VENDOR_STAFF

    def scoped_queryset(self, scope):
        return selectors.policy_list(scope=scope)

    @extend_schema(request=PolicyIn, responses={200: PolicyOut, 400: ErrorSerializer})
    def create(self, request):
        """Create or replace the policy at that level (customer, item or bin)."""
        body = PolicyIn(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        if d.get("item") and d.get("bin"):
            raise ApiError("item_or_bin", "Name an item or a bin, not both.", field="bin")
        policy = services.policy_set(
            scope=self.scope,
            customer_id=d["customer"],
            item_id=d.get("item"),
            bin_id=d.get("bin"),
            target_fill=d.get("target_fill"),
            floor_min=d.get("floor_min"),
            opt_out=d.get("opt_out", False),
            user_id=self.scope.user_id,
        )
        return Response(PolicyOut(policy).data)

    @extend_schema(responses={204: None, 404: ErrorSerializer})
    def destroy(self, request, pk=None):
        services.policy_delete(scope=self.scope, policy_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BacktestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Replays of real demand against variants of levels; run on a worker, result kept."""

    serializer_class = BacktestOut
    filterset_class = filters.BacktestFilter
    lookup_value_regex = r"\d+"

    def scoped_queryset(self, scope):
        return selectors.backtest_list(scope=scope)

    @extend_schema(request=BacktestIn, responses={202: BacktestOut, 400: ErrorSerializer})
    def create(self, request):
        body = BacktestIn(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        params = {"days": d["days"], "bin_ids": d.get("bins")}
        if d.get("variants"):
            params["variants"] = [dict(v) for v in d["variants"]]
        found = services.backtest_create(
            scope=self.scope, customer_id=d["customer"], params=params, user_id=self.scope.user_id
        )
        return Response(BacktestOut(found).data, status=status.HTTP_202_ACCEPTED)

"""Recommendations made directly (no engine) for API and portal tests."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from insight.models import Recommendation


def recommendation_make(bin_, *, min_qty: int, max_qty: int, **extra) -> Recommendation:
    changed = (min_qty, max_qty) != (bin_.min_qty, bin_.max_qty)
    explanation = {
        "class": "intermittent",
        "level": 1.5,
        "lead_time": {"mean_days": 4.0, "p90_days": 6.0, "source": "nominal"},
        "recent_daily": [0, 2, 0, 0, 5] * 18 + [1],
        "expected": {
            "current": {"fill": 0.9, "avg_stock_value": 10.0, "orders_per_month": 2.0},
            "recommended": {"fill": 0.98, "avg_stock_value": 8.0, "orders_per_month": 1.5},
        },
    }
    fields = dict(
        vendor_id=bin_.vendor_id,
        customer_id=bin_.customer_id,
        site_id=bin_.site_id,
        bin=bin_,
        min_qty=min_qty,
        max_qty=max_qty,
        current_min=bin_.min_qty,
        current_max=bin_.max_qty,
        changed=changed,
        demand_class="intermittent",
        explanation=explanation,
        fill_current=0.9,
        fill_recommended=0.98,
        stock_value_current=Decimal("10.00"),
        stock_value_recommended=Decimal("8.00"),
        orders_per_month_current=2.0,
        orders_per_month_recommended=1.5,
        value_freed=Decimal("2.00"),
        fill_gained=0.08,
        computed_at=timezone.now(),
    )
    fields.update(extra)
    return Recommendation.objects.create(**fields)

"""What the scorecard measures: one definition per metric, read by the computation, the
targets, the API schema, the portal and the printable page.

Every figure is what the platform can observe; where that differs from the textbook
metric the `definition` says how.
"""

from __future__ import annotations

from dataclasses import dataclass

HIGHER, LOWER = "higher", "lower"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # "%", "h", "days", "count", "turns"
    better: str  # HIGHER or LOWER
    definition: str
    targetable: bool = True

    def met(self, actual: float | None, target: float | None) -> bool | None:
        """Whether the actual meets the target (None when either is missing)."""
        if actual is None or target is None:
            return None
        return actual >= target if self.better == HIGHER else actual <= target


METRICS: tuple[Metric, ...] = (
    Metric(
        "fill_rate",
        "Fill rate",
        "%",
        HIGHER,
        "Units handed out / units asked for, over the month's issue scans. Scans are never "
        "refused: an issue of more than is on hand takes what is there, so the shortfall "
        "is what the platform sees of a stockout.",
    ),
    Metric(
        "issues_short",
        "Issues short",
        "count",
        LOWER,
        "Issue scans that asked for more than was on hand (at zero or below the amount).",
    ),
    Metric(
        "stockout_share",
        "Time at zero",
        "%",
        LOWER,
        "Share of min/max bin-time in the month that bins spent at zero on hand.",
    ),
    Metric(
        "stockout_bin_days",
        "Bin-days at zero",
        "days",
        LOWER,
        "Days at zero summed over the min/max bins (two bins empty for a day each: 2).",
    ),
    Metric(
        "below_min_share",
        "Bins below min",
        "%",
        LOWER,
        "Min/max bins whose on hand was below min at the month's end (now, for this month).",
    ),
    Metric(
        "over_max_share",
        "Bins over max",
        "%",
        LOWER,
        "Min/max bins whose on hand was above max at the month's end (now, for this month).",
    ),
    Metric(
        "ack_997_median_hours",
        "997 ack, median",
        "h",
        LOWER,
        "Hours from an order's 850 being written to the ERP's 997 for it, orders released "
        "in the month.",
    ),
    Metric(
        "ack_997_p90_hours", "997 ack, 90th percentile", "h", LOWER, "As above, 90th percentile."
    ),
    Metric(
        "ack_855_median_hours",
        "855 ack, median",
        "h",
        LOWER,
        "Hours from release to the order's first acknowledgment (an 855, or the ERP's "
        "acknowledgment through the API), orders released in the month.",
    ),
    Metric(
        "ack_855_p90_hours", "855 ack, 90th percentile", "h", LOWER, "As above, 90th percentile."
    ),
    Metric(
        "on_time_share",
        "On-time delivery",
        "%",
        HIGHER,
        "Orders fully received in the month whose receipt day (customer's time zone) was on "
        "or before the requested delivery date on the order.",
    ),
    Metric(
        "order_accuracy",
        "Order accuracy",
        "%",
        HIGHER,
        "Lines of orders released in the month that the vendor neither changed after "
        "release (855 quantity change or backorder) nor shipped short.",
    ),
    Metric(
        "scan_coverage",
        "Scan coverage",
        "%",
        HIGHER,
        "Active bins with a scan or count in the 30 days before the month's end (now, for "
        "this month).",
    ),
    Metric(
        "inventory_turns",
        "Inventory turns",
        "turns",
        HIGHER,
        "Value issued in the month / average value on hand (time-weighted), per year.",
    ),
)
BY_KEY = {m.key: m for m in METRICS}
# Counts shown beside the metrics (not targets): how much each figure rests on.
COUNTS = (
    "issues",
    "bins",
    "orders_released",
    "orders_unacknowledged",
    "orders_received",
    "lines",
    "lines_changed",
    "lines_short",
)
COVERAGE_DAYS = 30
# The choice set the API and the schema name (ScorecardMetricEnum).
METRIC_CHOICES = [m.key for m in METRICS]

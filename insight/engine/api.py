"""Public interface of the recommended-levels engine (pure Python + numpy, no Django).

Callers (the ledger adapter in ``insight/``, the ``recommend_levels --from-folder`` command,
the bench) build :class:`BinInput` rows and call :func:`recommend`; they replay demand
against levels with :func:`backtest`.

Conventions shared by ``recommend`` (its internal simulation) and ``backtest``:

* One step per calendar day. On day ``t``: receipts due on ``t`` arrive first; then the
  day's demand is issued, ``served = min(demand, on_hand)`` (issues stop at zero, the rest
  is lost); then the platform's rule runs: if ``on_hand + on_order <= min`` and ``max > 0``
  an order for ``max - position`` rounded *up* to whole packs (at least one pack) is placed
  and arrives at the start of day ``t + lead_time`` (``lead_time >= 1``). This is
  ``replenishment.rules.shortfall`` applied once a day.
* Fill rate = units served / units demanded (type 2). A bin with no demand has fill 1.0.
* Average stock = mean end-of-day on-hand; value = units x unit_price.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# Release policies, as in ``cmi.models.ReleasePolicy`` (repeated here: no Django import).
RELEASE_POLICIES = ("auto", "scheduled", "approval")

# Demand classes written to ``Recommendation.explanation["class"]``.
DEMAND_CLASSES = ("smooth", "erratic", "intermittent", "lumpy", "new", "none")


@dataclass(frozen=True)
class Receipt:
    """One replenishment order line for a bin.

    ``ordered`` is the day the platform raised the order (the rule fired), so
    ``received - ordered`` holds the release wait under the customer's policy as well as the
    vendor's lead time and lateness. Pass the release day instead if that is all there is.
    """

    ordered: date
    received: date
    quantity: int


@dataclass(frozen=True)
class BinInput:
    """Everything the engine needs to know about one bin.

    ``history`` holds ``(day, quantity_issued, on_hand_after)`` for every bin-day that had
    issues or ended empty (``on_hand_after == 0``), up to the day before ``as_of``. Days not
    listed had no issues and did not end empty. ``on_hand_after`` may be ``None`` when
    unknown (the day is then treated as not censored).

    Random streams are derived from ``seed`` and ``str(key)``, so the batch's order does not
    matter. With ``EngineSettings.allocate`` (the default) service is allocated across the
    batch (pass a customer's or a site's bins together): a bin's levels then depend on the
    other bins of the batch too.
    """

    key: Hashable
    pack_multiple: int
    lead_time_days: int
    release_policy: str = "auto"
    unit_price: float = 1.0
    created: date | None = None
    history: Sequence[tuple[date, int, int | None]] = ()
    receipts: Sequence[Receipt | tuple[date, date, int]] = ()
    current_min: int = 0
    current_max: int = 0
    target_fill: float = 0.98
    floor_min: int = 0


@dataclass(frozen=True)
class EngineSettings:
    """Knobs with defaults tuned on the bench's own seeds (see ``bench/demand.py``)."""

    window_days: int = 365  # history used
    half_life_days: float = 45.0  # recency weighting of the level
    blend_events: float = 2.0  # pseudo-events pulling a thin recent level to the window mean
    shift_z: float = 3.0  # last-4-weeks shift (in standard errors) that moves the level
    shape_half_life_days: float = 120.0  # recency weighting of resampled weeks
    rate_uncertainty: float = 1.0  # exponent on the per-scenario Gamma rate multiplier
    scenarios: int = 24  # demand scenarios per bin
    horizon_days: int = 182  # simulated days per scenario (after a 28-day warm-up)
    target_boost: float | None = None  # internal target = target + boost, if set
    target_shrink: float = 0.6  # else internal target = 1 - (1 - target) * shrink
    min_tolerance: float = 0.02  # bisection stops within this share of min
    order_cost: float = 0.3  # EOQ order cost per line, same money unit as unit_price
    holding_rate: float = 0.25  # per year, on value
    min_weeks_cover: float = 1.0  # floor on max - min, in weeks of demand
    max_weeks_cover: float = 26.0  # ceiling on max - min, in weeks of demand
    new_bin_days: int = 28  # less history than this: class "new"
    # Service allocated across the batch (a customer's bins, a folder): every bin first gets
    # the min meeting ``bin_floor_fill`` (simulated), then the bins with the most units served
    # per unit of stock value added are raised until the batch's expected aggregate fill
    # reaches its internal target (demand-weighted target_fill, mapped by ``group_shrink``).
    allocate: bool = True
    bin_floor_fill: float = 0.96  # simulated per-bin fill every bin gets at least
    sparse_floor_shrink: float = 0.35  # intermittent/lumpy: floor = 1 - (1 - floor) * this
    group_shrink: float = 0.45  # group internal target = 1 - (1 - target) * group_shrink
    ladder_steps: int = 8  # candidate mins above the floor's, per bin
    ladder_step_share: float = 0.15  # of the lead-time demand plus the floor's min, per step


@dataclass(frozen=True)
class Recommendation:
    """Levels for one bin and why.

    ``explanation`` is JSON-serialisable and holds at least: ``class``, ``adi``, ``cv2``,
    ``demand_days``, ``censored_days`` (and ``censoring``: how they were corrected),
    ``level`` (units/day), ``lead_time`` (``mean_days``, ``p90_days``, ``source``:
    ``receipts`` or ``nominal``, ``nominal_days``, ``samples``), ``order_quantity``,
    ``target_fill``, ``expected`` with ``recommended`` and ``current`` each holding
    ``fill``, ``avg_stock_units``, ``avg_stock_value``, ``orders_per_month`` (``None`` when
    there is nothing to simulate: no demand, or no current levels), and ``recent_daily``:
    units issued on each of the last 91 days, oldest first.
    """

    key: Hashable
    min: int
    max: int
    explanation: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BacktestBin:
    """One bin replayed against fixed levels over a daily demand series.

    ``demand[i]`` is the units wanted on day ``i``. ``lead_time_days`` is either one number
    (every order) or a sequence giving the lead time of an order placed on day ``i``.
    ``start_on_hand`` defaults to ``max_qty`` (a bin set up at its new levels).
    """

    key: Hashable
    min_qty: int
    max_qty: int
    pack_multiple: int
    lead_time_days: int | Sequence[int]
    unit_price: float
    demand: Sequence[int]
    start_on_hand: int | None = None


@dataclass(frozen=True)
class BacktestResult:
    key: Hashable
    days: int
    demanded: int
    served: int
    fill: float  # served / demanded, 1.0 when nothing was demanded
    days_at_zero: int  # days that ended with nothing on hand
    avg_stock_units: float
    avg_stock_value: float
    order_lines: int


def recommend(
    bins: Sequence[BinInput],
    as_of: date,
    *,
    seed: int = 0,
    settings: EngineSettings | None = None,
) -> list[Recommendation]:
    """Recommended min/max for each bin, in input order. Deterministic for given input."""
    from insight.engine.core import recommend_all

    return recommend_all(bins, as_of, seed=seed, settings=settings or EngineSettings())


def backtest(bins: Sequence[BacktestBin]) -> list[BacktestResult]:
    """Replay each bin's demand against its levels under the platform's rule, in order."""
    from insight.engine.replay import backtest_all

    return backtest_all(bins)


def summarize(results: Sequence[BacktestResult]) -> dict[str, float]:
    """Totals over results: ``fill`` (aggregate), ``mean_bin_fill``, ``share_under_90``,
    ``avg_stock_units``, ``avg_stock_value``, ``order_lines``, ``days_at_zero``, ``bins``."""
    from insight.engine.replay import summarize_results

    return summarize_results(results)

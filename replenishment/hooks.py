"""Where replenishment hands over to the apps above it without importing them.

EDI sits above replenishment, yet a release must write its 850 in the release's own
transaction, a cancellation its cancel 850, and an order's API detail shows what EDI
knows of it. Such an app registers its hooks here once, by name, in its
`AppConfig.ready`; replenishment calls them explicitly, in registration order. These
are not signals: nothing else may add to them. (Alerts and webhooks hear of orders
through cmi/events.py's domain events, after commit.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OrdersHook = Callable[..., None]  # (vendor_id=..., order_ids=[...]) inside the transaction
DetailExtension = Callable[[Any], dict]  # (order) -> {"name": {...}}


@dataclass(frozen=True)
class Hooks:
    released: OrdersHook | None = None
    cancelled: OrdersHook | None = None
    order_detail: DetailExtension | None = None


_registered: dict[str, Hooks] = {}


def register(name: str, hooks: Hooks) -> None:
    """One app's hooks under its name; registering the name again replaces them."""
    _registered[name] = hooks


def orders_released(*, vendor_id: int, order_ids: list[int]) -> None:
    for hooks in _registered.values():
        if hooks.released is not None:
            hooks.released(vendor_id=vendor_id, order_ids=order_ids)


def orders_cancelled(*, vendor_id: int, order_ids: list[int]) -> None:
    for hooks in _registered.values():
        if hooks.cancelled is not None:
            hooks.cancelled(vendor_id=vendor_id, order_ids=order_ids)


def order_detail_extensions(order: Any) -> dict:
    out: dict = {}
    for hooks in _registered.values():
        if hooks.order_detail is not None:
            out.update(hooks.order_detail(order))
    return out

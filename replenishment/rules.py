"""The reorder rule, as pure functions."""

from __future__ import annotations

from stocking.models import reorder_point_reached


def round_up_to_packs(quantity: int, pack_multiple: int) -> int:
    """Whole packs, at least one."""
    pack = max(pack_multiple, 1)
    packs = max(-(-quantity // pack), 1)
    return packs * pack


def shortfall(
    *, on_hand: int, on_order: int, min_qty: int, max_qty: int, pack_multiple: int
) -> int:
    """What to order for a min/max bin: nothing above min, else back up to max in packs."""
    if not reorder_point_reached(
        on_hand=on_hand, on_order=on_order, min_qty=min_qty, max_qty=max_qty
    ):
        return 0
    return round_up_to_packs(max_qty - on_hand - on_order, pack_multiple)

"""The reorder rule, as pure functions."""

from __future__ import annotations


def round_up_to_packs(quantity: int, pack_multiple: int) -> int:
    """Whole packs, at least one."""
    pack = max(pack_multiple, 1)
    packs = max(-(-quantity // pack), 1)
    return packs * pack


def shortfall(
    *, on_hand: int, on_order: int, min_qty: int, max_qty: int, pack_multiple: int
) -> int:
    """What to order for a min/max bin: nothing above min, else back up to max in packs."""
    position = on_hand + on_order
    if max_qty <= 0 or position > min_qty:
        return 0
    return round_up_to_packs(max_qty - position, pack_multiple)

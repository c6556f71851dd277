"""Where stocking hands over to replenishment without importing it.

The line of apps is catalog <- stocking <- replenishment: stocking must not import
replenishment, yet a receipt has to lower on-order against open order lines (in the
same transaction) and touched bins have to be evaluated (after commit).
Replenishment registers both at start-up; these are explicit calls, not signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

ReceiptAllocator = Callable[..., dict[int, int]]
BinsTouched = Callable[..., None]

_receipts: list[ReceiptAllocator] = []
_bins_touched: list[BinsTouched] = []


def register(*, receipts: ReceiptAllocator, bins_touched: BinsTouched) -> None:
    if receipts not in _receipts:
        _receipts.append(receipts)
    if bins_touched not in _bins_touched:
        _bins_touched.append(bins_touched)


def receipts_allocate(*, vendor_id: int, receipts: dict[int, int]) -> dict[int, int]:
    """Inside the scan transaction, with the bins locked: {bin_id: quantity received}.

    Returns {bin_id: quantity that is no longer on order}.
    """
    taken: dict[int, int] = {}
    for fn in _receipts:
        for bin_id, quantity in (fn(vendor_id=vendor_id, receipts=receipts) or {}).items():
            taken[bin_id] = taken.get(bin_id, 0) + quantity
    return taken


def bins_touched(*, vendor_id: int, bin_ids: Iterable[int]) -> None:
    """Inside the transaction; implementations act on commit."""
    ids = sorted(set(bin_ids))
    if ids:
        for fn in _bins_touched:
            fn(vendor_id=vendor_id, bin_ids=ids)

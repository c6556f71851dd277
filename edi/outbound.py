"""Outbound documents: written in the transaction that releases or cancels an order.

A vendor with no trading partner profile gets no X12 (its ERP reads JSON orders).
"""

from __future__ import annotations


def orders_released(*, vendor_id: int, order_ids: list[int]) -> None:
    from edi.documents import purchase_orders_write

    purchase_orders_write(vendor_id=vendor_id, order_ids=order_ids, purpose="00")


def orders_cancelled(*, vendor_id: int, order_ids: list[int]) -> None:
    from edi.documents import purchase_orders_write

    purchase_orders_write(vendor_id=vendor_id, order_ids=order_ids, purpose="01")

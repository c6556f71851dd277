"""The service scorecard: how well vendor and customer serve each other, per customer
and month, computed from what the platform saw (ledger, orders, EDI documents).

Both sides read the same numbers through the same selector (`scorecard_selectors`).
"""

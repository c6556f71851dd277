"""Usage analytics: daily aggregates of the stock ledger and the reads over them.

`models` holds the aggregates, `build` keeps them (incrementally from a watermark, or
rebuilt exactly from the ledger), `selectors` answers the API and the portal pages.
"""

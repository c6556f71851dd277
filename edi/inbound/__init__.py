"""Inbound X12: what the vendor's ERP (997, 855, 856, 810) and customers' own
systems (852) post to the inbox, checked and applied set by set.

`interchange_receive` is the one entry point; edi.inbound.envelope says how.
"""

from edi.inbound.envelope import InboxResult, interchange_receive

__all__ = ["InboxResult", "interchange_receive"]

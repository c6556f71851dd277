"""The demo's EDI part: one partner profile per demo vendor, so released orders get an 850.

`seed_demo` (in stocking, which must not import edi) calls `EdiConfig.demo_seed`
with the demo vendors' codes; this creates what is missing and leaves the rest.
"""

from __future__ import annotations

from collections import Counter

from cmi.models import Vendor
from cmi.scoping import Scope
from edi.models import TradingPartner
from edi.outbound import partner_replace

DEMO_OUR_ISA = "CMIDEMO"
DEMO_OUR_GS = "CMIDEMO"


def demo_partner_ids(vendor_code: str) -> tuple[str, str]:
    """The demo ERP's ISA and GS ids: the vendor code, upper case, no dashes, 15 max."""
    ident = vendor_code.replace("-", "").upper()[:12] + "ERP"
    return ident[:15], ident[:15]


def demo_partners_seed(vendor_codes: list[str]) -> Counter[str]:
    created: Counter[str] = Counter()
    vendors = Vendor.objects.filter(code__in=vendor_codes)
    have = set(
        TradingPartner.objects.filter(vendor__in=vendors).values_list("vendor_id", flat=True)
    )
    for vendor in vendors:
        if vendor.pk in have:
            continue
        isa, gs = demo_partner_ids(vendor.code)
        partner_replace(
            scope=Scope(vendor_id=vendor.pk, role="vendor_admin"),
            data={
                "isa_sender_id": DEMO_OUR_ISA,
                "isa_receiver_id": isa,
                "gs_sender": DEMO_OUR_GS,
                "gs_receiver": gs,
            },
            source="create",
        )
        created["edi_partners"] += 1
    return created

"""The outbound side of EDI: the partner profile that shapes every envelope, the
documents written in the transaction that releases or cancels an order, and the
outbox the ERP pulls them from and reports pickup to.

A vendor with no trading partner profile gets no X12 (its ERP reads JSON orders).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cmi.errors import ApiError
from cmi.models import Vendor
from cmi.scoping import Scope
from cmi.services import ObjectChange, setting_changes_record
from edi.models import Direction, Document, TradingPartner
from edi.x12 import X12Error, X12ErrorCode

# The largest id a bigint column holds: a larger one in a URL or a cursor is simply
# not there, and SQLite would raise OverflowError on it rather than find nothing.
MAX_ID = 2**63 - 1

# Which profile field an envelope error names, by the X12 element it was found in.
_ENVELOPE_FIELDS = {
    ("ISA", 5): "isa_sender_qualifier",
    ("ISA", 6): "isa_sender_id",
    ("ISA", 7): "isa_receiver_qualifier",
    ("ISA", 8): "isa_receiver_id",
    ("GS", 2): "gs_sender",
    ("GS", 3): "gs_receiver",
    ("GS", 8): "gs08_suffix",
}
_ID_FIELDS = ("isa_sender_id", "isa_receiver_id", "gs_sender", "gs_receiver")
_SEPARATOR_FIELDS = (
    "element_separator",
    "component_separator",
    "segment_terminator",
    "repetition_separator",
)
# Every 850 carries a decimal price, which the writer cannot clean: a "." separator
# would fail every release. A "-" would be cleaned out of SKUs and part numbers,
# which the ERP then cannot match.
_DATA_CHARS = frozenset(".-")


# --- release and cancel hooks (inside the order's transaction) -------------------------


def orders_released(*, vendor_id: int, order_ids: list[int]) -> None:
    from edi.documents import purchase_orders_write

    purchase_orders_write(vendor_id=vendor_id, order_ids=order_ids, purpose="00")


def orders_cancelled(*, vendor_id: int, order_ids: list[int]) -> None:
    from edi.documents import purchase_orders_write

    purchase_orders_write(vendor_id=vendor_id, order_ids=order_ids, purpose="01")


# --- the partner profile -------------------------------------------------------------


def partner_get(*, scope: Scope) -> TradingPartner:
    partner = TradingPartner.objects.for_scope(scope).first()
    if partner is None:
        raise ApiError("not_found", "This vendor has no trading partner profile.", status_code=404)
    return partner


def _partner_invalid(field: str | None, message: str) -> ApiError:
    return ApiError("invalid_partner", message, field=field)


def partner_validate(partner: TradingPartner) -> None:
    """Raise ApiError invalid_partner naming the first wrong field.

    The model's own rules first (field widths and choices, then clean()), then a
    trial envelope, because the writer is stricter than clean() and a profile it
    refuses would make every release fail.
    """
    try:
        partner.full_clean(exclude=["vendor"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        errors = exc.message_dict
        field = next(iter(errors))
        raise _partner_invalid(None if field == "__all__" else field, errors[field][0]) from exc
    for name in _SEPARATOR_FIELDS:
        if getattr(partner, name) in _DATA_CHARS:
            raise _partner_invalid(
                name, "'.' and '-' appear in prices, SKUs and part numbers: not a separator"
            )
    for name in _ID_FIELDS:
        value = getattr(partner, name)
        # X12's basic character set: a translator counts the ISA in bytes.
        if not (value.isascii() and value.isprintable()):
            raise _partner_invalid(name, "printable ASCII characters only")
    try:
        from edi.documents import partner_envelope_check

        partner_envelope_check(partner)
    except X12Error as exc:
        field = _ENVELOPE_FIELDS.get((exc.segment_tag or "", exc.element_position or 0))
        if exc.code == X12ErrorCode.INVALID_SEPARATORS:
            field = "element_separator"
        raise _partner_invalid(field, exc.message) from exc


@transaction.atomic
def partner_replace(
    *, scope: Scope, data: dict[str, Any], source: str = "api"
) -> tuple[TradingPartner, bool]:
    """Create or replace the vendor's profile: fields not given take their defaults.

    Returns the profile and whether it was created. The vendor row is locked first,
    so two admins saving at once (even the very first time, when there is no
    profile row to lock) queue up: the last save wins whole, never a mix of both.
    """
    # NO KEY: scans and orders that merely reference the vendor need not wait.
    Vendor.objects.select_for_update(no_key=True).filter(pk=scope.vendor_id).values_list(
        "pk"
    ).first()
    existing = TradingPartner.objects.filter(vendor_id=scope.vendor_id).first()
    partner = TradingPartner(vendor_id=scope.vendor_id, **data)
    if existing is not None:
        partner.pk = existing.pk
    partner_validate(partner)
    partner.save(force_insert=existing is None, force_update=existing is not None)
    names = [
        f.attname for f in TradingPartner._meta.concrete_fields if f.attname not in _NOT_SETTINGS
    ]
    setting_changes_record(
        vendor_id=scope.vendor_id,
        user_id=scope.user_id,
        source=source,
        changes=[
            ObjectChange(
                customer_id=None,
                object_type="trading_partner",
                object_id=partner.pk,
                before={n: getattr(existing, n) for n in names} if existing else {},
                after={n: getattr(partner, n) for n in names},
            )
        ],
    )
    return partner, existing is None


_NOT_SETTINGS = ("id", "vendor_id")


# --- the outbox ---------------------------------------------------------------------


def outbox_list(*, scope: Scope, after: int, limit: int) -> list[Document]:
    """The vendor's outbound documents with a cursor above `after`, in cursor order.

    Cursors are drawn under a lock held until commit (edi.documents), so a cursor
    only becomes visible once every lower one has: reading "above `after`" never
    skips a document that commits later. The payload is left out; it has its own
    endpoint and may be large.
    """
    return list(
        Document.objects.for_scope(scope)
        .filter(direction=Direction.OUT, cursor__gt=after)
        .select_related("order")
        .only(
            "id",
            "cursor",
            "transaction_set",
            "purpose",
            "isa_control",
            "gs_control",
            "st_control",
            "created_at",
            "delivered_at",
            "delivery_status",
            "delivery_reason",
            "order__id",
            "order__po_number",
        )
        .order_by("cursor")[:limit]
    )


def outbox_documents(*, scope: Scope) -> QuerySet[Document]:
    return Document.objects.for_scope(scope).filter(direction=Direction.OUT)


def outbox_document(*, scope: Scope, document_id: int) -> Document:
    """One outbound document of the scope's vendor; anything else is a 404."""
    found = (
        outbox_documents(scope=scope).filter(pk=document_id).first()
        if 0 < document_id <= MAX_ID
        else None
    )
    if found is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    return found


DELIVERY_STATUSES = ("received", "failed")


@transaction.atomic
def document_delivery_record(
    *, scope: Scope, document_id: int, status: str, reason: str = ""
) -> Document:
    """Record that the ERP picked a document up (or failed to).

    Idempotent: the same report again changes nothing, so an ERP retrying after a
    timeout does not move delivered_at. A different status is the ERP's newer word
    (it failed, then fetched again) and replaces the old one. One conditional
    UPDATE, so two concurrent identical reports write once.
    """
    outbox_document(scope=scope, document_id=document_id)
    outbox_documents(scope=scope).filter(pk=document_id).exclude(delivery_status=status).update(
        delivery_status=status,
        delivery_reason=reason[:200],
        delivered_at=timezone.now(),
    )
    return (
        outbox_documents(scope=scope).select_related("order").defer("payload").get(pk=document_id)
    )

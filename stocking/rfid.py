"""RFID: kanban cards read at a drop box, tagged items counted by a cabinet's read cycles.

A read cycle is judged as a whole, then each EPC in it. It changes stock only through
the scan ingest's own writer (`services._store`): the same events, ledger, late-event
rule (a change that happened before the bin's last count is kept, not applied),
kanban signal and receipt allocation as a handheld's scans. So a drop-box read of an
armed card is a kanban scan of its bin, and a cabinet's cycle is issues (tags gone),
receipts (tags come) or, the first time a bin is seen, a count (its tags).

Stable codes, per EPC (`reason` of an ignored EPC): duplicate, unknown, no_bin,
other_customer, kanban_card, not_kanban_bin, card_disarmed, late_read,
incomplete_cycle, late_cycle. Per cycle (`reason`): reader_fault, antennas_missing,
late_cycle. A cycle id seen before returns the answer it got then.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from epcpy import ConvertException, hex_to_tag_encodable
from epcpy.epc_schemes.sgtin import SGTIN

from catalog.models import Item, ItemBarcode
from cmi import tokens
from cmi.errors import ApiError
from cmi.rows import rows_insert, rows_update
from cmi.scoping import Scope
from cmi.text import TEXT_INVALID, TextRejected, surrogate_path, text_check
from stocking import services
from stocking.models import (
    Bin,
    LedgerEntry,
    Location,
    MovementKind,
    RfidCard,
    RfidCycle,
    RfidCycleStatus,
    RfidMode,
    RfidReader,
    RfidTag,
    RfidTagMovement,
    RfidUnknownTag,
    ScannerDevice,
    Site,
)
from stocking.scans import OLDEST, ScanInput

APPLIED, IGNORED = "applied", "ignored"
HEX = re.compile(r"[0-9A-Fa-f]+")
EPC_MIN_HEX, EPC_MAX_HEX = 8, 124  # 32 to 496 bits: every EPC the Tag Data Standard defines
MAX_ANTENNAS = 64
RFID_NAMESPACE = uuid.UUID("6f0f2a49-3a8e-4d3c-9a55-6b7d4ad1c0e1")


def epc_normalise(value: str) -> str:
    return value.strip().upper()


def epc_check(value: Any, *, field: str = "epc") -> str:
    """An EPC as upper-case hex, or an ApiError with a stable code."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError("invalid_epc", "An EPC is a hex string.", field=field)
    epc = epc_normalise(value)
    if not HEX.fullmatch(epc) or not EPC_MIN_HEX <= len(epc) <= EPC_MAX_HEX:
        raise ApiError(
            "invalid_epc",
            f"An EPC is {EPC_MIN_HEX} to {EPC_MAX_HEX} hex digits (0-9, A-F).",
            field=field,
        )
    return epc


@dataclass(frozen=True)
class Sgtin:
    gtin: str
    serial: str


def epc_decode(epc: str) -> Sgtin | None:
    """SGTIN-96 or SGTIN-198 to GTIN-14 and serial (epcpy); None for anything else."""
    try:
        decoded = hex_to_tag_encodable(epc)
    except (ConvertException, ValueError, IndexError, KeyError):
        return None
    if not isinstance(decoded, SGTIN):
        return None
    try:
        element = decoded.gs1_element_string()  # "(01)<gtin>(21)<serial>"
    except (ConvertException, ValueError):
        return None
    serial = element.split("(21)", 1)[1] if "(21)" in element else ""
    return Sgtin(gtin=decoded.gtin(), serial=serial[:64])


def gtin_codes(gtin: str) -> list[str]:
    """A GTIN-14 as an item barcode may be written: GTIN-14, EAN-13, UPC-A."""
    codes = [gtin]
    if gtin.startswith("0"):
        codes.append(gtin[1:])
    if gtin.startswith("00"):
        codes.append(gtin[2:])
    return codes


# --- parsing a cycle ---------------------------------------------------------------------


@dataclass
class EpcRead:
    index: int
    epc: str
    antenna: int | None
    rssi: float | None
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None


@dataclass
class CycleInput:
    cycle_id: str
    started_at: dt.datetime
    ended_at: dt.datetime
    antennas: list[int]
    fault: bool
    reads: list[EpcRead] = field(default_factory=list)

    def read_time(self, read: EpcRead) -> dt.datetime:
        return read.last_seen or read.first_seen or self.ended_at


def _when(value: Any, where: str, now: dt.datetime, *, required: bool) -> dt.datetime | None:
    if value is None:
        if required:
            raise ApiError(f"missing_{where}", f"'{where}' is required (ISO 8601).", field=where)
        return None
    code = "invalid_time"
    if not isinstance(value, str) or len(value) > 40:
        raise ApiError(code, f"'{where}' must be an ISO 8601 string.", field=where)
    try:
        when = dt.datetime.fromisoformat(value.strip())
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)  # readers without a zone report UTC
        when = when.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise ApiError(code, f"'{where}' is not ISO 8601.", field=where) from exc
    if when > now + dt.timedelta(seconds=settings.SCAN_FUTURE_TOLERANCE_SECONDS):
        raise ApiError(
            "occurred_in_future",
            f"'{where}' is in the future; check the reader's clock.",
            field=where,
        )
    if when < OLDEST:
        raise ApiError(code, f"'{where}' is before the year 2000.", field=where)
    return when


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(
            "invalid_antenna",
            f"'{where}' must be a whole number from {low} to {high}.",
            field=where,
        )
    return value


def _read(raw: Any, index: int, now: dt.datetime) -> EpcRead:
    where = f"epcs.{index}"
    if not isinstance(raw, dict):
        raise ApiError("invalid_epc", "Each EPC read is an object with 'epc'.", field=where)
    extra = set(raw) - {"epc", "antenna", "rssi", "first_seen", "last_seen"}
    if extra:
        raise ApiError("unknown_field", f"Unknown field '{sorted(extra)[0]}'.", field=where)
    antenna = raw.get("antenna")
    if antenna is not None:
        antenna = _int(antenna, f"{where}.antenna", 1, MAX_ANTENNAS)
    rssi = raw.get("rssi")
    if rssi is not None:
        if isinstance(rssi, bool) or not isinstance(rssi, int | float) or not -200 <= rssi <= 50:
            raise ApiError(
                "invalid_rssi", "'rssi' is a number of dBm from -200 to 50.", field=f"{where}.rssi"
            )
        rssi = float(rssi)
    first = _when(raw.get("first_seen"), f"{where}.first_seen", now, required=False)
    last = _when(raw.get("last_seen"), f"{where}.last_seen", now, required=False)
    if first and last and last < first:
        raise ApiError(
            "invalid_time", "'last_seen' is before 'first_seen'.", field=f"{where}.last_seen"
        )
    return EpcRead(
        index=index,
        epc=epc_check(raw.get("epc"), field=f"{where}.epc"),
        antenna=antenna,
        rssi=rssi,
        first_seen=first,
        last_seen=last,
    )


def cycle_parse(body: Any, *, now: dt.datetime) -> CycleInput:
    """A read cycle, or an ApiError (400) with a stable code and the field it names."""
    where = surrogate_path(body)
    if where is not None:
        raise ApiError(
            TEXT_INVALID, "The body holds an invalid (surrogate) character.", field=where
        )
    if not isinstance(body, dict):
        raise ApiError("invalid_cycle", "The body must be a read cycle object.")
    extra = set(body) - {"cycle_id", "started_at", "ended_at", "antennas", "fault", "epcs"}
    if extra:
        raise ApiError("unknown_field", f"Unknown field '{sorted(extra)[0]}'.", field="body")
    cycle_id = body.get("cycle_id")
    if not isinstance(cycle_id, str) or not cycle_id.strip():
        raise ApiError(
            "missing_cycle_id", "'cycle_id' (the reader's) is required.", field="cycle_id"
        )
    try:
        cycle_id = text_check(cycle_id.strip(), field="cycle_id", max_length=64)
    except TextRejected as err:
        raise ApiError(err.code, err.detail, field="cycle_id") from err
    started = _when(body.get("started_at"), "started_at", now, required=True)
    ended = _when(body.get("ended_at"), "ended_at", now, required=True)
    if ended < started:
        raise ApiError("invalid_time", "'ended_at' is before 'started_at'.", field="ended_at")
    antennas = body.get("antennas")
    if not isinstance(antennas, list) or len(antennas) > MAX_ANTENNAS:
        raise ApiError(
            "invalid_antennas",
            f"'antennas' is the list of antennas that reported (at most {MAX_ANTENNAS}).",
            field="antennas",
        )
    antennas = sorted({_int(a, f"antennas.{i}", 1, MAX_ANTENNAS) for i, a in enumerate(antennas)})
    fault = body.get("fault", False)
    if not isinstance(fault, bool):
        raise ApiError("invalid_fault", "'fault' is true or false.", field="fault")
    epcs = body.get("epcs")
    if not isinstance(epcs, list):
        raise ApiError("invalid_epcs", "'epcs' must be a list (empty when none).", field="epcs")
    if len(epcs) > settings.RFID_CYCLE_MAX_EPCS:
        raise ApiError(
            "too_many_epcs",
            f"At most {settings.RFID_CYCLE_MAX_EPCS} EPC reads per cycle.",
            field="epcs",
            status_code=413,
        )
    reads = [_read(raw, i, now) for i, raw in enumerate(epcs)]
    return CycleInput(
        cycle_id=cycle_id,
        started_at=started,
        ended_at=ended,
        antennas=antennas,
        fault=fault,
        reads=reads,
    )


# --- shared helpers ----------------------------------------------------------------------


def _reader_bins(reader: RfidReader, item_ids: set[int]) -> dict[int, Bin]:
    """The bin each item counts in at this reader: under the cabinet's location when it
    has one, else at its site (the lowest id when several). One query."""
    if not item_ids:
        return {}
    qs = Bin.objects.filter(
        vendor_id=reader.vendor_id,
        customer_id=reader.customer_id,
        site_id=reader.site_id,
        item_id__in=item_ids,
        active=True,
    )
    if reader.location_id is not None:
        qs = qs.filter(location__path__startswith=reader.location.path)
    out: dict[int, Bin] = {}
    for b in qs.select_related("item").order_by("pk"):
        out.setdefault(b.item_id, b)
    return out


def _event_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(RFID_NAMESPACE, ":".join(str(p) for p in parts))


@dataclass
class BinTags:
    """What one bin's tags did: a count (first sight), or issues and receipts."""

    bin: Bin
    first: bool = False
    counted: list[RfidTag] = field(default_factory=list)
    issued: list[RfidTag] = field(default_factory=list)
    received: list[RfidTag] = field(default_factory=list)


def _scan_inputs(
    changes: list[BinTags], *, key: str, code: str, occurred_at: dt.datetime
) -> tuple[list[tuple[ScanInput, Bin]], dict[uuid.UUID, list[RfidTag]]]:
    """The scan events a bin's tag changes are, and which tags each event names."""
    placed: list[tuple[ScanInput, Bin]] = []
    tags_of: dict[uuid.UUID, list[RfidTag]] = {}
    for change in changes:
        if change.first:
            moves = [(MovementKind.COUNT, change.counted)]
        else:
            moves = [(MovementKind.ISSUE, change.issued), (MovementKind.RECEIVE, change.received)]
        for kind, tags in moves:
            if kind != MovementKind.COUNT and not tags:
                continue
            event_id = _event_id(key, change.bin.pk, kind)
            tags_of[event_id] = tags
            placed.append(
                (
                    ScanInput(
                        index=len(placed),
                        event_id=event_id,
                        kind=kind,
                        code=code[:64],
                        location="",
                        quantity=len(tags),
                        gross_grams=None,
                        occurred_at=occurred_at,
                    ),
                    change.bin,
                )
            )
    return placed, tags_of


def _ingest(*, scope: Scope, placed: list[tuple[ScanInput, Bin]], now: dt.datetime) -> None:
    """Through the scan ingest's writer: events, ledger, late rule, kanban, receipts."""
    results = [
        services.ScanResult(event_id=str(s.event_id), status=services.ACCEPTED) for s, _ in placed
    ]
    services.scan_events_store(scope=scope, placed=placed, results=results, now=now)


def _movements_write(
    *, scope: Scope, customer_id: int, tags_of: dict[uuid.UUID, list[RfidTag]]
) -> None:
    """The serials of each ledger entry's tags (one read, one insert)."""
    if not tags_of:
        return
    entries = dict(
        LedgerEntry.objects.filter(
            vendor_id=scope.vendor_id,
            customer_id=customer_id,
            scan_event__event_id__in=list(tags_of),
        ).values_list("scan_event__event_id", "pk")
    )
    rows_insert(
        RfidTagMovement,
        [
            RfidTagMovement(
                vendor_id=scope.vendor_id,
                customer_id=customer_id,
                ledger_entry_id=entries[event_id],
                tag_id=tag.pk,
                epc=tag.epc,
                serial=tag.serial,
            )
            for event_id, tags in tags_of.items()
            if event_id in entries
            for tag in tags
        ],
    )


def _tagged_bins(bin_ids: set[int]) -> set[int]:
    """Bins that have had tags before: their changes are issues and receipts, not a count."""
    if not bin_ids:
        return set()
    return set(
        RfidTag.objects.filter(bin_id__in=bin_ids).values_list("bin_id", flat=True).distinct()
    )


# --- the cycle ---------------------------------------------------------------------------


@dataclass
class Judged:
    results: list[dict]
    unknown: dict[str, tuple[str, str, str, dt.datetime]] = field(default_factory=dict)

    def set(
        self, read: EpcRead, status: str, reason: str | None = None, bin_label: str | None = None
    ):
        self.results[read.index] = {
            "epc": read.epc,
            "status": status,
            "reason": reason,
            "bin": bin_label,
        }


def rfid_cycle_ingest(*, scope: Scope, body: Any, now: dt.datetime | None = None) -> dict:
    """`POST /api/v1/rfid/reads`: judge the cycle, apply it, answer per EPC.

    Idempotent per (reader, cycle id). A fixed number of queries whatever the EPC count.
    """
    now = now or timezone.now()
    cycle = cycle_parse(body, now=now)
    reader = RfidReader.objects.for_scope(scope).filter(device_id=scope.device_id).first()
    if scope.device_id is None or reader is None:
        raise ApiError(
            "not_a_reader",
            "This token is a scanner's, not an RFID reader's: post scans to /api/v1/scans.",
            status_code=403,
        )
    for attempt in range(2):
        try:
            return _cycle_store(scope=scope, reader_id=reader.pk, cycle=cycle, now=now)
        except IntegrityError:
            # Another post of the same cycle (or a first sight of the same tag) won a race:
            # the second try reads what it wrote.
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def _cycle_store(*, scope: Scope, reader_id: int, cycle: CycleInput, now: dt.datetime) -> dict:
    # One cycle of a reader at a time: its tag state is what the next cycle compares with.
    reader = (
        RfidReader.objects.select_for_update(of=("self",))
        .select_related("location")
        .get(pk=reader_id)
    )
    done = (
        RfidCycle.objects.filter(reader_id=reader.pk, cycle_id=cycle.cycle_id)
        .values_list("answer", flat=True)
        .first()
    )
    if done is not None:
        return done
    judged = Judged(results=[{} for _ in cycle.reads])
    unique: list[EpcRead] = []
    seen: set[str] = set()
    for read in cycle.reads:
        if read.epc in seen:
            judged.set(read, IGNORED, "duplicate")
        else:
            seen.add(read.epc)
            unique.append(read)

    status, reason = RfidCycleStatus.APPLIED, ""
    if cycle.fault:
        status, reason = RfidCycleStatus.INCOMPLETE, "reader_fault"
    elif len(cycle.antennas) < reader.antenna_count:
        status, reason = RfidCycleStatus.INCOMPLETE, "antennas_missing"
    elif (
        reader.mode == RfidMode.CABINET
        and reader.last_cycle_ended_at is not None
        and cycle.ended_at <= reader.last_cycle_ended_at
    ):
        # The latest applied cycle is the cabinet's count: an older one changes nothing.
        status, reason = RfidCycleStatus.LATE, "late_cycle"

    if status == RfidCycleStatus.INCOMPLETE:
        for read in unique:
            judged.set(read, IGNORED, "incomplete_cycle")
        services.scan_events_store(scope=scope, placed=[], results=[], now=now)
    elif status == RfidCycleStatus.LATE:
        for read in unique:
            judged.set(read, IGNORED, "late_cycle")
        services.scan_events_store(scope=scope, placed=[], results=[], now=now)
    elif reader.mode == RfidMode.DROP_BOX:
        _drop_box(scope=scope, reader=reader, cycle=cycle, reads=unique, judged=judged, now=now)
    else:
        _cabinet(scope=scope, reader=reader, cycle=cycle, reads=unique, judged=judged, now=now)
    if judged.unknown:
        _unknown_keep(reader=reader, unknown=judged.unknown)

    answer = {
        "cycle_id": cycle.cycle_id,
        "status": str(status),
        "reason": reason or None,
        "applied": sum(1 for r in judged.results if r["status"] == APPLIED),
        "ignored": sum(1 for r in judged.results if r["status"] == IGNORED),
        "results": judged.results,
    }
    RfidCycle.objects.create(
        vendor_id=reader.vendor_id,
        customer_id=reader.customer_id,
        reader=reader,
        cycle_id=cycle.cycle_id,
        started_at=cycle.started_at,
        ended_at=cycle.ended_at,
        antennas=cycle.antennas,
        fault=cycle.fault,
        epc_count=len(cycle.reads),
        status=status,
        reason=reason,
        answer=answer,
        received_at=now,
    )
    if status == RfidCycleStatus.APPLIED and (
        reader.last_cycle_ended_at is None or cycle.ended_at > reader.last_cycle_ended_at
    ):
        RfidReader.objects.filter(pk=reader.pk).update(last_cycle_ended_at=cycle.ended_at)
    return answer


def _drop_box(
    *,
    scope: Scope,
    reader: RfidReader,
    cycle: CycleInput,
    reads: list[EpcRead],
    judged: Judged,
    now: dt.datetime,
) -> None:
    """Each armed card read is one kanban signal of its bin; the card is then disarmed."""
    cards = {
        c.epc: c
        for c in RfidCard.objects.filter(
            vendor_id=scope.vendor_id, epc__in=[r.epc for r in reads]
        ).select_related("bin")
    }
    placed: list[tuple[ScanInput, Bin]] = []
    fired: list[int] = []
    for read in reads:
        card = cards.get(read.epc)
        if card is None:
            judged.set(read, IGNORED, "unknown")
            judged.unknown[read.epc] = ("", "", "unknown", cycle.read_time(read))
        elif card.customer_id != reader.customer_id:
            judged.set(read, IGNORED, "other_customer")
        elif not card.bin.kanban_quantity:
            judged.set(read, IGNORED, "not_kanban_bin", card.bin.label)
        elif not card.armed:
            # Still in the box, or read again before its refill came: it ordered once.
            judged.set(read, IGNORED, "card_disarmed", card.bin.label)
        elif card.armed_at is not None and cycle.read_time(read) < card.armed_at:
            judged.set(read, IGNORED, "late_read", card.bin.label)  # before its re-arming
        else:
            judged.set(read, APPLIED, None, card.bin.label)
            fired.append(card.pk)
            placed.append(
                (
                    ScanInput(
                        index=len(placed),
                        event_id=_event_id("card", card.pk, reader.pk, cycle.cycle_id),
                        kind=MovementKind.KANBAN,
                        code=card.bin.label,
                        location="",
                        quantity=None,
                        gross_grams=None,
                        occurred_at=cycle.read_time(read),
                    ),
                    card.bin,
                )
            )
    _ingest(scope=scope, placed=placed, now=now)
    if fired:
        RfidCard.objects.filter(pk__in=fired).update(armed=False, last_read_at=cycle.ended_at)


def _cabinet(
    *,
    scope: Scope,
    reader: RfidReader,
    cycle: CycleInput,
    reads: list[EpcRead],
    judged: Judged,
    now: dt.datetime,
) -> None:
    """The cycle's tags are the count: gone since the last cycle = issued, new = received."""
    epcs = [r.epc for r in reads]
    cards = set(
        RfidCard.objects.filter(vendor_id=scope.vendor_id, epc__in=epcs).values_list(
            "epc", flat=True
        )
    )
    tags = {t.epc: t for t in RfidTag.objects.filter(vendor_id=scope.vendor_id, epc__in=epcs)}
    present = list(RfidTag.objects.filter(reader_id=reader.pk, present=True))
    decoded: dict[str, Sgtin | None] = {
        e: epc_decode(e) for e in epcs if e not in cards and e not in tags
    }
    codes = {c for d in decoded.values() if d for c in gtin_codes(d.gtin)}
    by_code = dict(
        ItemBarcode.objects.filter(vendor_id=scope.vendor_id, code__in=codes).values_list(
            "code", "item_id"
        )
        if codes
        else []
    )
    item_ids = {t.item_id for t in tags.values() if t.customer_id == reader.customer_id}
    item_ids |= set(by_code.values())
    bins = _reader_bins(reader, item_ids)

    seen: dict[str, RfidTag] = {}
    read_at: dict[str, dt.datetime] = {}
    new_tags: list[RfidTag] = []
    for read in reads:
        tag = tags.get(read.epc)
        when = read_at[read.epc] = cycle.read_time(read)
        if read.epc in cards:
            judged.set(read, IGNORED, "kanban_card")
            continue
        if tag is not None:
            if tag.customer_id != reader.customer_id:
                judged.set(read, IGNORED, "other_customer")
                continue
            found = bins.get(tag.item_id)
            if found is None:
                judged.set(read, IGNORED, "no_bin")
                continue
            seen[read.epc] = tag
            judged.set(read, APPLIED, None, found.label)
            continue
        sgtin = decoded.get(read.epc)
        item_id = None
        if sgtin is not None:
            item_id = next((by_code[c] for c in gtin_codes(sgtin.gtin) if c in by_code), None)
        found = bins.get(item_id) if item_id else None
        if found is None:
            why = "no_bin" if item_id else "unknown"
            judged.set(read, IGNORED, why)
            judged.unknown[read.epc] = (
                sgtin.gtin if sgtin else "",
                sgtin.serial if sgtin else "",
                why,
                when,
            )
            continue
        tag = RfidTag(
            vendor_id=scope.vendor_id,
            customer_id=reader.customer_id,
            epc=read.epc,
            gtin=sgtin.gtin if sgtin else "",
            serial=sgtin.serial if sgtin else "",
            item_id=item_id,
            bin_id=found.pk,
            reader_id=reader.pk,
            present=False,  # becomes present below, as a receipt (or the first count)
            first_seen_at=when,
            last_seen_at=when,
        )
        new_tags.append(tag)
        seen[read.epc] = tag
        judged.set(read, APPLIED, None, found.label)

    changes = _cabinet_changes(reader=reader, present=present, seen=seen, bins=bins, new=new_tags)
    rows_insert(RfidTag, new_tags)
    placed, tags_of = _scan_inputs(
        changes,
        key=f"cycle:{reader.pk}:{cycle.cycle_id}",
        code=f"rfid {cycle.cycle_id}",
        occurred_at=cycle.ended_at,
    )
    _ingest(scope=scope, placed=placed, now=now)
    _movements_write(scope=scope, customer_id=reader.customer_id, tags_of=tags_of)
    # The tag state the next cycle compares with.
    changed: list[RfidTag] = []
    for tag in present:
        if tag.epc not in seen:
            tag.present = False
            changed.append(tag)
    for epc, tag in seen.items():
        tag.present = True
        tag.reader_id = reader.pk
        tag.bin_id = bins[tag.item_id].pk
        tag.last_seen_at = max(tag.last_seen_at, read_at[epc])
        changed.append(tag)
    rows_update(RfidTag, changed, ["present", "reader", "bin", "last_seen_at"])


def _cabinet_changes(
    *,
    reader: RfidReader,
    present: list[RfidTag],
    seen: dict[str, RfidTag],
    bins: dict[int, Bin],
    new: list[RfidTag],
) -> list[BinTags]:
    """Per bin: the tags that left (issues) and came (receipts), or a first count."""
    gone = [t for t in present if t.epc not in seen]
    gone_bins = {t.bin_id for t in gone}
    moved_from: dict[int, list[RfidTag]] = defaultdict(list)
    came: dict[int, list[RfidTag]] = defaultdict(list)
    here: dict[int, list[RfidTag]] = defaultdict(list)
    for tag in seen.values():
        target = bins[tag.item_id].pk
        here[target].append(tag)
        was_here = tag.pk is not None and tag.present and tag.reader_id == reader.pk
        if was_here and tag.bin_id == target:
            continue
        if tag.pk is not None and tag.present and tag.bin_id != target:
            moved_from[tag.bin_id].append(tag)  # left the bin it was counted in
        came[target].append(tag)
    # Bins touched by the cycle that are not in `bins` (a gone tag's bin): lock them too.
    extra = (gone_bins | set(moved_from)) - {b.pk for b in bins.values()}
    all_bins = {b.pk: b for b in bins.values()}
    if extra:
        all_bins.update({b.pk: b for b in Bin.objects.filter(pk__in=extra).select_related("item")})
    tagged = _tagged_bins(set(here) | gone_bins | set(moved_from))
    changes: list[BinTags] = []
    for bin_id in sorted(set(here) | gone_bins | set(moved_from) | set(came)):
        change = BinTags(bin=all_bins[bin_id])
        if bin_id not in tagged:
            change.first = True
            change.counted = here.get(bin_id, [])
        else:
            change.issued = [t for t in gone if t.bin_id == bin_id] + moved_from.get(bin_id, [])
            change.received = came.get(bin_id, [])
        if change.first or change.issued or change.received:
            changes.append(change)
    return changes


def _unknown_keep(
    *, reader: RfidReader, unknown: dict[str, tuple[str, str, str, dt.datetime]]
) -> None:
    """The unknown tags list: one row per customer and EPC, its reads counted."""
    existing = {
        u.epc: u
        for u in RfidUnknownTag.objects.filter(
            vendor_id=reader.vendor_id, customer_id=reader.customer_id, epc__in=list(unknown)
        )
    }
    fresh: list[RfidUnknownTag] = []
    for epc, (gtin, serial, why, when) in unknown.items():
        row = existing.get(epc)
        if row is None:
            fresh.append(
                RfidUnknownTag(
                    vendor_id=reader.vendor_id,
                    customer_id=reader.customer_id,
                    site_id=reader.site_id,
                    reader_id=reader.pk,
                    epc=epc,
                    gtin=gtin,
                    serial=serial,
                    reason=why,
                    first_seen_at=when,
                    last_seen_at=when,
                )
            )
        else:
            row.reads += 1
            row.last_seen_at = max(row.last_seen_at, when)
            row.reader_id, row.site_id, row.reason = reader.pk, reader.site_id, why
    rows_insert(RfidUnknownTag, fresh)
    rows_update(
        RfidUnknownTag,
        list(existing.values()),
        ["reads", "last_seen_at", "reader", "site", "reason"],
    )


# --- people's writes (portal) -----------------------------------------------------------


def _customer_site(scope: Scope, customer_id: int, site_id: int) -> Site:
    site = Site.objects.for_scope(scope).filter(pk=site_id, customer_id=customer_id).first()
    if site is None:
        raise ApiError("unknown_site", f"No site {site_id} for this customer.", field="site")
    return site


@transaction.atomic
def rfid_reader_create(
    *,
    scope: Scope,
    customer_id: int,
    name: str,
    site_id: int,
    mode: str,
    antenna_count: int = 1,
    location_id: int | None = None,
) -> tuple[RfidReader, str]:
    """A reader and its token (shown once): a scanner device bound to a site, with a mode."""
    site = _customer_site(scope, customer_id, site_id)
    if mode not in RfidMode.values:
        raise ApiError("invalid_mode", "'mode' is drop_box or cabinet.", field="mode")
    if not 1 <= antenna_count <= MAX_ANTENNAS:
        raise ApiError("invalid_antennas", f"Antennas: 1 to {MAX_ANTENNAS}.", field="antenna_count")
    location = None
    if location_id is not None:
        location = Location.objects.for_scope(scope).filter(pk=location_id, site=site).first()
        if location is None:
            raise ApiError("unknown_location", "No such location at this site.", field="location")
    plain, digest = tokens.token_new(tokens.DEVICE_PREFIX)
    device = ScannerDevice.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=customer_id,
        site=site,
        name=name,
        token_hash=digest,
        prefix=plain[:10],
    )
    reader = RfidReader.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=customer_id,
        device=device,
        site=site,
        location=location,
        mode=mode,
        antenna_count=antenna_count,
    )
    return reader, plain


@transaction.atomic
def rfid_card_create(*, scope: Scope, customer_id: int, bin_label: str, epc: str) -> RfidCard:
    """Register a kanban card's EPC for a kanban bin of this customer."""
    epc = epc_check(epc)
    found = (
        Bin.objects.for_scope(scope)
        .filter(customer_id=customer_id, label=bin_label.strip())
        .first()
    )
    if found is None:
        raise ApiError("unknown_bin", f"No bin labelled {bin_label!r}.", field="bin")
    if not found.kanban_quantity:
        raise ApiError("not_kanban_bin", f"Bin {found.label} has no kanban quantity.", field="bin")
    if (
        RfidCard.objects.filter(vendor_id=scope.vendor_id, epc=epc).exists()
        or RfidTag.objects.filter(vendor_id=scope.vendor_id, epc=epc).exists()
    ):
        raise ApiError("epc_taken", f"EPC {epc} is registered already.", field="epc")
    return RfidCard.objects.create(
        vendor_id=scope.vendor_id,
        customer_id=customer_id,
        bin=found,
        epc=epc,
        armed=True,
    )


def rfid_card_epc_new(*, scope: Scope) -> str:
    """A fresh 96-bit EPC for a card to be encoded (random, GID-free private range)."""
    return "E2" + uuid.uuid4().hex[:22].upper()


@transaction.atomic
def rfid_card_rearm(*, scope: Scope, customer_id: int, card_id: int) -> RfidCard:
    card = RfidCard.objects.for_scope(scope).filter(customer_id=customer_id, pk=card_id).first()
    if card is None:
        raise ApiError("not_found", "Not found.", status_code=404)
    if not card.armed:
        card.armed, card.armed_at = True, timezone.now()
        card.save(update_fields=["armed", "armed_at"])
    return card


@transaction.atomic
def rfid_unknown_assign(
    *,
    scope: Scope,
    customer_id: int,
    tag_ids: list[int],
    item_id: int | None = None,
    item_sku: str | None = None,
) -> int:
    """Make unknown tags tags of an item: they count for its bin at their reader's site
    from now on, and count now (a receipt, or the bin's first count). Returns how many."""
    items = Item.objects.for_scope(scope).filter(active=True)
    if item_sku is not None:
        item = items.filter(sku=item_sku.strip()).first()
    else:
        item = items.filter(pk=item_id).first()
    if item is None:
        raise ApiError("unknown_item", "No such item.", field="item")
    rows = list(
        RfidUnknownTag.objects.for_scope(scope)
        .filter(customer_id=customer_id, pk__in=tag_ids, assigned_at__isnull=True)
        .select_related("reader__location")
        .order_by("pk")
    )
    if not rows:
        raise ApiError("no_tags", "Choose at least one unassigned tag.", field="tags")
    if RfidTag.objects.filter(vendor_id=scope.vendor_id, epc__in=[r.epc for r in rows]).exists():
        raise ApiError("epc_taken", "A chosen tag is an item's tag already.", field="tags")
    now = timezone.now()
    by_reader: dict[int, list[RfidUnknownTag]] = defaultdict(list)
    readers = {}
    for row in rows:
        by_reader[row.reader_id].append(row)
        readers[row.reader_id] = row.reader
    placed: list[tuple[ScanInput, Bin]] = []
    tags_of: dict[uuid.UUID, list[RfidTag]] = {}
    new_tags: list[RfidTag] = []
    pending: list[BinTags] = []
    for reader_id, group in by_reader.items():
        reader = readers[reader_id]
        found = _reader_bins(reader, {item.pk}).get(item.pk)
        if found is None:
            raise ApiError(
                "no_bin",
                f"{item.sku} has no bin where reader {reader.device_id} reads: add one first.",
                field="item",
            )
        tags = [
            RfidTag(
                vendor_id=scope.vendor_id,
                customer_id=customer_id,
                epc=row.epc,
                gtin=row.gtin,
                serial=row.serial,
                item_id=item.pk,
                bin_id=found.pk,
                reader_id=reader.pk if reader.mode == RfidMode.CABINET else None,
                present=reader.mode == RfidMode.CABINET,
                first_seen_at=row.first_seen_at,
                last_seen_at=row.last_seen_at,
            )
            for row in group
        ]
        new_tags += tags
        if reader.mode == RfidMode.CABINET:
            pending.append(BinTags(bin=found, counted=tags, received=tags))
    tagged = _tagged_bins({c.bin.pk for c in pending})
    for change in pending:
        change.first = change.bin.pk not in tagged
    rows_insert(RfidTag, new_tags)
    key = f"assign:{uuid.uuid4()}"
    placed, tags_of = _scan_inputs(pending, key=key, code="rfid assign", occurred_at=now)
    _ingest(scope=scope, placed=placed, now=now)
    _movements_write(scope=scope, customer_id=customer_id, tags_of=tags_of)
    RfidUnknownTag.objects.filter(pk__in=[r.pk for r in rows]).update(
        assigned_item=item, assigned_at=now
    )
    return len(rows)


# --- selectors ---------------------------------------------------------------------------


def reader_list(*, scope: Scope, customer_id: int) -> QuerySet[RfidReader]:
    return (
        RfidReader.objects.for_scope(scope)
        .filter(customer_id=customer_id)
        .select_related("device", "site", "location")
        .order_by(F("device__revoked_at").asc(nulls_first=True), "device__name", "pk")
    )


def card_list(*, scope: Scope, customer_id: int) -> QuerySet[RfidCard]:
    return (
        RfidCard.objects.for_scope(scope)
        .filter(customer_id=customer_id)
        .select_related("bin__item", "bin__location")
        .order_by("bin__label", "pk")
    )


def unknown_tag_list(*, scope: Scope, customer_id: int) -> QuerySet[RfidUnknownTag]:
    return (
        RfidUnknownTag.objects.for_scope(scope)
        .filter(customer_id=customer_id, assigned_at__isnull=True)
        .select_related("site", "reader__device")
        .order_by("-last_seen_at", "pk")
    )


def cycle_recent(*, scope: Scope, customer_id: int) -> QuerySet[RfidCycle]:
    return (
        RfidCycle.objects.for_scope(scope)
        .filter(customer_id=customer_id)
        .select_related("reader__device")
        .defer("answer")
        .order_by("-received_at", "-id")
    )


CARD_EXPORT_COLUMNS = (
    "epc",
    "bin__label",
    "bin__item__sku",
    "bin__item__description",
    "bin__location__code",
    "armed",
)


def card_export_rows(*, scope: Scope, customer_id: int) -> QuerySet:
    """The cards as an encoding list (EPC hex, bin label, item, ...): one query."""
    return card_list(scope=scope, customer_id=customer_id).values_list(*CARD_EXPORT_COLUMNS)

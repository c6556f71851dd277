"""`manage.py simulate_erp`: the demo's scanners (simulate_scans) and each vendor's ERP.

Every round, after the scanners have posted, each demo vendor's ERP (its demo ERP
key, over the real HTTP API) polls the EDI outbox, confirms what it pulled, and for
each new 850 answers a 997 and an 855 accepting every line. After a simulated lead
time it ships the order with an 856 and invoices it with an 810; then the customer's
stock room receives the goods by scanning each line's bin. The documents are built
with the project's X12 writer and the 850 is read with its reader.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from edi.x12 import interchange_parse
from edi.x12.model import FunctionalGroup, Interchange, Segment, Separators, TransactionSet
from edi.x12.writer import interchange_serialize
from stocking.management.commands import simulate_scans

OUTBOX_LIMIT = 100


@dataclass
class PurchaseOrder:
    """An 850 as the ERP read it, and how far the ERP has got with it."""

    order_id: int
    po: str
    po_date: str
    lines: list[tuple[str, str, str, str, str]]  # line number, quantity, uom, price, sku
    envelope: tuple[str, str, str, str, str, str]  # our/their ISA qualifier+id, GS ids
    ship_at: float
    shipped: bool = False


@dataclass
class Erp:
    vendor: str
    key: str
    cursor: int | None = None  # None: not polled yet this run
    orders: dict[int, PurchaseOrder] = field(default_factory=dict)


def _controls() -> itertools.count:
    # Fresh ISA13/GS06 numbers per run: the platform refuses a repeated ISA13.
    return itertools.count((int(time.time()) % 999_000) * 1000 + 1)


class Command(simulate_scans.Command):
    help = (
        "Post simulated scanner traffic and play each demo vendor's ERP over EDI "
        "(997, 855, 856, 810) against a running server."
    )

    random_receipts = False  # goods arrive from the ERP's shipments, not from nowhere

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--lead-time",
            type=float,
            default=30.0,
            help="seconds between the ERP's 855 and its 856 (default 30)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["lead_time"] < 0:
            raise simulate_scans.CommandError("--lead-time must not be negative")
        self.lead_time = options["lead_time"]
        self.erps: dict[str, Erp] = {}
        self.control = _controls()
        super().handle(*args, **options)
        t = self.totals
        self.stdout.write(
            f"ERP: {t['edi_pulled']} documents pulled; sent {t['edi_997']} 997, "
            f"{t['edi_855']} 855, {t['edi_856']} 856, {t['edi_810']} 810; "
            f"{t['received_lines']} lines received by scan."
        )

    def _round(self, number, scanners, erp_keys, batch) -> None:
        self.scanners = {s.code: s for s in scanners}
        super()._round(number, scanners, erp_keys, batch)

    def _orders(self, vendor: str, key: str) -> None:
        erp = self.erps.setdefault(vendor, Erp(vendor=vendor, key=key))
        try:
            self._erp_poll(erp)
            self._erp_ship(erp)
        except simulate_scans.Unreachable as exc:
            self.stdout.write(f"{vendor:<22} ERP: cannot reach {self.base}: {exc}")
        super()._orders(vendor, key)

    # --- the ERP ----------------------------------------------------------------------

    def _erp_poll(self, erp: Erp) -> None:
        first = erp.cursor is None
        after = erp.cursor or 0
        while True:
            status, body = self._request(
                "GET", f"/api/v1/edi/outbox?after={after}&limit={OUTBOX_LIMIT}", erp.key
            )
            if status != 200 or not isinstance(body, dict):
                self.stdout.write(f"{erp.vendor:<22} ERP outbox: HTTP {status}: {_error(body)}")
                return
            for doc in body.get("results") or []:
                # A restarted simulator leaves what an earlier run already took.
                if not (first and doc.get("delivery_status") == "received"):
                    self._erp_take(erp, doc)
            after = body.get("next_cursor", after)
            erp.cursor = after
            if len(body.get("results") or []) < OUTBOX_LIMIT:
                return

    def _erp_take(self, erp: Erp, doc: dict) -> None:
        status, raw = self._raw("GET", f"/api/v1/edi/outbox/{doc['id']}/payload", erp.key)
        if status != 200:
            return
        self._request(
            "POST", f"/api/v1/edi/outbox/{doc['id']}/delivery", erp.key, {"status": "received"}
        )
        self.totals["edi_pulled"] += 1
        if doc.get("transaction_set") != "850" or doc.get("order") is None:
            return
        ic = interchange_parse(raw)
        group = ic.groups[0]
        tset = group.sets[0]
        beg = next(s for s in tset.segments if s.tag == "BEG")
        if beg.elements[0] != "00":  # a change or cancellation: nothing to acknowledge
            return
        lines = [
            (s.elements[0], s.elements[1], s.elements[2], s.elements[3], s.elements[6])
            for s in tset.segments
            if s.tag == "PO1"
        ]
        po = PurchaseOrder(
            order_id=doc["order"],
            po=beg.elements[2],
            po_date=beg.elements[4],
            lines=lines,
            envelope=(
                ic.receiver_qualifier,
                ic.receiver_id,
                ic.sender_qualifier,
                ic.sender_id,
                group.receiver,
                group.sender,
            ),
            ship_at=time.monotonic() + self.lead_time,
        )
        erp.orders[po.order_id] = po
        ack = [
            Segment("AK1", ["PO", str(group.control_number)]),
            Segment("AK2", ["850", tset.control_number]),
            Segment("AK5", ["A"]),
            Segment("AK9", ["A", "1", "1", "1"]),
        ]
        self._erp_send(erp, po, "997", "FA", ack, ic.version, group.version)
        body = [Segment("BAK", ["00", "AC", po.po, po.po_date])]
        for number, qty, uom, price, sku in po.lines:
            body.append(Segment("PO1", [number, qty, uom, price, "", "VP", sku]))
            body.append(Segment("ACK", ["IA", qty, uom]))
        body.append(Segment("CTT", [str(len(po.lines)), str(sum(int(q) for _, q, *_ in lines))]))
        self._erp_send(erp, po, "855", "PR", body, ic.version, group.version)
        self.stdout.write(f"{erp.vendor:<22} ERP: 850 {po.po} acknowledged (997, 855)")

    def _erp_ship(self, erp: Erp) -> None:
        now = time.monotonic()
        for po in [p for p in erp.orders.values() if p.ship_at <= now]:
            today = dt.datetime.now(dt.UTC)
            shipment = f"SHP-{po.po}"[:30]
            body = [
                Segment("BSN", ["00", shipment, today.strftime("%Y%m%d"), today.strftime("%H%M")]),
                Segment("HL", ["1", "", "S"]),
                Segment("HL", ["2", "1", "O"]),
                Segment("PRF", [po.po, "", "", po.po_date]),
            ]
            for index, (_number, qty, uom, _price, sku) in enumerate(po.lines, start=3):
                body.append(Segment("HL", [str(index), "2", "I"]))
                body.append(Segment("LIN", ["", "VP", sku]))
                body.append(Segment("SN1", ["", qty, uom]))
            body.append(Segment("CTT", [str(len(po.lines) + 2)]))
            self._erp_send(erp, po, "856", "SH", body)
            total = sum(Decimal(q) * Decimal(p or "0") for _, q, _, p, _ in po.lines)
            invoice = [
                Segment("BIG", [today.strftime("%Y%m%d"), f"INV-{po.po}"[:22], po.po_date, po.po])
            ]
            for number, qty, uom, price, sku in po.lines:
                invoice.append(Segment("IT1", [number, qty, uom, price, "", "VP", sku]))
            invoice.append(Segment("TDS", [str(int((total * 100).to_integral_value()))]))
            invoice.append(Segment("CTT", [str(len(po.lines))]))
            self._erp_send(erp, po, "810", "IN", invoice)
            del erp.orders[po.order_id]
            self.stdout.write(f"{erp.vendor:<22} ERP: {po.po} shipped (856) and invoiced (810)")
            self._receive(erp, po)

    def _receive(self, erp: Erp, po: PurchaseOrder) -> None:
        """The stock room scans each line's bin as the goods arrive."""
        status, order = self._request("GET", f"/api/v1/orders/{po.order_id}", erp.key)
        if status != 200 or not isinstance(order, dict):
            return
        scanner = self.scanners.get(order.get("customer_code"))
        if scanner is None:
            return
        shelves = {s.label: s for s in scanner.shelves}
        events = []
        for line in order.get("lines") or []:
            quantity = line.get("quantity_shipped") or 0
            rfid = self.rfid_sites.get(order.get("customer_code"))
            if quantity > 0 and rfid is not None and rfid.receive(line["bin_label"], quantity):
                continue  # put into the RFID cabinet: its next cycle sees the new tags
            if quantity > 0:
                events.append(self._scan("receive", line["bin_label"], quantity=quantity))
                if line["bin_label"] in shelves:
                    shelves[line["bin_label"]].on_hand += quantity
        if events:
            scanner.pending.extend(events)  # posted with the scanner's next batch
            self.totals["received_lines"] += len(events)

    def _erp_send(
        self,
        erp: Erp,
        po: PurchaseOrder,
        set_id: str,
        functional_id: str,
        segments: list[Segment],
        isa_version: str = "00401",
        gs_version: str = "004010",
    ) -> None:
        their_q, their_id, our_q, our_id, their_gs, our_gs = po.envelope
        now = dt.datetime.now(dt.UTC)
        ic = Interchange(
            sender_qualifier=their_q,
            sender_id=their_id,
            receiver_qualifier=our_q,
            receiver_id=our_id,
            date=now.strftime("%y%m%d"),
            time=now.strftime("%H%M"),
            control_number=next(self.control),
            version=isa_version,
            usage="T",
            separators=Separators(newline=True),
            groups=[
                FunctionalGroup(
                    functional_id=functional_id,
                    sender=their_gs,
                    receiver=our_gs,
                    date=now.strftime("%Y%m%d"),
                    time=now.strftime("%H%M"),
                    control_number=next(self.control),
                    version=gs_version,
                    sets=[TransactionSet(id=set_id, control_number="0001", segments=segments)],
                )
            ],
        )
        status, body = self._raw(
            "POST", "/api/v1/edi/inbox", erp.key, interchange_serialize(ic), "application/edi-x12"
        )
        self.totals[f"edi_{set_id}"] += 1
        if status != 200:
            self.stdout.write(f"{erp.vendor:<22} ERP {set_id}: HTTP {status}: {body[:300]!r}")
        else:
            rejected = [
                s
                for s in simulate_scans._json(body).get("sets", [])
                if s.get("status") != "accepted"
            ]
            if rejected:
                self.stdout.write(f"{erp.vendor:<22} ERP {set_id} {po.po}: rejected {rejected}")

    def _raw(
        self,
        method: str,
        path: str,
        token: str,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, bytes]:
        import urllib.error
        import urllib.request

        headers = {"Authorization": f"Bearer {token}"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(  # noqa: S310
            self.base + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise simulate_scans.Unreachable(str(getattr(exc, "reason", exc))) from exc


def _error(body: Any) -> str:
    return simulate_scans._error(body)

"""The demo's RFID readers, played by `make simulate` through `POST /api/v1/rfid/reads`.

Per customer: a cabinet whose tagged pieces are taken a few at a time (its cycles are
the count: the bin drops, reaches its min and is ordered) and restocked when goods
arrive (new serials: receipts), now and then a faulty cycle (applied: nothing); and a
kanban drop box where people drop cards (one order per card; the cards stay in the box
a few cycles, and those re-reads order nothing).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stocking.demo_rfid import sgtin96

IN_BOX_CYCLES = 3  # a dropped card stays in the box this many cycles (re-reads)


@dataclass
class TaggedShelf:
    label: str
    gtin: str
    min: int
    max: int
    serials: list[int]
    next_serial: int = 0

    def __post_init__(self) -> None:
        self.next_serial = max(self.serials, default=0) + 1

    def add(self, quantity: int) -> None:
        self.serials += range(self.next_serial, self.next_serial + quantity)
        self.next_serial += quantity


@dataclass
class RfidSite:
    customer: str
    box_token: str
    cabinet_token: str
    antennas: int
    cards: list[dict]
    shelves: list[TaggedShelf]
    in_box: dict[str, int] = field(default_factory=dict)  # epc -> cycles left in the box
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @classmethod
    def from_demo(cls, code: str, data: dict[str, Any]) -> RfidSite:
        return cls(
            customer=code,
            box_token=data["drop_box_token"],
            cabinet_token=data["cabinet_token"],
            antennas=data["cabinet_antennas"],
            cards=data["cards"],
            shelves=[
                TaggedShelf(
                    label=s["label"],
                    gtin=s["gtin"],
                    min=s["min"],
                    max=s["max"],
                    serials=list(s["serials"]),
                )
                for s in data["tagged"]
            ],
        )

    @property
    def tagged_labels(self) -> set[str]:
        return {s.label for s in self.shelves}

    def receive(self, label: str, quantity: int) -> bool:
        """Goods for a cabinet bin are put in the cabinet (new tags), not scanned."""
        for shelf in self.shelves:
            if shelf.label == label:
                shelf.add(quantity)
                return True
        return False


Post = Callable[[str, str, Any], tuple[int, Any]]


def _cycle(run: str, number: int, kind: str, antennas: list[int], epcs: list[dict], fault: bool):
    now = dt.datetime.now(dt.UTC)
    return {
        "cycle_id": f"{run}-{kind}-{number}",
        "started_at": (now - dt.timedelta(seconds=2)).isoformat(timespec="milliseconds"),
        "ended_at": now.isoformat(timespec="milliseconds"),
        "antennas": antennas,
        "fault": fault,
        "epcs": epcs,
    }


def rfid_round(
    site: RfidSite, number: int, rng: random.Random, post: Post, *, restock: bool
) -> list[str]:
    """One cycle of each reader of a customer; returns the lines to print."""
    lines = []
    # the cabinet: people take a few pieces; a low shelf is restocked when `restock`
    for shelf in site.shelves:
        if shelf.serials and rng.random() < 0.6:
            for _ in range(min(rng.randint(1, 3), len(shelf.serials))):
                shelf.serials.remove(rng.choice(shelf.serials))
        if restock and len(shelf.serials) <= shelf.min and rng.random() < 0.3:
            shelf.add(max(shelf.max - len(shelf.serials), 1))
    fault = rng.random() < 0.05
    antennas = list(range(1, site.antennas + 1))
    epcs = [
        {
            "epc": sgtin96(shelf.gtin, serial),
            "antenna": rng.choice(antennas),
            "rssi": round(rng.uniform(-70, -40), 1),
        }
        for shelf in site.shelves
        for serial in shelf.serials
    ]
    if epcs and rng.random() < 0.3:
        epcs.append(dict(rng.choice(epcs)))  # a tag read twice in the cycle: counts once
    status, body = post(
        "POST", site.cabinet_token, _cycle(site.run, number, "cab", antennas, epcs, fault)
    )
    lines.append(_line(site.customer, "cabinet", len(epcs), status, body))
    # the drop box: now and then someone drops a card; dropped cards stay a few cycles
    for epc in list(site.in_box):
        site.in_box[epc] -= 1
        if site.in_box[epc] <= 0:
            del site.in_box[epc]
    free = [c for c in site.cards if c["epc"] not in site.in_box]
    if free and rng.random() < 0.35:
        site.in_box[rng.choice(free)["epc"]] = IN_BOX_CYCLES
    epcs = [{"epc": epc, "antenna": 1} for epc in site.in_box]
    status, body = post("POST", site.box_token, _cycle(site.run, number, "box", [1], epcs, False))
    lines.append(_line(site.customer, "drop box", len(epcs), status, body))
    return lines


def _line(customer: str, reader: str, sent: int, status: int, body: Any) -> str:
    if status != 200 or not isinstance(body, dict):
        detail = body.get("error", {}).get("code") if isinstance(body, dict) else body
        return f"{customer:<22} rfid {reader:<8} HTTP {status}: {detail}"
    why = Counter(r.get("reason") for r in body.get("results", []) if r.get("status") == "ignored")
    line = (
        f"{customer:<22} rfid {reader:<8} {sent:>3} EPCs  {body.get('status')}"
        f"{' (' + body['reason'] + ')' if body.get('reason') else ''}  "
        f"applied {body.get('applied', 0)}  ignored {body.get('ignored', 0)}"
    )
    if why:
        line += "  (" + ", ".join(f"{code} x{n}" for code, n in why.most_common()) + ")"
    return line

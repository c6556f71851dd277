"""`manage.py simulate_scans`: drive the seeded demo through the real HTTP API.

Every round, each demo customer's scanner posts a batch to `POST /api/v1/scans`
(mostly issues, some counts by SKU and location, receipts, weigh-bin readings and
kanban cards), then each vendor's ERP key asks `GET /api/v1/orders` how many orders
are released. Standard library only (urllib), so it runs in the production image.

A batch that could not be delivered (server down, timeout, 5xx) is sent again next
round with the same event ids, as a real scanner would: the server counts the ones it
had already stored as duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from stocking.demo_rfid import rfid_demo_all
from stocking.management.commands.seed_demo import DemoNotSeeded, demo_data, plan_data
from stocking.rfid_sim import RfidSite, rfid_round

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
PENDING_MAX = 900  # the API takes at most 1000 scans per batch
ORDER_PAGES_MAX = 20


class Unreachable(Exception):
    """The server could not be reached, or answered with something that is not HTTP."""


@dataclass
class Shelf:
    """One bin as the simulator believes it to be."""

    label: str
    sku: str
    location: str
    min: int
    max: int
    pack: int
    on_hand: int
    kanban_quantity: int | None
    tare: Decimal | None
    unit_weight: Decimal | None


@dataclass
class Scanner:
    vendor: str
    code: str
    token: str
    shelves: list[Shelf]
    pending: list[dict] = field(default_factory=list)

    @property
    def kanban(self) -> list[Shelf]:
        return [s for s in self.shelves if s.kanban_quantity]

    @property
    def weigh(self) -> list[Shelf]:
        return [s for s in self.shelves if s.tare is not None and s.unit_weight]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class Command(BaseCommand):
    help = "Post simulated scanner traffic for the demo customers to a running server."

    # Receipts out of thin air; simulate_erp turns them off and receives its shipments.
    random_receipts = True

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--url",
            default=None,
            help="the server's base URL (default http://127.0.0.1:$PORT, PORT defaulting to 8000)",
        )
        parser.add_argument(
            "--rounds", type=int, default=None, help="rounds to run (default: until Ctrl-C)"
        )
        parser.add_argument(
            "--interval", type=float, default=2.0, help="seconds between rounds (default 2)"
        )
        parser.add_argument(
            "--batch", type=int, default=20, help="scans per post (default 20, at most 1000)"
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="random seed, for a repeatable run"
        )
        parser.add_argument("--timeout", type=float, default=15.0, help="HTTP timeout in seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["url"] is None:
            options["url"] = f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"
        base = options["url"].rstrip("/")
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CommandError(f"--url must be an http(s) URL, not {options['url']!r}")
        if options["rounds"] is not None and options["rounds"] < 1:
            raise CommandError("--rounds must be at least 1")
        if not 1 <= options["batch"] <= 1000:
            raise CommandError("--batch must be between 1 and 1000")
        if options["interval"] < 0:
            raise CommandError("--interval must not be negative")
        self.base = base
        self.timeout = options["timeout"]
        self.rng = random.Random(options["seed"])
        self.totals: Counter[str] = Counter()
        data = self._demo()
        # RFID readers (a cabinet and a drop box per customer); the cabinet's bins are its
        # own: the handheld leaves them alone.
        self.rfid_sites = {
            code: RfidSite.from_demo(code, rfid)
            for code, rfid in self._rfid_demo().items()
            if code in {c["code"] for v in data["vendors"] for c in v["customers"]}
        }
        scanners = [
            Scanner(
                vendor=vendor["code"],
                code=customer["code"],
                token=customer["scanner_token"],
                shelves=[
                    Shelf(
                        label=b["label"],
                        sku=b["sku"],
                        location=b["location"],
                        min=b["min"],
                        max=b["max"],
                        pack=b["pack_multiple"],
                        on_hand=b["on_hand"],
                        kanban_quantity=b["kanban_quantity"],
                        tare=_decimal(b.get("tare_grams")),
                        unit_weight=_decimal(b.get("unit_weight_grams")),
                    )
                    for b in customer["bins"]
                    if customer["code"] not in self.rfid_sites
                    or b["label"] not in self.rfid_sites[customer["code"]].tagged_labels
                ],
            )
            for vendor in data["vendors"]
            for customer in vendor["customers"]
            if customer["bins"]
        ]
        erp_keys = {vendor["code"]: vendor["erp_key"] for vendor in data["vendors"]}
        if not scanners:
            raise CommandError("The demo has no bins; run manage.py seed_demo.")
        rounds = "until Ctrl-C" if options["rounds"] is None else f"{options['rounds']} round(s)"
        self.stdout.write(
            f"Simulating {len(scanners)} scanners against {base} ({rounds}, "
            f"{options['batch']} scans per post, every {options['interval']:g} s)"
        )
        done = 0
        try:
            while options["rounds"] is None or done < options["rounds"]:
                done += 1
                self._round(done, scanners, erp_keys, options["batch"])
                if options["rounds"] is None or done < options["rounds"]:
                    time.sleep(options["interval"])
        except KeyboardInterrupt:
            self.stdout.write("")
            self.stdout.write("Stopped.")
        t = self.totals
        self.stdout.write(
            f"Total: {t['sent']} sent, {t['accepted']} accepted, {t['duplicates']} duplicates, "
            f"{t['rejected']} rejected, {t['failed']} failed posts."
        )

    def _demo(self) -> dict[str, Any]:
        try:
            return demo_data(detail=True)
        except (DemoNotSeeded, DatabaseError) as exc:
            self.stderr.write(
                f"Demo not readable from this database ({exc}); using the seed's plan. "
                "The server must have run seed_demo."
            )
            return plan_data(detail=True)

    def _rfid_demo(self) -> dict[str, Any]:
        """The demo's RFID readers, cards and tags (none when the database is not readable:
        the tags' serials are the database's, not the plan's)."""
        try:
            return rfid_demo_all()
        except DatabaseError:
            return {}

    # --- one round ----------------------------------------------------------------

    def _round(
        self, number: int, scanners: list[Scanner], erp_keys: dict[str, str], batch: int
    ) -> None:
        self.stdout.write(f"-- round {number} {_now()}")
        for scanner in scanners:
            scans = scanner.pending + [self._event(scanner) for _ in range(batch)]
            scanner.pending = []
            try:
                status, body = self._request(
                    "POST", "/api/v1/scans", scanner.token, {"scans": scans}
                )
            except Unreachable as exc:
                scanner.pending = scans[-PENDING_MAX:]
                self.totals["failed"] += 1
                self.stdout.write(
                    f"{scanner.code:<22} cannot reach {self.base}: {exc}; retrying next round"
                )
                for other in scanners[scanners.index(scanner) + 1 :]:
                    other.pending = (other.pending + [self._event(other) for _ in range(batch)])[
                        -PENDING_MAX:
                    ]
                return
            self._report(scanner, scans, status, body)
        for site in self.rfid_sites.values():
            try:
                for line in rfid_round(
                    site,
                    number,
                    self.rng,
                    lambda method, token, payload: self._request(
                        method, "/api/v1/rfid/reads", token, payload
                    ),
                    restock=self.random_receipts,
                ):
                    self.stdout.write(line)
            except Unreachable as exc:
                self.stdout.write(f"{site.customer:<22} rfid: cannot reach {self.base}: {exc}")
        for vendor, key in erp_keys.items():
            self._orders(vendor, key)

    def _report(self, scanner: Scanner, scans: list[dict], status: int, body: Any) -> None:
        if status != 200 or not isinstance(body, dict):
            self.totals["failed"] += 1
            if status in RETRY_STATUSES:
                scanner.pending = scans[-PENDING_MAX:]
            self.stdout.write(
                f"{scanner.code:<22} HTTP {status}: {_error(body)}"
                f"{'; retrying next round' if scanner.pending else ''}"
            )
            return
        accepted, duplicates, rejected = (
            body.get(k, 0) for k in ("accepted", "duplicates", "rejected")
        )
        self.totals.update(
            sent=len(scans), accepted=accepted, duplicates=duplicates, rejected=rejected
        )
        line = (
            f"{scanner.code:<22} sent {len(scans):>4}  accepted {accepted:>4}  "
            f"duplicates {duplicates:>3}  rejected {rejected:>3}"
        )
        reasons = Counter(
            (r.get("error") or {}).get("code", "?")
            for r in body.get("results", [])
            if isinstance(r, dict) and r.get("status") == "rejected"
        )
        if reasons:
            line += "  (" + ", ".join(f"{code} x{n}" for code, n in reasons.most_common()) + ")"
        self.stdout.write(line)

    def _orders(self, vendor: str, key: str) -> None:
        url: str | None = f"{self.base}/api/v1/orders/?status=released&page_size=500"
        released, pages = 0, 0
        while url and pages < ORDER_PAGES_MAX:
            try:
                status, body = self._request("GET", url, key)
            except Unreachable as exc:
                self.stdout.write(f"{vendor:<22} orders: cannot reach {self.base}: {exc}")
                return
            if status != 200 or not isinstance(body, dict):
                self.stdout.write(f"{vendor:<22} orders: HTTP {status}: {_error(body)}")
                return
            released += len(body.get("results") or [])
            url = body.get("next")
            pages += 1
        more = "+" if url else ""
        self.stdout.write(f"{vendor:<22} {released}{more} released orders (ERP view)")

    # --- HTTP -------------------------------------------------------------------------

    def _request(
        self, method: str, path_or_url: str, token: str, payload: Any = None
    ) -> tuple[int, Any]:
        url = path_or_url if "://" in path_or_url else self.base + path_or_url
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise Unreachable(f"refusing to follow {url!r}")
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _json(response.read())
        except urllib.error.HTTPError as err:
            return err.code, _json(err.read())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # URLError: refused, DNS; OSError: reset, timeout; ValueError: bad status line.
            raise Unreachable(str(getattr(exc, "reason", exc))) from exc

    # --- what scanners send -------------------------------------------------------------

    def _event(self, scanner: Scanner) -> dict:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05 and scanner.kanban:
            return self._scan("kanban", rng.choice(scanner.kanban).label)
        if roll < 0.12 and scanner.weigh:
            shelf = rng.choice(scanner.weigh)
            pieces = max(shelf.on_hand + rng.randint(-2, 2), 0)
            noise = shelf.unit_weight * Decimal(str(round(rng.uniform(-0.3, 0.3), 2)))
            gross = (shelf.tare + pieces * shelf.unit_weight + noise).quantize(Decimal("0.1"))
            shelf.on_hand = pieces
            return self._scan("weight", shelf.label, gross_grams=str(max(gross, Decimal(0))))
        if roll < 0.24:
            shelf = rng.choice(scanner.shelves)
            shelf.on_hand = max(shelf.on_hand + rng.randint(-3, 2), 0)  # counts find a little drift
            return self._scan("count", shelf.sku, location=shelf.location, quantity=shelf.on_hand)
        if roll < 0.31 and self.random_receipts:
            low = [s for s in scanner.shelves if s.kanban_quantity is None and s.on_hand <= s.min]
            shelf = rng.choice(low or scanner.shelves)
            if shelf.kanban_quantity:
                quantity = shelf.kanban_quantity
            else:
                packs = max(-(-(shelf.max - shelf.on_hand) // shelf.pack), 1)
                quantity = packs * shelf.pack
            shelf.on_hand += quantity
            return self._scan("receive", shelf.label, quantity=quantity)
        stocked = [s for s in scanner.shelves if s.on_hand > 0]
        shelf = rng.choice(stocked or scanner.shelves)
        quantity = rng.randint(1, max(shelf.pack, 2))
        shelf.on_hand = max(shelf.on_hand - quantity, 0)
        return self._scan("issue", shelf.label, quantity=quantity)

    @staticmethod
    def _scan(kind: str, code: str, **extra: Any) -> dict:
        return {
            "event_id": str(uuid.uuid4()),
            "kind": kind,
            "code": code,
            "occurred_at": _now(),
            **extra,
        }


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        return raw[:200].decode("utf-8", "replace")


def _error(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        return f"{err.get('code')}: {err.get('detail')}"
    return str(body)[:200]

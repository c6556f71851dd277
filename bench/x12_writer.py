"""The 850 writer's serialization: one check of the data per document against the
element-by-element check it replaced (still the path that names a failure), timed
in the same run, interleaved, medians. Prints figures, asserts nothing.

    .venv/bin/python bench/x12_writer.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edi.x12 import (
    FunctionalGroup,
    Interchange,
    Segment,
    Separators,
    TransactionSet,
    interchange_serialize,
    writer,
)


def purchase_order(lines: int) -> Interchange:
    """An 850 shaped like the platform's: header, N1 loops, PO1 + PID per line, CTT."""
    body = [
        Segment("BEG", ["00", "SA", "AC0000001", "", "20251122"]),
        Segment("CUR", ["BY", "USD"]),
        Segment("REF", ["IA", "ACCT-1"]),
        Segment("PER", ["BD", "Customer 0 of acme"]),
        Segment("DTM", ["002", "20251201"]),
        Segment("N1", ["BY", "Customer 0 of acme", "91", "C0"]),
        Segment("N1", ["ST", "Main plant", "92", "MAIN"]),
        Segment("N3", ["1 Main Street"]),
        Segment("N4", ["Springfield", "IL", "62701", "US"]),
    ]
    for n in range(1, lines + 1):
        body.append(
            Segment(
                "PO1",
                [
                    str(n),
                    "50",
                    "EA",
                    "0.25",
                    "",
                    "VP",
                    f"SKU-{n}",
                    "BP",
                    f"P-{n}",
                    "UP",
                    "012345678905",
                ],
            )
        )
        body.append(Segment("PID", ["F", "", "", "", "Hex bolt M8 x 40 zinc plated"]))
    body.append(Segment("CTT", [str(lines), str(50 * lines)]))
    return Interchange(
        sender_qualifier="ZZ",
        sender_id="CMIPLATFORM",
        receiver_qualifier="ZZ",
        receiver_id="ERPRECEIVER",
        date="251122",
        time="1200",
        control_number=1,
        version="00401",
        usage="P",
        ack_requested="0",
        separators=Separators(),
        groups=[
            FunctionalGroup(
                "PO",
                "CMIPLAT",
                "ERPRCV",
                "20251122",
                "1200",
                1,
                "004010",
                [TransactionSet("850", "0001", body)],
            )
        ],
    )


def per_doc_us(ic: Interchange, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        interchange_serialize(ic)
    return (time.perf_counter() - start) / count * 1e6


def main() -> None:
    print("850 serialization, microseconds per document (median of 9 interleaved rounds)")
    print(f"{'lines':>6} {'segments':>9} {'one check':>10} {'per element':>12} {'ratio':>6}")
    for lines in (4, 20, 100):
        ic = purchase_order(lines)
        count = max(20, 4000 // lines)
        fast, slow = [], []
        for _ in range(9):
            fast.append(per_doc_us(ic, count))
            with mock.patch.object(writer, "_all_clean", return_value=False):
                slow.append(per_doc_us(ic, count))
        f, s = statistics.median(fast), statistics.median(slow)
        segments = len(ic.groups[0].sets[0].segments)
        print(f"{lines:>6} {segments:>9} {f:>10.1f} {s:>12.1f} {s / f:>6.2f}")


if __name__ == "__main__":
    main()

"""What a notification or a mail says about an event: a title, a line, a link."""

from __future__ import annotations

from dataclasses import dataclass

from cmi.events import KINDS
from cmi.models import DomainEvent


@dataclass(frozen=True)
class Told:
    title: str
    body: str
    link: str  # a path in the portals


def _bin_line(d: dict) -> str:
    return (
        f"Bin {d.get('label', '')} ({d.get('sku', '')}) at site {d.get('site', '')}: "
        f"{d.get('on_hand', 0)} on hand, min {d.get('min_qty', 0)}, max {d.get('max_qty', 0)}, "
        f"{d.get('on_order', 0)} on order."
    )


def _order_line(d: dict) -> str:
    return (
        f"Order {d.get('number', '')}: {d.get('lines', 0)} lines, {d.get('total_units', 0)} units."
    )


def told(event: DomainEvent) -> Told:
    spec = KINDS[event.kind]
    d = event.data or {}
    base = f"/customers/{event.customer_id}/" if event.customer_id else "/"
    if event.subject_type == "bin":
        title = f"{spec.title}: {d.get('label', '')} {d.get('sku', '')}".strip()
        body = _bin_line(d)
        if event.kind == "bin.below_min_unordered":
            body += f" Below min since {d.get('since', '')}."
        link = f"{base}bins/{d.get('bin_id', event.subject_id)}/"
    elif event.subject_type == "order":
        title = f"{spec.title}: {d.get('number', '')}"
        body = _order_line(d)
        if d.get("tracking"):
            body += " Tracking: " + ", ".join(d["tracking"]) + "."
        for change in d.get("changes", [])[:10]:
            body += (
                f" Line {change['line']} {change['sku']}: {change['ordered']} ordered, "
                f"{change['acknowledged']} acknowledged."
            )
        if event.kind == "order.approval_overdue":
            body += f" Waiting {d.get('waiting_hours', '')} hours."
        link = f"{base}orders/{d.get('order_id', event.subject_id)}/"
    elif event.kind == "scanner.silent":
        title = f"{spec.title}: {d.get('name', '')}"
        body = f"Scanner {d.get('name', '')} at site {d.get('site', '') or '-'} last posted {d.get('last_seen_at') or 'never'}."
        link = f"{base}scanners/"
    elif event.kind == "import.finished":
        title = spec.title
        body = f"{d.get('rows', 0)} rows applied, {d.get('errors', 0)} refused."
        link = f"{base}stock/"
    elif event.kind == "recommendations.ready":
        title = spec.title
        body = f"{d.get('count', 0)} bins have new recommended min/max levels."
        link = f"{base}recommendations/"
    else:
        title = spec.title
        body = spec.description
        link = base
    return Told(title=title[:200], body=body[:500], link=link[:200])

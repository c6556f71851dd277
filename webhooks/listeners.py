"""The webhooks listener of domain events (named in settings.DOMAIN_EVENT_LISTENERS)."""

from __future__ import annotations

from cmi.models import DomainEvent
from webhooks import services


def on_event(event: DomainEvent) -> None:
    """Queue a delivery of the event to every endpoint that hears it (idempotent)."""
    services.deliveries_for_event(event)

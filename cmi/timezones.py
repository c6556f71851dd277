"""The time zones people choose from: the canonical zones, grouped by region.

`zoneinfo.available_timezones()` holds some 600 names, a third of them aliases kept for
old software (US/Central, Asia/Calcutta, Etc/GMT+6, EST5EDT, Japan). The choices are the
zones of the tz database's zone.tab (one per country and region, by the current name,
Europe/Oslo included though its rules are now Berlin's) under one of the regions, plus
UTC. A stored alias stays valid (the model's validator accepts any
zone); a form keeps it as a choice so that it is not silently replaced.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from importlib import resources

REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
UTC = "UTC"


def _tzdata_zones() -> set[str]:
    """The zone names of the tz database's zone.tab (country, coordinates, zone, ...)."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    return {line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#")}


@cache
def canonical_time_zones() -> tuple[str, ...]:
    available = zoneinfo.available_timezones()
    zones = {
        name
        for name in _tzdata_zones() & available
        if name.split("/", 1)[0] in REGIONS and "/" in name
    }
    return (UTC, *sorted(zones))


def zone_label(name: str) -> str:
    """ "America/Argentina/Buenos_Aires" -> "America/Argentina/Buenos Aires": the whole
    name (the closed select shows only the label, so the region stays in it)."""
    return name.replace("_", " ")


def time_zone_choices(current: str | None = None) -> list:
    """Grouped choices for a form's time zone field (<optgroup> per region), UTC first;
    `current` (a stored alias, say) is kept as a choice of its own when not canonical."""
    zones = canonical_time_zones()
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in zones[1:]:
        groups.setdefault(name.split("/", 1)[0], []).append((name, zone_label(name)))
    choices: list = [(UTC, "UTC")]
    if current and current not in zones:
        choices.append((current, f"{current} (an older name)"))
    choices += [(region, groups[region]) for region in REGIONS if region in groups]
    return choices

"""Template helpers of the admin: times in the page's zone with UTC beside them, form values."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from status_platform.timeutil import local_with_utc
from status_platform.validation import known_time_zones


def local_time(value: datetime | None, zone: str = "UTC") -> Markup:
    """'Jan 12, 2027 09:00 EST (14:00 UTC)': the page's zone first, UTC beside it."""
    if value is None:
        return Markup("")
    text = local_with_utc(value, zone)
    return Markup('<time datetime="{}">{}</time>').format(value.astimezone(UTC).isoformat(), escape(text))


def iso_local(value: str | None, zone: str = "UTC") -> Markup:
    """A snapshot's ISO timestamp ('2027-01-12T14:00:00.000Z') shown as local_time shows a datetime."""
    if not value:
        return Markup("")
    return local_time(datetime.fromisoformat(value.replace("Z", "+00:00")), zone)


def input_datetime(value: datetime | None, zone: str = "UTC") -> str:
    """The value of a datetime-local input in the page's zone ('2027-01-12T09:00')."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def humanize(value: str) -> str:
    """'degraded_performance' -> 'Degraded performance'."""
    return value.replace("_", " ").capitalize()


@cache
def time_zones() -> list[str]:
    """IANA zone names for the time-zone pickers, sorted, without the legacy aliases."""
    return sorted(z for z in known_time_zones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


FILTERS = {
    "local_time": local_time,
    "iso_local": iso_local,
    "input_datetime": input_datetime,
    "humanize": humanize,
}

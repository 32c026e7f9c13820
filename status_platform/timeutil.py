"""The one source of "now" (UTC-aware), so jobs and tests can move the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return _now()


def set_clock(now: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests and simulations); None restores the real one."""
    global _now
    _now = now if now is not None else (lambda: datetime.now(UTC))


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes: every time the platform handles carries its zone."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: attach a time zone before storing it")
    return value.astimezone(UTC)


def local_with_utc(value: datetime, zone: str) -> str:
    """'Jan 12, 2027 09:00 EST (14:00 UTC)': the time in `zone` first, UTC beside it when it differs."""
    local = value.astimezone(ZoneInfo(zone))
    text = local.strftime("%b %-d, %Y %H:%M ") + local.strftime("%Z")
    utc = value.astimezone(UTC)
    if local.utcoffset() != utc.utcoffset():
        same_day = local.date() == utc.date()
        text += utc.strftime(" (%H:%M UTC)" if same_day else " (%b %-d %H:%M UTC)")
    return text

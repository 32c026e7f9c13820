"""Template helpers for the public site: times in the page's zone, durations, safe custom CSS."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def in_zone(value: str, zone: str) -> datetime:
    return parse(value).astimezone(ZoneInfo(zone))


def datetime_label(value: str | None, zone: str) -> str:
    """'Jul 13, 2023 - 23:26 UTC' in the page's time zone."""
    if not value:
        return ""
    local = in_zone(value, zone)
    return local.strftime("%b %-d, %Y - %H:%M ") + local.strftime("%Z")


def time_label(value: str | None, zone: str) -> str:
    if not value:
        return ""
    local = in_zone(value, zone)
    return local.strftime("%H:%M ") + local.strftime("%Z")


def day_label(value: str) -> str:
    """'2026-11-22' -> 'Nov 22, 2026'."""
    return datetime.strptime(value, "%Y-%m-%d").strftime("%b %-d, %Y")


def month_label(value: str) -> str:
    """'2026-11' -> 'November 2026'."""
    return datetime.strptime(value, "%Y-%m").strftime("%B %Y")


def duration(seconds: float) -> str:
    """A short human duration: '45s', '25m', '1h 5m', '2d 3h'."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def between(later: str | None, earlier: str | None) -> str:
    if not later or not earlier:
        return ""
    return duration((parse(later) - parse(earlier)).total_seconds())


def safe_css(css: str | None) -> Markup:
    """A page's custom CSS, unable to close its <style> element: every '<' becomes a CSS escape."""
    return Markup((css or "").replace("<", "\\3c "))


def safe_color(value: str | None, default: str = "#2c6fbb") -> str:
    return value if value and COLOR_RE.match(value) else default


FILTERS = {
    "datetime_label": datetime_label,
    "time_label": time_label,
    "day_label": day_label,
    "month_label": month_label,
    "between": between,
    "safe_css": safe_css,
    "safe_color": safe_color,
}

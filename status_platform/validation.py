"""Validators shared by every feature's schemas: names, slugs, emails, colours, time zones."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email

from status_platform.errors import ValidationError

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# Hostnames a page slug must never take: they are the platform's own or invite confusion.
RESERVED_SLUGS = frozenset(
    {
        "www",
        "api",
        "admin",
        "app",
        "status",
        "mail",
        "smtp",
        "static",
        "assets",
        "cdn",
        "help",
        "support",
        "docs",
        "login",
        "signup",
        "auth",
        "billing",
        "dashboard",
        "platform",
        "localhost",
    }
)


def clean_text(
    value: object,
    *,
    field: str,
    label: str,
    max_length: int = 255,
    required: bool = True,
    multiline: bool | None = None,
) -> str:
    """Stripped text within `max_length`, without control characters.

    A field of at most 255 characters (a name, a title) is one line unless `multiline` says
    otherwise: such values end up in mail subjects and headers, where a line break is refused.
    """
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ValidationError(f"{label} is required.", field=field)
    if len(text) > max_length:
        raise ValidationError(f"{label} must be at most {max_length} characters.", field=field)
    one_line = not multiline if multiline is not None else max_length <= 255
    if one_line and ("\n" in text or "\r" in text):
        raise ValidationError(f"{label} must be on one line.", field=field)
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text):
        raise ValidationError(f"{label} contains control characters.", field=field)
    return text


def clean_slug(value: object, *, field: str = "slug", label: str = "Slug") -> str:
    slug = "" if value is None else str(value).strip().lower()
    if not slug:
        raise ValidationError(f"{label} is required.", field=field)
    if not SLUG_RE.match(slug):
        raise ValidationError(
            f"{label} must be 1 to 63 lowercase letters, digits or hyphens, not starting or ending in one.",
            field=field,
        )
    if slug in RESERVED_SLUGS:
        raise ValidationError(f"{label} {slug!r} is reserved; choose another.", field=field)
    return slug


def clean_email(value: object, *, field: str = "email", label: str = "Email address") -> str:
    raw = "" if value is None else str(value).strip()
    if not raw:
        raise ValidationError(f"{label} is required.", field=field)
    try:
        result = validate_email(raw, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValidationError(f"{label} is not valid: {exc}", field=field) from None
    return result.normalized.lower()


def clean_color(value: object, *, field: str, label: str) -> str:
    color = "" if value is None else str(value).strip()
    if not COLOR_RE.match(color):
        raise ValidationError(f"{label} must be a colour like #1a2b3c.", field=field)
    return color.lower()


@cache
def known_time_zones() -> frozenset[str]:
    """The IANA zone names of this system (read from disk once per process)."""
    return frozenset(available_timezones())


def clean_time_zone(value: object, *, field: str = "time_zone") -> str:
    name = "" if value is None else str(value).strip()
    if name not in known_time_zones() and name != "UTC":
        raise ValidationError(
            f"{name!r} is not a known time zone (use an IANA name like Europe/Paris).", field=field
        )
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:
        raise ValidationError(f"{name!r} is not a known time zone.", field=field) from None
    return name


def clean_local_datetime(value: object, zone: str, *, field: str, label: str) -> datetime:
    """'2027-01-12T09:00' as typed in `zone` -> that moment, UTC-aware.

    A time that the zone skips (the hour clocks jump at the start of summer time) is refused;
    one it passes twice (the hour repeated in autumn) means its first occurrence.
    """
    raw = "" if value is None else str(value).strip()
    if not raw:
        raise ValidationError(f"{label} is required.", field=field)
    try:
        naive = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError(
            f"{label} must be a date and time like 2027-01-12 09:00.", field=field
        ) from None
    if naive.tzinfo is not None:
        raise ValidationError(f"{label} must be a local date and time, without a zone.", field=field)
    if not 1970 <= naive.year <= 2200:
        raise ValidationError(f"{label} must be between the years 1970 and 2200.", field=field)
    tz = ZoneInfo(clean_time_zone(zone))
    local = naive.replace(tzinfo=tz)
    # A skipped local time does not survive the round trip through UTC.
    if local.astimezone(ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != naive:
        raise ValidationError(
            f"{raw.replace('T', ' ')} does not exist in {zone} (the clocks skip it).", field=field
        )
    return local.astimezone(ZoneInfo("UTC"))


def clean_int(value: object, *, field: str, label: str, minimum: int, maximum: int) -> int:
    raw = "" if value is None else str(value).strip()
    try:
        number = int(raw)
    except ValueError:
        raise ValidationError(f"{label} must be a whole number.", field=field) from None
    if not minimum <= number <= maximum:
        raise ValidationError(f"{label} must be between {minimum} and {maximum}.", field=field)
    return number


def safe_path(target: str | None) -> str | None:
    """`target` when it is a path of this site, else None: never an open redirect.

    Browsers drop tabs and newlines inside URLs, so '/\t/evil.example' would become
    '//evil.example'; any control character or space refuses the target outright.
    """
    if not target or any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target

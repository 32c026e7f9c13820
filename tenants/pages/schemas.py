"""Input rules of a page's settings, logo and custom domain, shared by the admin forms and the API."""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from status_platform.errors import ValidationError
from status_platform.validation import (
    clean_color,
    clean_email,
    clean_int,
    clean_slug,
    clean_text,
    clean_time_zone,
)
from tenants.pages.models import PageVisibility

WCAG_AA = 4.5
CUSTOM_CSS_MAX_BYTES = 50 * 1024
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_SIDE = 4096
DOMAIN_LABEL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# The light theme of public_site/static/status.css (:root): the text colours a custom background
# must keep readable. Keep in step with that file.
LIGHT_THEME = {"bg": "#ffffff", "fg": "#1f2933"}
LIGHT_THEME_TEXT = {
    "muted text": "#52606d",
    "“Operational”": "#2e7d32",
    "“Degraded performance”": "#8a6d00",
    "“Partial outage”": "#b35400",
    "“Major outage”": "#c62828",
    "“Under maintenance”": "#1565c0",
}

BOOLEAN_SETTINGS = (
    "is_search_indexed",
    "allow_page_subscribers",
    "allow_incident_subscribers",
    "allow_email_subscribers",
    "allow_sms_subscribers",
    "allow_webhook_subscribers",
    "allow_slack_subscribers",
    "allow_teams_subscribers",
    "allow_rss_atom_feeds",
)
# (field, label, minimum, maximum)
NUMBER_SETTINGS = (
    ("history_days", "Days of incident history", 1, 90),
    ("upcoming_maintenance_days", "Days of upcoming maintenance shown", 0, 60),
    ("maintenance_reminder_minutes", "Maintenance reminder lead time", 0, 10080),
)
TEXT_SETTINGS = (
    # (field, label, max_length, required)
    ("name", "Page name", 255, True),
    ("headline", "Headline", 255, False),
    ("page_description", "Description", 5000, False),
    ("notifications_from_name", "Sender name", 255, False),
    ("notifications_email_footer", "Email footer", 5000, False),
)
SETTING_FIELDS = frozenset(
    {
        *BOOLEAN_SETTINGS,
        *(name for name, *_ in NUMBER_SETTINGS),
        *(name for name, *_ in TEXT_SETTINGS),
        "slug",
        "support_url",
        "time_zone",
        "visibility",
        "notifications_from_email",
        "brand_color",
        "css_background",
        "css_text",
        "custom_css",
    }
)


def clean_support_url(value: object, *, field: str = "support_url") -> str:
    """An http(s) address with a host, or '' for none."""
    url = clean_text(value, field=field, label="Support URL", max_length=500, required=False)
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname or any(c.isspace() for c in url):
        raise ValidationError(
            "The support URL must be an address starting with https:// or http://.", field=field
        )
    return url


def clean_visibility(value: object, *, field: str = "visibility") -> PageVisibility:
    if isinstance(value, PageVisibility):
        return value
    try:
        return PageVisibility(str(value or "").strip())
    except ValueError:
        raise ValidationError("Choose public, private or audience-specific.", field=field) from None


def clean_optional_color(value: object, *, field: str, label: str) -> str:
    """'#rrggbb' (lowercased), or '' to keep the theme's own colour."""
    if value is None or not str(value).strip():
        return ""
    return clean_color(value, field=field, label=label)


def clean_custom_css(value: object, *, field: str = "custom_css") -> str:
    """Custom CSS that cannot leave its <style> element: no '</style', no '<' at all, at most 50 KB."""
    css = "" if value is None else str(value).replace("\r\n", "\n").strip()
    if len(css.encode("utf-8")) > CUSTOM_CSS_MAX_BYTES:
        size = len(css.encode("utf-8")) // 1024
        raise ValidationError(f"Custom CSS is {size} KB; the limit is 50 KB.", field=field)
    if re.search(r"</style", css, re.IGNORECASE):
        raise ValidationError(
            "Custom CSS cannot contain </style>: it would end the style sheet and turn the rest into HTML.",
            field=field,
        )
    if "<" in css:
        line = css[: css.index("<")].count("\n") + 1
        raise ValidationError(
            f"Custom CSS cannot contain '<' (line {line}); in a CSS string write it as \\3c instead.",
            field=field,
        )
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in css):
        raise ValidationError("Custom CSS contains control characters.", field=field)
    return css


def clean_setting(name: str, value: Any) -> Any:
    """One setting of the settings form, cleaned; raises ValidationError naming the field."""
    if name in BOOLEAN_SETTINGS:
        return bool(value)
    for field, label, minimum, maximum in NUMBER_SETTINGS:
        if name == field:
            return clean_int(value, field=field, label=label, minimum=minimum, maximum=maximum)
    for field, label, max_length, required in TEXT_SETTINGS:
        if name == field:
            return clean_text(value, field=field, label=label, max_length=max_length, required=required)
    if name == "slug":
        return clean_slug(value, field="slug", label="Page address")
    if name == "support_url":
        return clean_support_url(value)
    if name == "time_zone":
        return clean_time_zone(value)
    if name == "visibility":
        return clean_visibility(value)
    if name == "notifications_from_email":
        if value is None or not str(value).strip():
            return ""
        return clean_email(value, field="notifications_from_email", label="Sender email")
    if name == "brand_color":
        return clean_color(value, field="brand_color", label="Brand colour")
    if name == "css_background":
        return clean_optional_color(value, field="css_background", label="Background colour")
    if name == "css_text":
        return clean_optional_color(value, field="css_text", label="Text colour")
    if name == "custom_css":
        return clean_custom_css(value)
    raise TypeError(f"{name!r} is not a page setting")


# --- contrast ----------------------------------------------------------------------------------


def luminance(color: str) -> float:
    """WCAG relative luminance of '#rrggbb'."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def check_contrast(*, brand_color: str, background: str, text: str, changed: frozenset[str]) -> None:
    """Refuse light-theme colours whose text would be below WCAG AA (4.5:1) on the page's background.

    `background` and `text` are '' for the theme's own. Only pairs with a member in `changed`
    (field names) are checked, so an older choice never blocks saving something else. The error
    names the colour just changed: the text colour, else the background.
    """
    bg = background or LIGHT_THEME["bg"]
    pairs = [
        ("css_text", "The text colour", text or LIGHT_THEME["fg"]),
        ("brand_color", "The brand colour (used for links)", brand_color),
        *(("", f"The page's {label} colour", color) for label, color in LIGHT_THEME_TEXT.items()),
    ]
    for field, label, color in pairs:
        if field not in changed and "css_background" not in changed:
            continue
        ratio = contrast_ratio(color, bg)
        if ratio >= WCAG_AA:
            continue
        at_fault = field if field in changed else "css_background"
        raise ValidationError(
            f"{label} ({color}) has a contrast of {ratio:.1f}:1 on the background ({bg}); "
            f"readable text needs at least {WCAG_AA}:1 (WCAG AA). Choose a "
            + ("darker or lighter colour." if at_fault != "css_background" else "lighter background."),
            field=at_fault,
        )


# --- logo --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int | None
    height: int | None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _gif_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 10:
        return None
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the segments to the first start-of-frame marker, which carries the size.
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:
            index += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        if length < 2:
            return None
        index += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def sniff_logo(data: bytes, *, field: str = "logo") -> ImageInfo:
    """What image `data` is, by its first bytes (never the file name or the declared type).

    Only PNG, JPEG, GIF and WebP up to 512 KB and 4096 pixels a side are accepted; SVG is
    refused because it can carry scripts. Raises ValidationError naming `field`.
    """
    if not data:
        raise ValidationError("Choose an image file to upload.", field=field)
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError(
            f"The logo is {len(data) // 1024} KB; the limit is {LOGO_MAX_BYTES // 1024} KB.", field=field
        )
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        content_type, size = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8\xff"):
        content_type, size = "image/jpeg", _jpeg_size(data)
    elif data.startswith((b"GIF87a", b"GIF89a")):
        content_type, size = "image/gif", _gif_size(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        content_type, size = "image/webp", _webp_size(data)
    elif b"<svg" in data[:4096].lower():
        raise ValidationError(
            "SVG logos are not accepted because they can carry scripts; upload a PNG, JPEG, GIF or WebP.",
            field=field,
        )
    else:
        raise ValidationError("The logo must be a PNG, JPEG, GIF or WebP image.", field=field)
    if size is None:
        raise ValidationError("The logo file is damaged or incomplete; export it again.", field=field)
    width, height = size
    if not (1 <= width <= LOGO_MAX_SIDE and 1 <= height <= LOGO_MAX_SIDE):
        raise ValidationError(
            f"The logo is {width}×{height} pixels; it must be at most {LOGO_MAX_SIDE} pixels a side.",
            field=field,
        )
    return ImageInfo(content_type, width, height)


# --- custom domain -----------------------------------------------------------------------------


def _ascii_host(value: str) -> str | None:
    try:
        return value.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def clean_custom_domain(
    value: object, *, pages_domain: str, platform_host: str, field: str = "domain"
) -> str:
    """A hostname a page may answer on: 'Status.Exämple.com.' -> 'status.xn--exmple-cua.com'.

    Lowercase ASCII (IDNA), at least two labels, not an IP address, and neither the platform's
    host nor a name under PAGES_DOMAIN (those are the platform's own).
    """
    raw = "" if value is None else str(value).strip().lower().rstrip(".")
    for prefix in ("https://", "http://"):
        raw = raw.removeprefix(prefix)
    raw = raw.rstrip("/")
    if not raw:
        raise ValidationError("Enter the domain, such as status.example.com.", field=field)
    if raw.startswith("[") or _is_ip(raw):
        raise ValidationError("Enter a domain name, not an IP address.", field=field)
    host = _ascii_host(raw)
    if host is None or len(host) > 253:
        raise ValidationError(f"{raw!r} is not a valid domain name.", field=field)
    labels = host.split(".")
    if len(labels) < 2:
        raise ValidationError("Enter a full domain with a dot, such as status.example.com.", field=field)
    if not all(DOMAIN_LABEL_RE.match(label) for label in labels) or labels[-1].isdigit():
        raise ValidationError(
            f"{raw!r} is not a valid domain name: use letters, digits, hyphens and dots.", field=field
        )
    for own in (pages_domain, platform_host):
        own_host = _ascii_host(own.strip().lower().rstrip(".").rsplit(":", 1)[0]) or own
        if host == own_host or host.endswith("." + own_host):
            raise ValidationError(
                f"{host} belongs to the platform itself; enter a domain of your own.", field=field
            )
    return host


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.split(":")[0] if value.count(":") == 1 else value)
    except ValueError:
        return False
    return True

"""Validation of subscriber addresses per channel, shared by the public form, the admin and the API."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import phonenumbers

from status_platform.config import active_settings
from status_platform.egress import EgressRefused, check_url
from status_platform.errors import ValidationError
from status_platform.validation import clean_email
from tenants.pages.models import Page
from tenants.subscribers.models import Channel

MAX_URL = 2000
# Whitespace and control characters never belong in a URL we will call.
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")
# The address column each channel is reached at (and the field that names it in forms and the API).
ADDRESS_FIELDS = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone_number",
    Channel.WEBHOOK: "endpoint",
    Channel.SLACK: "endpoint",
    Channel.TEAMS: "endpoint",
}
# Channels a subscriber must confirm before anything is sent (double opt-in); the others are an
# endpoint the subscriber configured themselves and are active at once, as on Statuspage.
CONFIRMED_CHANNELS = frozenset({Channel.EMAIL, Channel.SMS})
_CHANNEL_FLAGS = {
    Channel.EMAIL: ("allow_email_subscribers", "email"),
    Channel.SMS: ("allow_sms_subscribers", "SMS"),
    Channel.WEBHOOK: ("allow_webhook_subscribers", "webhook"),
    Channel.SLACK: ("allow_slack_subscribers", "Slack"),
    Channel.TEAMS: ("allow_teams_subscribers", "Microsoft Teams"),
}


def clean_phone(raw: str, *, country: str | None = None) -> tuple[str, str]:
    """An E.164 number and its region code, or ValidationError."""
    try:
        number = phonenumbers.parse(raw.strip(), (country or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            "Enter a phone number in international form, like +14155550123.", field="phone_number"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError("This phone number is not valid.", field="phone_number")
    region = phonenumbers.region_code_for_number(number) or ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), region


def display_phone(number: str | None) -> str | None:
    """A stored E.164 number as people write it (`+1 415-555-0123`)."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def clean_endpoint(raw: str, *, channel: Channel) -> str:
    """A sound http(s) URL that does not point at an internal address (checked again at send time)."""
    url = raw.strip()
    if not url or len(url) > MAX_URL:
        raise ValidationError(
            f"Enter the {channel.value} URL (at most {MAX_URL} characters).", field="endpoint"
        )
    if _URL_FORBIDDEN.search(url):
        raise ValidationError("The URL must not contain spaces or control characters.", field="endpoint")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise ValidationError("This URL is not valid.", field="endpoint") from None
    if parts.scheme not in ("https", "http") or not hostname:
        raise ValidationError("The URL must start with https:// and name a host.", field="endpoint")
    if parts.username or parts.password:
        raise ValidationError("The URL must not contain a user name or password.", field="endpoint")
    try:
        check_url(url, active_settings())
    except EgressRefused as refusal:
        raise ValidationError(refusal.message, field="endpoint") from None
    return url


def clean_address(channel: Channel, address: str, *, phone_country: str | None = None) -> dict[str, str]:
    """The subscriber columns for `address` on `channel`."""
    if channel is Channel.EMAIL:
        return {"email": clean_email(address)}
    if channel is Channel.SMS:
        number, region = clean_phone(address, country=phone_country)
        return {"phone_number": number, "phone_country": region}
    return {"endpoint": clean_endpoint(address, channel=channel)}


def check_channel_allowed(page: Page, channel: Channel, *, for_incident: bool) -> None:
    """Refuse a subscription the page's settings switch off (a channel, or page- or incident-wide)."""
    flag, label = _CHANNEL_FLAGS[channel]
    field = ADDRESS_FIELDS[channel]
    if not getattr(page, flag):
        raise ValidationError(f"{page.name} does not accept {label} subscribers.", field=field)
    if for_incident and not page.allow_incident_subscribers:
        raise ValidationError(f"{page.name} does not accept subscribers to single incidents.", field=field)
    if not for_incident and not page.allow_page_subscribers:
        raise ValidationError(f"{page.name} does not accept subscribers to the whole page.", field=field)

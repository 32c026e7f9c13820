"""Validation of subscriber addresses per channel, shared by the public form, the admin and the API."""

from __future__ import annotations

from urllib.parse import urlsplit

import phonenumbers

from status_platform.errors import ValidationError
from status_platform.validation import clean_email
from tenants.subscribers.models import Channel

MAX_URL = 2000


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


def clean_endpoint(raw: str, *, channel: Channel) -> str:
    """A syntactically sound http(s) URL; where it may connect is checked again at send time."""
    url = raw.strip()
    if not url or len(url) > MAX_URL:
        raise ValidationError(
            f"Enter the {channel.value} URL (at most {MAX_URL} characters).", field="endpoint"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationError("The URL must start with https:// and name a host.", field="endpoint")
    if parts.username or parts.password:
        raise ValidationError("The URL must not contain a user name or password.", field="endpoint")
    return url


def clean_address(channel: Channel, address: str, *, phone_country: str | None = None) -> dict[str, str]:
    """The subscriber columns for `address` on `channel`."""
    if channel is Channel.EMAIL:
        return {"email": clean_email(address)}
    if channel is Channel.SMS:
        number, region = clean_phone(address, country=phone_country)
        return {"phone_number": number, "phone_country": region}
    return {"endpoint": clean_endpoint(address, channel=channel)}

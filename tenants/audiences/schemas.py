"""Input rules of audiences and viewers shared by the admin forms and the management API."""

from __future__ import annotations

import re

from status_platform.errors import ValidationError
from status_platform.identity.passwords import check_password_rules
from status_platform.validation import clean_email, clean_text

NAME_MAX_LENGTH = 255
EXTERNAL_ID_MAX_LENGTH = 255
EMAIL_MAX_LENGTH = 320
EMAIL_DOMAIN_MAX_LENGTH = 255
ISSUER_MAX_LENGTH = 500
CLIENT_ID_MAX_LENGTH = 255
CLIENT_SECRET_MAX_LENGTH = 500
CLAIM_MAX_LENGTH = 100
# A claim name: a plain name ("groups") or a namespaced one ("https://example.com/roles").
_CLAIM_RE = re.compile(r"^[A-Za-z0-9_.:/\-]+$")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def clean_audience_name(value: object, *, field: str = "name") -> str:
    """The audience's name: required, one line, at most 255 characters."""
    return clean_text(value, field=field, label="Audience name", max_length=NAME_MAX_LENGTH)


def clean_external_identifier(value: object, *, field: str = "external_identifier") -> str | None:
    """The identity provider's group the audience stands for; empty means none."""
    text = clean_text(
        value, field=field, label="External identifier", max_length=EXTERNAL_ID_MAX_LENGTH, required=False
    )
    return text or None


def clean_email_domain(value: object, *, field: str = "email_domain") -> str | None:
    """A mail domain such as ``example.com`` (a leading ``@`` is dropped); empty means none."""
    text = clean_text(
        value, field=field, label="Email domain", max_length=EMAIL_DOMAIN_MAX_LENGTH, required=False
    )
    domain = text.lower().removeprefix("@")
    if not domain:
        return None
    if not _DOMAIN_RE.match(domain):
        raise ValidationError("The email domain must be a domain name such as example.com.", field=field)
    return domain


def clean_viewer_email(value: object, *, field: str = "email") -> str:
    """The viewer's email address, normalized and lowercased (one account per address and page)."""
    if isinstance(value, str) and len(value.strip()) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"Email address must be at most {EMAIL_MAX_LENGTH} characters.", field=field)
    return clean_email(value, field=field)


def clean_external_login(value: object, *, field: str = "external_login") -> str | None:
    """The viewer's login at the identity provider (typically its ``uid``); empty means none."""
    text = clean_text(
        value, field=field, label="External login", max_length=EXTERNAL_ID_MAX_LENGTH, required=False
    )
    return text or None


def clean_viewer_password(value: object, *, field: str = "password") -> str | None:
    """An initial password a viewer may sign in with; empty means none (it signs in by link)."""
    password = "" if value is None else str(value)
    if not password:
        return None
    check_password_rules(password, field=field)
    return password


def clean_claim_name(value: object, *, field: str = "viewer_oidc_audience_claim") -> str | None:
    """The token claim naming a viewer's audiences (by external identifier); empty means none."""
    text = clean_text(value, field=field, label="Audience claim", max_length=CLAIM_MAX_LENGTH, required=False)
    if text and not _CLAIM_RE.match(text):
        raise ValidationError(
            "The audience claim is a claim name such as groups, without spaces.", field=field
        )
    return text or None

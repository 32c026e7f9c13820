"""Writes of management API keys: issue one (its secret shown once) and revoke one.

Keys live in the platform table api_keys (looked up before any organization is known), so
every function here checks the key's organization itself.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from status_platform.errors import NotFound, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.apikeys import IssuedKey, issue_api_key
from status_platform.identity.models import ApiKey
from status_platform.identity.permissions import PAGE_ADMINS, require_role
from status_platform.timeutil import utcnow
from status_platform.validation import clean_text
from tenants.audit.services import record_event
from tenants.pages.models import Page


def create_api_key(
    session: Session, *, actor: Actor, name: str, page_id: str | None = None, is_read_only: bool = False
) -> IssuedKey:
    """A new key of the session's organization, optionally limited to one of its pages and to reads.

    Raises ValidationError for an empty name or a page that is not the organization's.
    Flushes, never commits; the secret exists only in the returned value.
    """
    require_role(actor, PAGE_ADMINS, "create API keys")
    tenant_id = session.info["tenant_id"]
    name = clean_text(name, field="name", label="Key name", max_length=255)
    if page_id and session.get(Page, page_id) is None:
        raise ValidationError("Choose one of this organization's pages.", field="page_id")
    issued = issue_api_key(
        session,
        tenant_id=tenant_id,
        name=name,
        page_id=page_id or None,
        is_read_only=is_read_only,
        created_by_id=actor.user_id,
    )
    record_event(
        session,
        actor,
        "api_key.created",
        object_type="api_key",
        object_id=issued.api_key.id,
        page_id=page_id or None,
        summary=f"Created API key {name!r} ({issued.api_key.prefix}…)",
        after={"name": name, "page_id": page_id or None, "read_only": is_read_only},
    )
    session.flush()
    return issued


def revoke_api_key(session: Session, api_key: ApiKey, *, actor: Actor) -> bool:
    """Revoke `api_key` of the session's organization; False (nothing written) if already revoked.

    A key of another organization is NotFound. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "revoke API keys")
    if api_key.tenant_id != session.info.get("tenant_id"):
        raise NotFound("That API key is not part of this organization.")
    if api_key.revoked_at is not None:
        return False
    api_key.revoked_at = utcnow()
    record_event(
        session,
        actor,
        "api_key.revoked",
        object_type="api_key",
        object_id=api_key.id,
        page_id=api_key.page_id,
        summary=f"Revoked API key {api_key.name!r} ({api_key.prefix}…)",
        before={"revoked": False},
        after={"revoked": True},
    )
    session.flush()
    return True

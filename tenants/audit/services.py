"""Recording audit events; every service that writes calls record_event in its transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from status_platform.identity.actor import Actor
from tenants.audit.models import AuditEvent


def record_event(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str,
    object_id: str | None,
    summary: str = "",
    page_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one audit event to the session's tenant; flushes nothing, commits nothing."""
    event = AuditEvent(
        page_id=page_id,
        actor_user_id=actor.user_id,
        actor_api_key_id=actor.api_key_id,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        summary=summary[:500],
        before=before,
        after=after,
        ip_address=actor.ip_address,
    )
    session.add(event)
    return event

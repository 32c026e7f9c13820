"""Writing the outbox: one NotificationEvent per notice, in the transaction of the change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tenants.subscribers.models import EventKind, NotificationEvent


def record_notification(
    session: Session,
    *,
    page_id: str,
    kind: EventKind,
    incident_id: str | None = None,
    incident_update_id: str | None = None,
    component_id: str | None = None,
    component_ids: Iterable[str] = (),
    payload: dict[str, Any] | None = None,
    not_before: datetime | None = None,
) -> NotificationEvent:
    """Add an outbox row for the session's tenant. Flushes, never commits.

    Its fan-out job is enqueued for after the commit; an event whose transaction rolls back
    never existed, and one whose job is lost is found by the sweeper (tenants/subscribers/jobs.py).
    """
    event = NotificationEvent(
        page_id=page_id,
        kind=kind,
        incident_id=incident_id,
        incident_update_id=incident_update_id,
        component_id=component_id,
        component_ids=sorted(set(component_ids)),
        payload=payload or {},
        not_before=not_before,
    )
    session.add(event)
    session.flush()
    # Imported here: the fan-out reads incidents and components, whose services import this module.
    from tenants.subscribers.fanout import enqueue_fan_out

    enqueue_fan_out(session, event)
    return event

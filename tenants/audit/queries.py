"""Reads of the audit log: filtered, newest first, a page of rows at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenants.audit.models import AuditEvent

PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""  # a prefix: "incident" matches incident.created and incident.updated
    actor: str = ""  # part of the actor's label (an email address, a key's name)
    page_id: str = ""
    object_id: str = ""
    text: str = ""  # part of the summary
    since: datetime | None = None
    until: datetime | None = None


def search_events(session: Session, criteria: AuditFilter, *, page: int = 1) -> tuple[list[AuditEvent], bool]:
    """One page of matching events, newest first, and whether there are more after it."""
    query = select(AuditEvent)
    if criteria.action:
        query = query.where(AuditEvent.action.startswith(criteria.action, autoescape=True))
    if criteria.actor:
        query = query.where(AuditEvent.actor_label.icontains(criteria.actor, autoescape=True))
    if criteria.page_id:
        query = query.where(AuditEvent.page_id == criteria.page_id)
    if criteria.object_id:
        query = query.where(AuditEvent.object_id == criteria.object_id)
    if criteria.text:
        query = query.where(AuditEvent.summary.icontains(criteria.text, autoescape=True))
    if criteria.since is not None:
        query = query.where(AuditEvent.created_at >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEvent.created_at < criteria.until)
    rows = list(
        session.scalars(
            query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .offset((max(page, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def action_families(session: Session) -> list[str]:
    """The kinds of objects the log names ('component', 'incident', ...), for the filter."""
    actions = session.scalars(select(AuditEvent.action).distinct()).all()
    return sorted({action.split(".", 1)[0] for action in actions})

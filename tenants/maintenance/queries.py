"""Reads of scheduled maintenance shared by the admin screens: the windows of a page in their lists."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tenants.incidents.models import Incident, IncidentComponent, IncidentKind, IncidentStatus

ACTIVE = (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING)
PAST_PER_PAGE = 50


@dataclass(frozen=True)
class WindowList:
    """A page's windows in the three lists of the maintenance screen."""

    in_progress: list[Incident]
    upcoming: list[Incident]
    past: list[Incident]
    has_more_past: bool


def list_windows(session: Session, page_id: str, *, search: str = "", page: int = 1) -> WindowList:
    """In progress, upcoming (soonest first) and past windows (newest first, PAST_PER_PAGE a page).

    `search` keeps the windows whose title contains it (any case). Reads the session's tenant only.
    Each window comes with its components loaded, so the lists cost the same statements however
    many windows they hold.
    """
    base = (
        select(Incident)
        .where(Incident.page_id == page_id, Incident.kind == IncidentKind.MAINTENANCE)
        .options(selectinload(Incident.affected).selectinload(IncidentComponent.component))
    )
    if search.strip():
        base = base.where(sa.func.lower(Incident.name).contains(search.strip().lower(), autoescape=True))
    open_ = Incident.cancelled_at.is_(None)
    in_progress = session.scalars(
        base.where(Incident.status.in_(ACTIVE), open_).order_by(Incident.scheduled_until, Incident.id)
    ).all()
    upcoming = session.scalars(
        base.where(Incident.status == IncidentStatus.SCHEDULED, open_).order_by(
            Incident.scheduled_for, Incident.id
        )
    ).all()
    page = max(page, 1)
    past = session.scalars(
        base.where(sa.or_(Incident.status == IncidentStatus.COMPLETED, Incident.cancelled_at.is_not(None)))
        .order_by(Incident.scheduled_for.desc(), Incident.id)
        .offset((page - 1) * PAST_PER_PAGE)
        .limit(PAST_PER_PAGE + 1)
    ).all()
    return WindowList(
        in_progress=list(in_progress),
        upcoming=list(upcoming),
        past=list(past[:PAST_PER_PAGE]),
        has_more_past=len(past) > PAST_PER_PAGE,
    )

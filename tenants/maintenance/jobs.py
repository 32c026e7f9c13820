"""Jobs of scheduled maintenance: the clock's sweeps, and reminding, starting or completing one window."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.db.session import sweep_session, tenant_session
from status_platform.errors import ValidationError
from status_platform.identity.actor import SYSTEM
from status_platform.jobs.clock import periodic
from status_platform.jobs.enqueue import enqueue_now
from status_platform.timeutil import utcnow
from tenants.incidents.models import Incident, IncidentKind, IncidentStatus
from tenants.maintenance.services import complete_window, remind_window, reminder_due, start_window
from tenants.pages.models import Page
from tenants.pages.schemas import NUMBER_SETTINGS

log = logging.getLogger(__name__)

# The longest reminder lead time a page may set: windows starting later need no look yet.
MAX_REMINDER_MINUTES = max(
    high for name, _label, _low, high in NUMBER_SETTINGS if name == "maintenance_reminder_minutes"
)


@periodic(30)
def sweep_due_windows() -> int:
    """Across organizations, enqueue a start or completion job for every window now due."""
    now = utcnow()
    with sweep_session() as session:
        due_start = session.execute(
            select(Incident.tenant_id, Incident.id).where(
                Incident.kind == IncidentKind.MAINTENANCE,
                Incident.status == IncidentStatus.SCHEDULED,
                Incident.scheduled_auto_in_progress.is_(True),
                Incident.cancelled_at.is_(None),
                Incident.scheduled_for <= now,
            )
        ).all()
        due_end = session.execute(
            select(Incident.tenant_id, Incident.id).where(
                Incident.kind == IncidentKind.MAINTENANCE,
                Incident.status.in_([IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING]),
                Incident.scheduled_auto_completed.is_(True),
                Incident.cancelled_at.is_(None),
                Incident.scheduled_until <= now,
            )
        ).all()
    for tenant_id, window_id in due_start:
        enqueue_now(start_due_window, tenant_id, window_id)
    for tenant_id, window_id in due_end:
        enqueue_now(complete_due_window, tenant_id, window_id)
    return len(due_start) + len(due_end)


@periodic(30)
def sweep_due_reminders() -> int:
    """Across organizations, enqueue a reminder job for every window whose reminder is due now.

    Each page sets its own lead time, so windows starting within the longest one are read and
    the rest is decided by reminder_due, the same rule the job checks again.
    """
    now = utcnow()
    with sweep_session() as session:
        rows = session.execute(
            select(Incident, Page.maintenance_reminder_minutes)
            .join(Page, (Page.tenant_id == Incident.tenant_id) & (Page.id == Incident.page_id))
            .where(
                Incident.kind == IncidentKind.MAINTENANCE,
                Incident.status == IncidentStatus.SCHEDULED,
                Incident.scheduled_remind_prior.is_(True),
                Incident.scheduled_reminded_at.is_(None),
                Incident.cancelled_at.is_(None),
                Incident.scheduled_for > now,
                Incident.scheduled_for <= now + timedelta(minutes=MAX_REMINDER_MINUTES),
                Page.maintenance_reminder_minutes > 0,
            )
        ).all()
        due = [(w.tenant_id, w.id) for w, minutes in rows if reminder_due(w, minutes, now=now)]
    for tenant_id, window_id in due:
        enqueue_now(send_due_reminder, tenant_id, window_id)
    return len(due)


def _load_window(session: Session, window_id: str) -> Incident | None:
    # FOR UPDATE (PostgreSQL): a concurrent job for the same window waits here and then reads
    # what this one committed, so the checks below see the current row.
    window = session.get(Incident, window_id, with_for_update=True)
    if window is None or window.kind is not IncidentKind.MAINTENANCE:
        return None
    return window


def send_due_reminder(tenant_id: str, window_id: str) -> bool:
    """Remind the subscribers of `window_id` of `tenant_id` that it starts soon, if still due.

    At most once per start, however often it runs (and concurrently): remind_window changes the
    row only while it is not reminded. A missing window, or one of another organization, is done.
    """
    with tenant_session(tenant_id) as session:
        window = _load_window(session, window_id)
        if window is None or not remind_window(session, window, actor=SYSTEM):
            session.rollback()
            return False
        session.commit()
        log.info("tenant=%s reminded subscribers of maintenance %s", tenant_id, window_id)
        return True


def start_due_window(tenant_id: str, window_id: str) -> bool:
    """Start `window_id` of `tenant_id` if it is still scheduled and due. Idempotent."""
    with tenant_session(tenant_id) as session:
        window = _load_window(session, window_id)
        if (
            window is None
            or window.status is not IncidentStatus.SCHEDULED
            or window.cancelled_at is not None
            or window.scheduled_for is None
            or window.scheduled_for > utcnow()
        ):
            return False
        try:
            start_window(session, window, actor=SYSTEM)
        except ValidationError:  # started meanwhile by someone else, who told the subscribers
            session.rollback()
            return False
        session.commit()
        log.info("tenant=%s started maintenance %s", tenant_id, window_id)
        return True


def complete_due_window(tenant_id: str, window_id: str) -> bool:
    """Complete `window_id` of `tenant_id` if it is in progress and past its end. Idempotent."""
    with tenant_session(tenant_id) as session:
        window = _load_window(session, window_id)
        if (
            window is None
            or window.status not in (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING)
            or window.scheduled_until is None
            or window.scheduled_until > utcnow()
        ):
            return False
        try:
            complete_window(session, window, actor=SYSTEM)
        except ValidationError:  # completed meanwhile by someone else
            session.rollback()
            return False
        session.commit()
        log.info("tenant=%s completed maintenance %s", tenant_id, window_id)
        return True

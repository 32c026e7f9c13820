"""Jobs of scheduled maintenance: the clock's sweep, and starting or completing one window."""

from __future__ import annotations

import logging

from sqlalchemy import select

from status_platform.db.session import sweep_session, tenant_session
from status_platform.identity.actor import SYSTEM
from status_platform.jobs.clock import periodic
from status_platform.jobs.enqueue import enqueue_now
from status_platform.timeutil import utcnow
from tenants.incidents.models import Incident, IncidentKind, IncidentStatus
from tenants.maintenance.services import complete_window, start_window

log = logging.getLogger(__name__)


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


def start_due_window(tenant_id: str, window_id: str) -> bool:
    """Start `window_id` of `tenant_id` if it is still scheduled and due. Idempotent."""
    with tenant_session(tenant_id) as session:
        window = session.get(Incident, window_id)
        if (
            window is None
            or window.kind is not IncidentKind.MAINTENANCE
            or window.status is not IncidentStatus.SCHEDULED
            or window.cancelled_at is not None
            or window.scheduled_for is None
            or window.scheduled_for > utcnow()
        ):
            return False
        start_window(session, window, actor=SYSTEM)
        session.commit()
        log.info("tenant=%s started maintenance %s", tenant_id, window_id)
        return True


def complete_due_window(tenant_id: str, window_id: str) -> bool:
    """Complete `window_id` of `tenant_id` if it is in progress and past its end. Idempotent."""
    with tenant_session(tenant_id) as session:
        window = session.get(Incident, window_id)
        if (
            window is None
            or window.kind is not IncidentKind.MAINTENANCE
            or window.status not in (IncidentStatus.IN_PROGRESS, IncidentStatus.VERIFYING)
            or window.scheduled_until is None
            or window.scheduled_until > utcnow()
        ):
            return False
        complete_window(session, window, actor=SYSTEM)
        session.commit()
        log.info("tenant=%s completed maintenance %s", tenant_id, window_id)
        return True

"""Writes of scheduled maintenance: schedule a window, start it, complete it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from status_platform.errors import ValidationError
from status_platform.identity.actor import Actor
from status_platform.timeutil import ensure_utc, utcnow
from status_platform.validation import clean_text
from tenants.audit.services import record_event
from tenants.components.models import ComponentStatus
from tenants.incidents.models import (
    Impact,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
)
from tenants.incidents.services import MAX_BODY, load_components, post_update
from tenants.pages.models import Page
from tenants.pages.services import bump_version
from tenants.subscribers.models import EventKind
from tenants.subscribers.outbox import record_notification


def schedule_window(
    session: Session,
    page: Page,
    *,
    name: str,
    scheduled_for: datetime,
    scheduled_until: datetime,
    actor: Actor,
    body: str = "",
    component_ids: list[str] | tuple[str, ...] = (),
    deliver_notifications: bool = True,
    remind_prior: bool = True,
    auto_in_progress: bool = True,
    auto_completed: bool = True,
    auto_transition_components: bool = True,
) -> Incident:
    """Schedule a maintenance window on `page` covering `component_ids`. Flushes, never commits."""
    name = clean_text(name, field="name", label="Title")
    body = clean_text(body, field="body", label="Message", max_length=MAX_BODY, required=False)
    starts, ends = ensure_utc(scheduled_for), ensure_utc(scheduled_until)
    if ends <= starts:
        raise ValidationError("The window must end after it starts.", field="scheduled_until")
    components = load_components(session, page.id, list(component_ids))
    now = utcnow()
    window = Incident(
        page_id=page.id,
        kind=IncidentKind.MAINTENANCE,
        name=name,
        status=IncidentStatus.SCHEDULED,
        impact=Impact.MAINTENANCE,
        started_at=now,  # Statuspage's started_at of a window is when it was announced
        scheduled_for=starts,
        scheduled_until=ends,
        scheduled_remind_prior=remind_prior,
        scheduled_auto_in_progress=auto_in_progress,
        scheduled_auto_completed=auto_completed,
        auto_transition_to_maintenance_state=auto_transition_components,
        auto_transition_to_operational_state=auto_transition_components,
        auto_transition_deliver_notifications_at_start=deliver_notifications,
        auto_transition_deliver_notifications_at_end=deliver_notifications,
    )
    session.add(window)
    session.flush()
    for component in components:
        window.affected.append(IncidentComponent(component_id=component.id, component=component))
    update = IncidentUpdate(
        incident_id=window.id,
        status=IncidentStatus.SCHEDULED,
        body=body,
        display_at=now,
        deliver_notifications=deliver_notifications,
        author_user_id=actor.user_id,
    )
    window.updates.append(update)
    session.flush()
    record_event(
        session,
        actor,
        "maintenance.scheduled",
        object_type="incident",
        object_id=window.id,
        page_id=page.id,
        summary=f"Scheduled maintenance {name!r}",
        after={"scheduled_for": starts.isoformat(), "scheduled_until": ends.isoformat()},
    )
    if deliver_notifications:
        record_notification(
            session,
            page_id=page.id,
            kind=EventKind.MAINTENANCE_SCHEDULED,
            incident_id=window.id,
            incident_update_id=update.id,
            component_ids=[c.id for c in components],
        )
    bump_version(session, page.id)
    return window


def start_window(session: Session, window: Incident, *, actor: Actor, body: str = "") -> IncidentUpdate:
    """Put a scheduled window in progress; its components go Under Maintenance when it says so."""
    components = {}
    if window.auto_transition_to_maintenance_state:
        components = {link.component_id: ComponentStatus.UNDER_MAINTENANCE for link in window.affected}
    return post_update(
        session,
        window,
        actor=actor,
        status=IncidentStatus.IN_PROGRESS,
        body=body or "Scheduled maintenance is currently in progress. We will provide updates as necessary.",
        components=components,
        deliver_notifications=window.auto_transition_deliver_notifications_at_start,
    )


def complete_window(session: Session, window: Incident, *, actor: Actor, body: str = "") -> IncidentUpdate:
    """Complete a window; its components go back to Operational when it says so."""
    return post_update(
        session,
        window,
        actor=actor,
        status=IncidentStatus.COMPLETED,
        body=body or "The scheduled maintenance has been completed.",
        restore_components=window.auto_transition_to_operational_state,
        deliver_notifications=window.auto_transition_deliver_notifications_at_end,
    )

"""Writes of incidents: open, post updates (with component statuses), and default incident types."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.errors import ValidationError
from status_platform.identity.actor import Actor
from status_platform.timeutil import ensure_utc, utcnow
from status_platform.validation import clean_text
from tenants.audit.services import record_event
from tenants.components.models import Component, ComponentStatus
from tenants.components.services import set_component_status
from tenants.incidents.models import (
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    Impact,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    IncidentType,
    IncidentUpdate,
    IncidentUpdateComponent,
)
from tenants.pages.models import Page
from tenants.pages.services import bump_version
from tenants.subscribers.models import EventKind
from tenants.subscribers.outbox import record_notification

MAX_BODY = 25_000
DEFAULT_INCIDENT_TYPES = (("Minor", "#f1c40f"), ("Major", "#e67e22"))

_IMPACT_OF_STATUS = {
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
}


def impact_of_statuses(statuses: list[ComponentStatus]) -> Impact:
    """Statuspage's rule: the worst affected status decides (major outage → critical, ...)."""
    worst = max(statuses, key=lambda s: s.severity, default=ComponentStatus.OPERATIONAL)
    return _IMPACT_OF_STATUS.get(worst, Impact.NONE)


def create_default_incident_types(session: Session) -> list[IncidentType]:
    types = [
        IncidentType(name=name, color=color, position=i)
        for i, (name, color) in enumerate(DEFAULT_INCIDENT_TYPES, 1)
    ]
    session.add_all(types)
    session.flush()
    return types


def _clean_body(body: str | None) -> str:
    return clean_text(body or "", field="body", label="Message", max_length=MAX_BODY, required=False)


def load_components(
    session: Session, page_id: str, component_ids: list[str] | tuple[str, ...]
) -> list[Component]:
    """The page's components with these ids, in the given order; an unknown id is a ValidationError.

    Another organization's component is unknown here (the session cannot see it).
    """
    wanted = list(dict.fromkeys(component_ids))
    if not wanted:
        return []
    found = {
        c.id: c
        for c in session.scalars(
            select(Component).where(Component.id.in_(wanted), Component.page_id == page_id)
        )
    }
    missing = [cid for cid in wanted if cid not in found]
    if missing:
        raise ValidationError(f"Unknown component: {missing[0]}", field="components")
    return [found[cid] for cid in wanted]


def _apply_components(
    session: Session,
    incident: Incident,
    update: IncidentUpdate,
    changes: Mapping[str, ComponentStatus],
    *,
    actor: Actor,
    at: datetime,
    apply_live: bool,
) -> None:
    """Record component changes on `update`; affect the components; set them live unless backfilled."""
    components = load_components(session, incident.page_id, list(changes))
    affected = {link.component_id for link in incident.affected}
    for component in components:
        new_status = ComponentStatus(changes[component.id])
        if component.id not in affected:
            incident.affected.append(IncidentComponent(component_id=component.id, component=component))
            affected.add(component.id)
        update.component_changes.append(
            IncidentUpdateComponent(
                component_id=component.id,
                component_name=_display_name(component),
                old_status=component.status
                if apply_live
                else _recorded_status(incident, update, component.id),
                new_status=new_status,
            )
        )
        if apply_live:
            set_component_status(
                session,
                component,
                new_status,
                actor=actor,
                incident_id=incident.id,
                at=at,
                deliver_notifications=update.deliver_notifications,
            )


def _recorded_status(incident: Incident, current: IncidentUpdate, component_id: str) -> ComponentStatus:
    """For history told after the fact: the status the incident's timeline last gave the component."""
    for update in incident.updates:  # newest first
        if update is current:
            continue
        for change in update.component_changes:
            if change.component_id == component_id:
                return change.new_status
    return ComponentStatus.OPERATIONAL


def _display_name(component: Component) -> str:
    return f"{component.group.name} - {component.name}" if component.group is not None else component.name


def _recompute_impact(incident: Incident) -> None:
    if incident.impact_override is not None:
        incident.impact = incident.impact_override
    elif incident.kind is IncidentKind.MAINTENANCE:
        incident.impact = Impact.MAINTENANCE
    else:
        # The incident keeps the colour of its worst moment after it is resolved.
        incident.impact = impact_of_statuses(
            [c.new_status for u in incident.updates for c in u.component_changes]
        )


def open_incident(
    session: Session,
    page: Page,
    *,
    name: str,
    actor: Actor,
    status: IncidentStatus = IncidentStatus.INVESTIGATING,
    body: str = "",
    components: Mapping[str, ComponentStatus] | None = None,
    impact_override: Impact | None = None,
    incident_type_id: str | None = None,
    deliver_notifications: bool = True,
    backfill_at: datetime | None = None,
) -> Incident:
    """Open an incident on `page` with its first update, setting the affected components' statuses.

    With `backfill_at` the incident is historical: it starts then, components are recorded on
    the timeline but not changed now, and nobody is notified. Flushes, never commits.
    """
    name = clean_text(name, field="name", label="Title")
    body = _clean_body(body)
    if status not in INCIDENT_STATUSES:
        raise ValidationError(f"{status!r} is not an incident status.", field="status")
    if incident_type_id is not None and session.get(IncidentType, incident_type_id) is None:
        raise ValidationError("Unknown incident type.", field="incident_type_id")
    now = utcnow()
    at = ensure_utc(backfill_at) if backfill_at is not None else now
    if backfill_at is not None and at > now:
        raise ValidationError("A backfilled incident cannot start in the future.", field="backfill_date")
    incident = Incident(
        page_id=page.id,
        kind=IncidentKind.INCIDENT,
        name=name,
        status=status,
        impact_override=impact_override,
        incident_type_id=incident_type_id,
        is_backfilled=backfill_at is not None,
        started_at=at,
        created_at=at,
        updated_at=at,
    )
    session.add(incident)
    session.flush()
    _stamp_status_times(incident, status, at)
    update = IncidentUpdate(
        incident_id=incident.id,
        status=status,
        body=body,
        display_at=at,
        deliver_notifications=deliver_notifications and backfill_at is None,
        author_user_id=actor.user_id,
        created_at=at,
        updated_at=at,
    )
    incident.updates.append(update)
    _apply_components(
        session, incident, update, components or {}, actor=actor, at=at, apply_live=backfill_at is None
    )
    _recompute_impact(incident)
    session.flush()
    record_event(
        session,
        actor,
        "incident.created",
        object_type="incident",
        object_id=incident.id,
        page_id=page.id,
        summary=f"Opened incident {name!r}",
        after={"status": status.value},
    )
    if update.deliver_notifications:
        record_notification(
            session,
            page_id=page.id,
            kind=EventKind.INCIDENT_CREATED,
            incident_id=incident.id,
            incident_update_id=update.id,
            component_ids=[a.component_id for a in incident.affected],
        )
    bump_version(session, page.id)
    return incident


def _stamp_status_times(incident: Incident, status: IncidentStatus, at: datetime) -> None:
    if status is IncidentStatus.MONITORING and incident.monitoring_at is None:
        incident.monitoring_at = at
    if status in (IncidentStatus.RESOLVED, IncidentStatus.COMPLETED) and incident.resolved_at is None:
        incident.resolved_at = at


def post_update(
    session: Session,
    incident: Incident,
    *,
    actor: Actor,
    status: IncidentStatus | None = None,
    body: str = "",
    components: Mapping[str, ComponentStatus] | None = None,
    deliver_notifications: bool = True,
    display_at: datetime | None = None,
    restore_components: bool = True,
) -> IncidentUpdate:
    """Add an update to `incident` (a new status, a message, component statuses, or all three).

    Resolving (or completing a maintenance) sets the affected components back to Operational
    unless `components` says otherwise or `restore_components` is False. Flushes, never commits.
    """
    allowed = MAINTENANCE_STATUSES if incident.kind is IncidentKind.MAINTENANCE else INCIDENT_STATUSES
    new_status = status or incident.status
    if new_status not in allowed and new_status is not IncidentStatus.POSTMORTEM:
        raise ValidationError(
            f"{new_status.value!r} is not a status for this {incident.kind.value}.", field="status"
        )
    body = _clean_body(body)
    changes = dict(components or {})
    closing = new_status in (IncidentStatus.RESOLVED, IncidentStatus.COMPLETED)
    if closing and restore_components and not changes:
        changes = {link.component_id: ComponentStatus.OPERATIONAL for link in incident.affected}
    if not body and new_status == incident.status and not changes:
        raise ValidationError("An update needs a message, a new status or a component change.", field="body")
    now = utcnow()
    at = ensure_utc(display_at) if display_at is not None else now
    was_status = incident.status
    incident.status = new_status
    incident.updated_at = now
    _stamp_status_times(incident, new_status, at)
    update = IncidentUpdate(
        incident_id=incident.id,
        status=new_status,
        body=body,
        display_at=at,
        deliver_notifications=deliver_notifications,
        author_user_id=actor.user_id,
    )
    incident.updates.insert(0, update)  # newest first, as the relationship loads them
    _apply_components(
        session, incident, update, changes, actor=actor, at=at, apply_live=not incident.is_backfilled
    )
    _recompute_impact(incident)
    session.flush()
    record_event(
        session,
        actor,
        "incident.updated",
        object_type="incident",
        object_id=incident.id,
        page_id=incident.page_id,
        summary=f"{incident.name}: {new_status.label}",
        before={"status": was_status.value},
        after={"status": new_status.value},
    )
    if deliver_notifications and not incident.is_backfilled:
        record_notification(
            session,
            page_id=incident.page_id,
            kind=_event_kind(incident, was_status, new_status),
            incident_id=incident.id,
            incident_update_id=update.id,
            component_ids=[a.component_id for a in incident.affected],
        )
    bump_version(session, incident.page_id)
    return update


def _event_kind(incident: Incident, was: IncidentStatus, now: IncidentStatus) -> EventKind:
    if incident.kind is IncidentKind.MAINTENANCE:
        if now != was and now is IncidentStatus.IN_PROGRESS:
            return EventKind.MAINTENANCE_STARTED
        if now != was and now is IncidentStatus.COMPLETED:
            return EventKind.MAINTENANCE_COMPLETED
        return EventKind.MAINTENANCE_UPDATED
    if now != was and now is IncidentStatus.RESOLVED:
        return EventKind.INCIDENT_RESOLVED
    return EventKind.INCIDENT_UPDATED

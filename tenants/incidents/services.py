"""Writes of incidents: open, update, backfill, postmortems, and the incident types and templates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.orm import Session

from status_platform.errors import Conflict, ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import PAGE_ADMINS, STATUS_WRITERS, require_role
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
    Template,
    TemplateComponent,
)
from tenants.incidents.schemas import clean_type_color, clean_type_name, statuses_of
from tenants.pages.models import Page
from tenants.pages.services import bump_version
from tenants.subscribers.models import EventKind
from tenants.subscribers.outbox import record_notification

MAX_BODY = 25_000

_IMPACT_OF_STATUS = {
    ComponentStatus.MAJOR_OUTAGE: Impact.CRITICAL,
    ComponentStatus.PARTIAL_OUTAGE: Impact.MAJOR,
    ComponentStatus.DEGRADED_PERFORMANCE: Impact.MINOR,
}


def impact_of_statuses(statuses: list[ComponentStatus]) -> Impact:
    """Statuspage's rule: the worst affected status decides (major outage → critical, ...)."""
    worst = max(statuses, key=lambda s: s.severity, default=ComponentStatus.OPERATIONAL)
    return _IMPACT_OF_STATUS.get(worst, Impact.NONE)


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


def _changed(
    before: dict[str, object], after: dict[str, object]
) -> tuple[dict[str, object], dict[str, object]]:
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def record_incident_change(
    session: Session,
    incident: Incident,
    actor: Actor,
    action: str,
    summary: str,
    *,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
    changes_only: bool = False,
    expire: tuple[str, ...] = (),
    bump: bool = True,
) -> None:
    """Finish a write to `incident` (or a maintenance window): flush it, record `action` in the
    audit log and, with `bump`, mark its page changed so the public page follows.

    With `changes_only` the event keeps only the keys of `before` and `after` whose values differ.
    `expire` names relationships the flush leaves stale. Flushes, never commits.
    """
    session.flush()
    if expire:
        session.expire(incident, list(expire))
    if changes_only and before is not None and after is not None:
        before, after = _changed(before, after)
    record_event(
        session,
        actor,
        action,
        object_type="incident",
        object_id=incident.id,
        page_id=incident.page_id,
        summary=summary,
        before=before,
        after=after,
    )
    if bump:
        bump_version(session, incident.page_id)


def record_incident_notification(
    session: Session,
    incident: Incident,
    kind: EventKind,
    *,
    update: IncidentUpdate | None = None,
    payload: dict[str, object] | None = None,
) -> None:
    """Tell the subscribers of `incident`'s page and of its affected components, through the outbox
    (after the commit). Flushes, never commits."""
    record_notification(
        session,
        page_id=incident.page_id,
        kind=kind,
        incident_id=incident.id,
        incident_update_id=update.id if update is not None else None,
        component_ids=[link.component_id for link in incident.affected],
        payload=payload,
    )


MAX_METADATA = 16_384
MAX_REMINDER_INTERVALS = 100


def clean_metadata(value: Mapping[str, object] | None, *, field: str = "metadata") -> dict[str, object]:
    """Metadata attached to an incident: an object whose top-level values are objects (Statuspage's
    rule, `{"jira": {"issue": "OPS-1"}}`), at most MAX_METADATA characters as JSON."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("Metadata must be an object.", field=field)
    for key, item in value.items():
        if not isinstance(item, Mapping):
            raise ValidationError(f"The metadata value of {key!r} must be an object.", field=field)
    cleaned = dict(value)
    if len(json.dumps(cleaned, separators=(",", ":"))) > MAX_METADATA:
        raise ValidationError(f"Metadata must be at most {MAX_METADATA} characters as JSON.", field=field)
    return cleaned


def clean_reminder_intervals(value: str | None, *, field: str = "reminder_intervals") -> str | None:
    """Statuspage's reminder intervals of an open incident, in hours: None or "" (the default, 3, 6,
    12 and 24), "[1, 5, 7, 10]" (strictly increasing, each 1 to 24), "4" (every 4 hours up to 24)
    or "[]" (no reminders). Returned in that canonical spelling."""
    text = (value or "").strip()
    if not text:
        return None
    message = 'Reminder intervals are hours from 1 to 24: "4", "[1, 5, 7, 10]" (increasing) or "[]".'
    if len(text) > MAX_REMINDER_INTERVALS:
        raise ValidationError(message, field=field)
    if text.isdigit():
        if not 1 <= int(text) <= 24:
            raise ValidationError(message, field=field)
        return str(int(text))
    try:
        hours = json.loads(text)
    except ValueError:
        raise ValidationError(message, field=field) from None
    if (
        not isinstance(hours, list)
        or not all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 24 for h in hours)
        or any(later <= earlier for earlier, later in zip(hours, hours[1:], strict=False))
    ):
        raise ValidationError(message, field=field)
    return json.dumps(hours, separators=(", ", ":"))


def _affect(incident: Incident, components: list[Component]) -> bool:
    """Add `components` to those `incident` affects, leaving their statuses; True if any was new."""
    affected = {link.component_id for link in incident.affected}
    added = False
    for component in components:
        if component.id not in affected:
            incident.affected.append(IncidentComponent(component_id=component.id, component=component))
            affected.add(component.id)
            added = True
    return added


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
    component_ids: list[str] | tuple[str, ...] = (),
    metadata: Mapping[str, object] | None = None,
    reminder_intervals: str | None = None,
) -> Incident:
    """Open an incident on `page` with its first update, setting the affected components' statuses.

    `component_ids` are affected too, without a status change. With `backfill_at` the incident is
    historical: it starts then, components are recorded on the timeline but not changed now, and
    nobody is notified. A retired incident type is refused; `metadata` and `reminder_intervals`
    are checked as clean_metadata and clean_reminder_intervals say. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "open incidents")
    name = clean_text(name, field="name", label="Title")
    body = _clean_body(body)
    if status not in INCIDENT_STATUSES:
        raise ValidationError(f"{status!r} is not an incident status.", field="status")
    if impact_override is Impact.MAINTENANCE:
        raise ValidationError("The maintenance impact belongs to maintenance windows.", field="impact")
    _check_type(session, incident_type_id)
    unchanged = [cid for cid in component_ids if cid not in (components or {})]
    extra_components = load_components(session, page.id, unchanged)
    metadata_value = clean_metadata(metadata)
    reminder_intervals = clean_reminder_intervals(reminder_intervals)
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
        reminder_intervals=reminder_intervals,
        metadata_=metadata_value,
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
    _affect(incident, extra_components)
    _recompute_impact(incident)
    record_incident_change(
        session,
        incident,
        actor,
        "incident.created",
        f"Opened incident {name!r}",
        after={"status": status.value},
    )
    if update.deliver_notifications:
        record_incident_notification(session, incident, EventKind.INCIDENT_CREATED, update=update)
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
    require_role(actor, STATUS_WRITERS, "post incident updates")
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
    record_incident_change(
        session,
        incident,
        actor,
        "incident.updated",
        f"{incident.name}: {new_status.label}",
        before={"status": was_status.value},
        after={"status": new_status.value},
    )
    if deliver_notifications and not incident.is_backfilled:
        record_incident_notification(
            session, incident, _event_kind(incident, was_status, new_status), update=update
        )
    return update


def affect_components(
    session: Session, incident: Incident, component_ids: list[str] | tuple[str, ...], *, actor: Actor
) -> bool:
    """Count the page's components `component_ids` among those `incident` affects, leaving their
    statuses (the next update may set them). An unknown component is a ValidationError on
    "components". False, and nothing written, when all were affected already. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "edit incidents")
    before = sorted(link.component_id for link in incident.affected)
    if not _affect(incident, load_components(session, incident.page_id, list(component_ids))):
        return False
    incident.updated_at = utcnow()
    record_incident_change(
        session,
        incident,
        actor,
        "incident.components_affected",
        f"{incident.name}: affected components added",
        before={"components": before},
        after={"components": sorted(link.component_id for link in incident.affected)},
    )
    return True


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


# --- editing incidents and their timelines ----------------------------------------------------

MAX_POSTMORTEM = 100_000
DEFAULT_RESOLUTION = "This incident has been resolved."


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _incident_state(incident: Incident) -> dict[str, object]:
    return {
        "name": incident.name,
        "impact": incident.impact.value,
        "impact_override": incident.impact_override.value if incident.impact_override else None,
        "incident_type_id": incident.incident_type_id,
        "metadata": incident.metadata_,
        "reminder_intervals": incident.reminder_intervals,
    }


def update_incident(
    session: Session,
    incident: Incident,
    *,
    actor: Actor,
    name: str,
    impact_override: Impact | None = None,
    incident_type_id: str | None = None,
    metadata: Mapping[str, object] | None = None,
    reminder_intervals: str | None = None,
) -> Incident:
    """Change an incident's title, impact and type, and with them its metadata and reminder
    intervals when given (`metadata` replaces the old; None keeps both, "" resets the intervals
    to the default).

    `impact_override` None means the impact is derived from the components its updates set. The
    incident may keep a type that was retired since; another retired type is refused. Nothing is
    recorded when nothing changed. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "edit incidents")
    name = clean_text(name, field="name", label="Title")
    if impact_override is Impact.MAINTENANCE and incident.kind is IncidentKind.INCIDENT:
        raise ValidationError("The maintenance impact belongs to maintenance windows.", field="impact")
    _check_type(session, incident_type_id, keep=incident.incident_type_id)
    metadata_value = clean_metadata(metadata) if metadata is not None else incident.metadata_
    intervals = (
        clean_reminder_intervals(reminder_intervals)
        if reminder_intervals is not None
        else incident.reminder_intervals
    )
    before = _incident_state(incident)
    incident.name = name
    incident.impact_override = impact_override
    incident.incident_type_id = incident_type_id
    incident.metadata_ = metadata_value
    incident.reminder_intervals = intervals
    _recompute_impact(incident)
    after = _incident_state(incident)
    if after == before:
        return incident
    incident.updated_at = utcnow()
    record_incident_change(
        session,
        incident,
        actor,
        "incident.edited",
        f"Edited incident {incident.name!r}",
        before=before,
        after=after,
        changes_only=True,
        expire=("incident_type",),
    )
    return incident


def _oldest_first(incident: Incident) -> list[IncidentUpdate]:
    return sorted(incident.updates, key=lambda u: (u.display_at, u.created_at, u.id))


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _when(session: Session, page_id: str, value: datetime) -> str:
    page = session.get(Page, page_id)
    local = value.astimezone(ZoneInfo(page.time_zone if page is not None else "UTC"))
    return local.strftime("%b %-d, %Y %H:%M ") + local.strftime("%Z")


def edit_update(
    session: Session,
    update: IncidentUpdate,
    *,
    actor: Actor,
    body: str,
    display_at: datetime,
    deliver_notifications: bool | None = None,
) -> IncidentUpdate:
    """Correct an update's message and display time (of an incident or a maintenance window), and
    with `deliver_notifications` its notification flag (Statuspage's API sets it; a correction
    itself notifies nobody).

    The time may not be in the future nor pass the updates beside it, so the timeline keeps its
    order and the incident keeps the status of its newest update. A time in the same minute as a
    neighbour (the form's precision) is taken as that neighbour's time. The incident's start,
    monitoring and resolution times move with the update that set them. Nothing is recorded when
    nothing changed. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "edit incident updates")
    incident = update.incident
    body = _clean_body(body)
    at = ensure_utc(display_at)
    if at > utcnow():
        raise ValidationError("The display time cannot be in the future.", field="display_at")
    ordered = _oldest_first(incident)
    index = ordered.index(update)
    older = ordered[index - 1] if index > 0 else None
    newer = ordered[index + 1] if index + 1 < len(ordered) else None
    if older is not None and at < older.display_at:
        if _minute(at) != _minute(older.display_at):
            raise ValidationError(
                "The display time cannot be before the update before it "
                f"({_when(session, incident.page_id, older.display_at)}).",
                field="display_at",
            )
        at = older.display_at
    if newer is not None and at > newer.display_at:
        if _minute(at) != _minute(newer.display_at):
            raise ValidationError(
                "The display time cannot be after the update after it "
                f"({_when(session, incident.page_id, newer.display_at)}).",
                field="display_at",
            )
        at = newer.display_at
    if not body and older is not None and older.status == update.status and not update.component_changes:
        raise ValidationError(
            "This update changes no status or component, so it needs a message.", field="body"
        )
    notify = update.deliver_notifications if deliver_notifications is None else deliver_notifications
    before = {
        "body": update.body,
        "display_at": _iso(update.display_at),
        "deliver_notifications": update.deliver_notifications,
    }
    after = {"body": body, "display_at": _iso(at), "deliver_notifications": notify}
    if after == before:
        return update
    old_at = update.display_at
    update.body = body
    update.display_at = at
    update.deliver_notifications = notify
    if older is None and incident.kind is IncidentKind.INCIDENT and incident.started_at == old_at:
        incident.started_at = at
    if update.status is IncidentStatus.MONITORING and incident.monitoring_at == old_at:
        incident.monitoring_at = at
    if update.status.is_closed and incident.resolved_at == old_at:
        incident.resolved_at = at
    incident.updated_at = utcnow()
    record_incident_change(
        session,
        incident,
        actor,
        "incident_update.edited",
        f"{incident.name}: edited the {update.status.label} update",
        before=before,
        after=after,
        changes_only=True,
        expire=("updates",),
    )
    return update


def delete_update(session: Session, update: IncidentUpdate, *, actor: Actor) -> Incident:
    """Delete one update of an incident or maintenance window; never its only one.

    The incident then takes the status of its newest remaining update, and its start, monitoring
    and resolution times those of the remaining updates. Components keep their current statuses
    (the next update sets them). Returns the incident. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "delete incident updates")
    incident = update.incident
    ordered = _oldest_first(incident)
    if len(ordered) == 1:
        kind = incident.kind.value
        raise ValidationError(f"This is the only update of this {kind}; delete the {kind} instead.")
    remaining = [u for u in ordered if u is not update]
    before = {
        "status": incident.status.value,
        "update_status": update.status.value,
        "body": update.body,
        "display_at": _iso(update.display_at),
    }
    incident.updates.remove(update)
    session.delete(update)
    incident.status = remaining[-1].status
    if incident.kind is IncidentKind.INCIDENT:
        incident.started_at = remaining[0].display_at
        monitoring = [u.display_at for u in remaining if u.status is IncidentStatus.MONITORING]
        incident.monitoring_at = monitoring[0] if monitoring else None
    incident.resolved_at = _resolution_time(remaining)
    incident.updated_at = utcnow()
    _recompute_impact(incident)
    record_incident_change(
        session,
        incident,
        actor,
        "incident_update.deleted",
        f"{incident.name}: deleted the {update.status.label} update",
        before=before,
        after={"status": incident.status.value},
    )
    return incident


def _resolution_time(oldest_first: list[IncidentUpdate]) -> datetime | None:
    """When the closing run of updates began (updates after the resolution stay resolved), or None."""
    resolved_at = None
    for update in reversed(oldest_first):
        if not update.status.is_closed:
            break
        resolved_at = update.display_at
    return resolved_at


def delete_incident(session: Session, incident: Incident, *, actor: Actor) -> None:
    """Delete an incident (or maintenance window) with its updates, its notification log and the
    subscriptions to it alone. Components keep their statuses and their history (unlinked).

    Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, f"delete {incident.kind.value}")
    page_id = incident.page_id
    record_event(
        session,
        actor,
        f"{'maintenance' if incident.kind is IncidentKind.MAINTENANCE else 'incident'}.deleted",
        object_type="incident",
        object_id=incident.id,
        page_id=page_id,
        summary=f"Deleted {incident.kind.value} {incident.name!r}",
        before={
            "name": incident.name,
            "status": incident.status.value,
            "started_at": _iso(incident.started_at),
            "updates": len(incident.updates),
        },
    )
    session.delete(incident)
    session.flush()
    bump_version(session, page_id)


# --- postmortems -----------------------------------------------------------------------------


def _clip(text: str | None) -> str:
    # The audit log keeps the gist of long Markdown, not every byte of it.
    text = text or ""
    return text if len(text) <= 2000 else text[:2000] + "…"


def save_postmortem(session: Session, incident: Incident, *, actor: Actor, body: str) -> Incident:
    """Save the postmortem's Markdown. A draft stays private; a published one shows the new text.

    Only incidents have postmortems (a maintenance window is a ValidationError). A published
    postmortem cannot be emptied (unpublish it first). Nothing is recorded when the text is
    unchanged. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "write postmortems")
    if incident.kind is not IncidentKind.INCIDENT:
        raise ValidationError("Only incidents have postmortems.")
    body = clean_text(
        body, field="postmortem_body", label="Postmortem", max_length=MAX_POSTMORTEM, required=False
    )
    if body == (incident.postmortem_body or ""):
        return incident
    if not body and incident.postmortem_published_at is not None:
        raise ValidationError(
            "A published postmortem needs text; unpublish it to take it down.", field="postmortem_body"
        )
    before = _clip(incident.postmortem_body)
    incident.postmortem_body = body
    incident.postmortem_body_updated_at = utcnow()
    published = incident.postmortem_published_at is not None
    record_incident_change(
        session,
        incident,
        actor,
        "incident.postmortem_saved",
        f"{incident.name}: saved the postmortem" + (" (published)" if published else " (draft)"),
        before={"postmortem_body": before},
        after={"postmortem_body": _clip(body)},
        bump=published,  # a draft is not on the public page
    )
    return incident


def publish_postmortem(
    session: Session, incident: Incident, *, actor: Actor, notify: bool = False, body: str | None = None
) -> Incident:
    """Publish an incident's postmortem on the public page, saving `body` first when given.

    The incident stays resolved (as on Statuspage) and `postmortem_published_at` marks the
    postmortem public. With `notify` subscribers are told (POSTMORTEM_PUBLISHED), at most once
    per incident. The incident must be resolved and the postmortem written. Publishing a
    published postmortem only saves it. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "publish postmortems")
    if incident.kind is not IncidentKind.INCIDENT:
        raise ValidationError("Only incidents have postmortems.")
    if body is not None:
        save_postmortem(session, incident, actor=actor, body=body)
    if incident.postmortem_published_at is not None:
        return incident
    if not incident.status.is_closed:
        raise ValidationError("Resolve the incident before publishing its postmortem.")
    if not (incident.postmortem_body or "").strip():
        raise ValidationError("Write the postmortem before publishing it.", field="postmortem_body")
    incident.postmortem_published_at = utcnow()
    tell = notify and not incident.postmortem_notified_subscribers
    if tell:
        incident.postmortem_notified_subscribers = True
    record_incident_change(
        session,
        incident,
        actor,
        "incident.postmortem_published",
        f"{incident.name}: published the postmortem" + (" and told subscribers" if tell else ""),
        before={"postmortem_published_at": None},
        after={"postmortem_published_at": _iso(incident.postmortem_published_at), "notified": tell},
    )
    if tell:
        record_incident_notification(session, incident, EventKind.POSTMORTEM_PUBLISHED)
    return incident


def unpublish_postmortem(session: Session, incident: Incident, *, actor: Actor) -> bool:
    """Take a published postmortem off the public page; its text stays as a draft.

    False, and nothing written, when it was not published. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "unpublish postmortems")
    if incident.postmortem_published_at is None:
        return False
    before = _iso(incident.postmortem_published_at)
    incident.postmortem_published_at = None
    record_incident_change(
        session,
        incident,
        actor,
        "incident.postmortem_unpublished",
        f"{incident.name}: unpublished the postmortem",
        before={"postmortem_published_at": before},
        after={"postmortem_published_at": None},
    )
    return True


def delete_postmortem(session: Session, incident: Incident, *, actor: Actor) -> bool:
    """Delete an incident's postmortem: its text and, when it is published, its place on the public page.

    Whether subscribers were told stays recorded (they are told at most once per incident). False,
    and nothing written, when the incident has no postmortem. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "delete postmortems")
    if not incident.postmortem_body and incident.postmortem_published_at is None:
        return False
    published = incident.postmortem_published_at is not None
    before = {
        "postmortem_body": _clip(incident.postmortem_body),
        "postmortem_published_at": _iso(incident.postmortem_published_at),
    }
    incident.postmortem_body = None
    incident.postmortem_body_updated_at = None
    incident.postmortem_published_at = None
    record_incident_change(
        session,
        incident,
        actor,
        "incident.postmortem_deleted",
        f"{incident.name}: deleted the postmortem" + (" (it was published)" if published else " (draft)"),
        before=before,
        after={"postmortem_body": None, "postmortem_published_at": None},
        bump=published,  # a draft was never on the public page
    )
    return True


# --- backfill --------------------------------------------------------------------------------


def backfill_incident(
    session: Session,
    page: Page,
    *,
    actor: Actor,
    name: str,
    started_at: datetime,
    resolved_at: datetime,
    body: str = "",
    resolution: str = "",
    components: Mapping[str, ComponentStatus] | None = None,
    impact_override: Impact | None = None,
    incident_type_id: str | None = None,
) -> Incident:
    """Record a past incident on `page`: it opened at `started_at` with `body` and the affected
    components' statuses, and was resolved at `resolved_at` with `resolution`.

    The components' statuses now are not touched and nobody is notified. The resolution must
    come after the start and neither may be in the future. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "backfill incidents")
    starts, ends = ensure_utc(started_at), ensure_utc(resolved_at)
    now = utcnow()
    if starts > now:
        raise ValidationError("The start cannot be in the future.", field="started_at")
    if ends <= starts:
        raise ValidationError("The incident must be resolved after it started.", field="resolved_at")
    if ends > now:
        raise ValidationError("The resolution cannot be in the future.", field="resolved_at")
    incident = open_incident(
        session,
        page,
        name=name,
        actor=actor,
        body=body,
        components=components,
        impact_override=impact_override,
        incident_type_id=incident_type_id,
        deliver_notifications=False,
        backfill_at=starts,
    )
    post_update(
        session,
        incident,
        actor=actor,
        status=IncidentStatus.RESOLVED,
        body=resolution.strip() or DEFAULT_RESOLUTION,
        deliver_notifications=False,
        display_at=ends,
    )
    record_incident_change(
        session,
        incident,
        actor,
        "incident.backfilled",
        f"Backfilled incident {incident.name!r}",
        after={"started_at": _iso(starts), "resolved_at": _iso(ends)},
        bump=False,  # the updates above have bumped it
    )
    return incident


# --- incident types (organization-wide) -------------------------------------------------------


DEFAULT_INCIDENT_TYPES = (("Minor", "#f1c40f"), ("Major", "#e67e22"))


def create_default_incident_types(session: Session) -> list[IncidentType]:
    """The types a new organization starts with (Minor, Major). Flushes, never commits."""
    types = [
        IncidentType(name=name, color=color, position=i)
        for i, (name, color) in enumerate(DEFAULT_INCIDENT_TYPES, 1)
    ]
    session.add_all(types)
    session.flush()
    return types


def _check_type(session: Session, incident_type_id: str | None, *, keep: str | None = None) -> None:
    """An incident type of this organization that is offered (not retired), unless it is `keep`."""
    if incident_type_id is None:
        return
    incident_type = session.get(IncidentType, incident_type_id)
    if incident_type is None:
        raise ValidationError("Choose one of the organization's incident types.", field="incident_type_id")
    if incident_type.is_retired and incident_type_id != keep:
        raise ValidationError(
            f"The type {incident_type.name} is retired; choose another.", field="incident_type_id"
        )


def _type_state(incident_type: IncidentType) -> dict[str, object]:
    return {
        "name": incident_type.name,
        "color": incident_type.color,
        "position": incident_type.position,
        "is_retired": incident_type.is_retired,
    }


def _check_type_name_free(session: Session, name: str, *, except_id: str | None = None) -> None:
    query = select(IncidentType.id).where(sa.func.lower(IncidentType.name) == name.lower())
    if except_id is not None:
        query = query.where(IncidentType.id != except_id)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict(f"There is already an incident type named {name}.", field="name")


def ordered_incident_types(session: Session) -> list[IncidentType]:
    """The organization's incident types, retired ones too, in their order."""
    return list(
        session.scalars(
            select(IncidentType).order_by(IncidentType.position, IncidentType.name, IncidentType.id)
        )
    )


def create_incident_type(session: Session, *, actor: Actor, name: str, color: str) -> IncidentType:
    """Add an incident type at the end of the organization's list; names are unique (any case).

    Raises Conflict for a taken name. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "add incident types")
    name = clean_type_name(name)
    color = clean_type_color(color)
    _check_type_name_free(session, name)
    last = session.scalar(select(sa.func.coalesce(sa.func.max(IncidentType.position), 0)))
    incident_type = IncidentType(name=name, color=color, position=int(last or 0) + 1)
    session.add(incident_type)
    session.flush()
    record_event(
        session,
        actor,
        "incident_type.created",
        object_type="incident_type",
        object_id=incident_type.id,
        summary=f"Added incident type {name!r}",
        after=_type_state(incident_type),
    )
    return incident_type


def _bump_pages_using(session: Session, incident_type: IncidentType) -> None:
    pages = session.scalars(
        select(Incident.page_id).where(Incident.incident_type_id == incident_type.id).distinct()
    ).all()
    for page_id in pages:
        bump_version(session, page_id)


def update_incident_type(
    session: Session, incident_type: IncidentType, *, actor: Actor, name: str, color: str
) -> IncidentType:
    """Rename or recolour an incident type; the incidents of that type show the change.

    Raises Conflict for a taken name. Nothing is recorded when nothing changed. Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "edit incident types")
    name = clean_type_name(name)
    color = clean_type_color(color)
    _check_type_name_free(session, name, except_id=incident_type.id)
    before = _type_state(incident_type)
    incident_type.name = name
    incident_type.color = color
    after = _type_state(incident_type)
    if after == before:
        return incident_type
    session.flush()
    old, new = _changed(before, after)
    record_event(
        session,
        actor,
        "incident_type.updated",
        object_type="incident_type",
        object_id=incident_type.id,
        summary=f"Edited incident type {name!r}",
        before=old,
        after=new,
    )
    _bump_pages_using(session, incident_type)
    return incident_type


def move_incident_type(session: Session, incident_type: IncidentType, *, actor: Actor, offset: int) -> bool:
    """Move an incident type `offset` places in the list. False (nothing written) at that end.

    Flushes, never commits.
    """
    require_role(actor, PAGE_ADMINS, "reorder incident types")
    types = ordered_incident_types(session)
    index = types.index(incident_type)
    target = index + offset
    if offset == 0 or not 0 <= target < len(types):
        return False
    types.insert(target, types.pop(index))
    for position, item in enumerate(types, 1):
        item.position = position
    session.flush()
    record_event(
        session,
        actor,
        "incident_type.moved",
        object_type="incident_type",
        object_id=incident_type.id,
        summary=f"Moved incident type {incident_type.name!r} {'up' if offset < 0 else 'down'}",
        before={"position": index + 1},
        after={"position": target + 1},
    )
    return True


def _set_retired(session: Session, incident_type: IncidentType, *, actor: Actor, retired: bool) -> bool:
    require_role(actor, PAGE_ADMINS, "retire incident types" if retired else "restore incident types")
    if incident_type.is_retired == retired:
        return False
    incident_type.is_retired = retired
    session.flush()
    verb = "retired" if retired else "restored"
    record_event(
        session,
        actor,
        f"incident_type.{verb}",
        object_type="incident_type",
        object_id=incident_type.id,
        summary=f"{verb.capitalize()} incident type {incident_type.name!r}",
        before={"is_retired": not retired},
        after={"is_retired": retired},
    )
    return True


def retire_incident_type(session: Session, incident_type: IncidentType, *, actor: Actor) -> bool:
    """Stop offering an incident type for new incidents; incidents of that type keep it.

    False (nothing written) when already retired. Flushes, never commits.
    """
    return _set_retired(session, incident_type, actor=actor, retired=True)


def restore_incident_type(session: Session, incident_type: IncidentType, *, actor: Actor) -> bool:
    """Offer a retired incident type again. False (nothing written) when it was not retired."""
    return _set_retired(session, incident_type, actor=actor, retired=False)


# --- templates -------------------------------------------------------------------------------


def _template_state(template: Template) -> dict[str, object]:
    return {
        "kind": template.kind.value,
        "name": template.name,
        "title": template.title,
        "body": _clip(template.body),
        "update_status": template.update_status.value if template.update_status else None,
        "should_send_notifications": template.should_send_notifications,
        "components": {
            link.component_id: link.status.value if link.status else None for link in template.components
        },
    }


def _fill_template(
    session: Session,
    template: Template,
    *,
    kind: IncidentKind,
    name: str,
    title: str,
    body: str,
    update_status: IncidentStatus | None,
    should_send_notifications: bool,
    components: Mapping[str, ComponentStatus | None],
) -> None:
    name = clean_text(name, field="name", label="Template name")
    title = clean_text(title, field="title", label="Title")
    body = _clean_body(body)
    if update_status is not None and update_status not in statuses_of(kind):
        names = ", ".join(s.label for s in statuses_of(kind))
        raise ValidationError(f"A {kind.value} template's status is one of {names}.", field="update_status")
    chosen = load_components(session, template.page_id, list(components))
    template.kind = kind
    template.name = name
    template.title = title
    template.body = body
    template.update_status = update_status
    template.should_send_notifications = should_send_notifications
    # Rows are changed in place: deleting and re-adding one component would break its unique key.
    existing = {link.component_id: link for link in template.components}
    for component in chosen:
        link = existing.pop(component.id, None)
        if link is None:
            template.components.append(
                TemplateComponent(component_id=component.id, status=components[component.id])
            )
        else:
            link.status = components[component.id]
    for link in existing.values():
        template.components.remove(link)


def create_template(
    session: Session,
    page: Page,
    *,
    actor: Actor,
    name: str,
    title: str,
    kind: IncidentKind = IncidentKind.INCIDENT,
    body: str = "",
    update_status: IncidentStatus | None = None,
    should_send_notifications: bool = True,
    components: Mapping[str, ComponentStatus | None] | None = None,
) -> Template:
    """Add a prepared incident or maintenance message to `page`.

    `components` maps the page's components to the status the template gives them (None: named
    without a status); a component of another page is a ValidationError. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "add templates")
    template = Template(page_id=page.id, name="", title="")
    _fill_template(
        session,
        template,
        kind=kind,
        name=name,
        title=title,
        body=body,
        update_status=update_status,
        should_send_notifications=should_send_notifications,
        components=components or {},
    )
    session.add(template)
    session.flush()
    record_event(
        session,
        actor,
        "template.created",
        object_type="template",
        object_id=template.id,
        page_id=page.id,
        summary=f"Added {kind.value} template {template.name!r}",
        after=_template_state(template),
    )
    return template


def update_template(
    session: Session,
    template: Template,
    *,
    actor: Actor,
    name: str,
    title: str,
    kind: IncidentKind = IncidentKind.INCIDENT,
    body: str = "",
    update_status: IncidentStatus | None = None,
    should_send_notifications: bool = True,
    components: Mapping[str, ComponentStatus | None] | None = None,
) -> Template:
    """Change a template (all of it, as create_template takes it). Flushes, never commits."""
    require_role(actor, STATUS_WRITERS, "edit templates")
    before = _template_state(template)
    _fill_template(
        session,
        template,
        kind=kind,
        name=name,
        title=title,
        body=body,
        update_status=update_status,
        should_send_notifications=should_send_notifications,
        components=components or {},
    )
    session.flush()
    after = _template_state(template)
    if after != before:
        # A change of components alone leaves the template's row (and its updated_at) as it was.
        template.updated_at = utcnow()
        old, new = _changed(before, after)
        record_event(
            session,
            actor,
            "template.updated",
            object_type="template",
            object_id=template.id,
            page_id=template.page_id,
            summary=f"Edited template {template.name!r}",
            before=old,
            after=new,
        )
    return template


def delete_template(session: Session, template: Template, *, actor: Actor) -> None:
    """Delete a template; incidents written from it are not affected. Flushes, never commits."""
    require_role(actor, STATUS_WRITERS, "delete templates")
    record_event(
        session,
        actor,
        "template.deleted",
        object_type="template",
        object_id=template.id,
        page_id=template.page_id,
        summary=f"Deleted template {template.name!r}",
        before=_template_state(template),
    )
    session.delete(template)
    session.flush()

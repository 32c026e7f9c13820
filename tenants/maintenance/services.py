"""Writes of scheduled maintenance: schedule, edit, reschedule, update, remind, start, complete and cancel.

A window is an Incident of kind maintenance. Every write checks the actor's role first, flushes
and never commits, records an audit event, and bumps the page's version so the public page
follows; subscribers are told through the outbox when the write's notify flag says so.
Starting, completing and reminding change the row with a conditional UPDATE, so two writers
racing on one window (two workers, or a worker and a person) record one notice, not two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from status_platform.errors import ValidationError
from status_platform.identity.actor import Actor
from status_platform.identity.permissions import STATUS_WRITERS, require_role
from status_platform.timeutil import ensure_utc, utcnow
from status_platform.validation import clean_text
from tenants.components.models import ComponentStatus
from tenants.components.services import set_component_status
from tenants.incidents.models import (
    Impact,
    Incident,
    IncidentComponent,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
)
from tenants.incidents.services import (
    MAX_BODY,
    clean_metadata,
    load_components,
    post_update,
    record_incident_change,
    record_incident_notification,
)
from tenants.maintenance.queries import ACTIVE
from tenants.maintenance.schemas import check_transition, check_window
from tenants.pages.models import Page
from tenants.subscribers.models import (
    Delivery,
    DeliveryStatus,
    EventKind,
    FanoutStatus,
    NotificationEvent,
)

STARTED_BODY = "Scheduled maintenance is currently in progress. We will provide updates as necessary."
COMPLETED_BODY = "The scheduled maintenance has been completed."
CANCELLED_BODY = "This scheduled maintenance has been cancelled."

# Notices about a window that has not started; cancelling it makes the ones not yet sent moot.
NOTICES_BEFORE_START = (
    EventKind.MAINTENANCE_SCHEDULED,
    EventKind.MAINTENANCE_RESCHEDULED,
    EventKind.MAINTENANCE_UPDATED,
    EventKind.MAINTENANCE_REMINDER,
)


def _clean_name(name: str) -> str:
    return clean_text(name, field="name", label="Title")


def _clean_body(body: str) -> str:
    return clean_text(body, field="body", label="Message", max_length=MAX_BODY, required=False)


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
    to_maintenance_state: bool | None = None,
    to_operational_state: bool | None = None,
    deliver_notifications_at_start: bool | None = None,
    deliver_notifications_at_end: bool | None = None,
    impact_override: Impact | None = None,
    metadata: Mapping[str, object] | None = None,
) -> Incident:
    """Schedule a maintenance window on `page` covering `component_ids`. Flushes, never commits.

    The window must end after it starts and, when a person or an API key schedules it, must
    not have ended already (the platform's own actors may record past windows: imports, the
    demo). An unknown component, or another organization's, is a ValidationError on
    "components". `deliver_notifications` announces it now and at its start and end.
    `auto_transition_components` moves the components both ways unless `to_maintenance_state`
    or `to_operational_state` says otherwise for one way; `deliver_notifications_at_start` and
    `_at_end`, when given, decide the start's and end's notices instead. `metadata` is checked
    as clean_metadata says.
    """
    require_role(actor, STATUS_WRITERS, "schedule maintenance")
    name = _clean_name(name)
    body = _clean_body(body)
    starts, ends = ensure_utc(scheduled_for), ensure_utc(scheduled_until)
    now = utcnow()
    check_window(starts, ends, now=None if actor.is_system else now)
    components = load_components(session, page.id, list(component_ids))
    metadata_value = clean_metadata(metadata)
    window = Incident(
        page_id=page.id,
        kind=IncidentKind.MAINTENANCE,
        name=name,
        status=IncidentStatus.SCHEDULED,
        impact=impact_override or Impact.MAINTENANCE,
        impact_override=impact_override,
        started_at=now,  # Statuspage's started_at of a window is when it was announced
        scheduled_for=starts,
        scheduled_until=ends,
        scheduled_remind_prior=remind_prior,
        scheduled_auto_in_progress=auto_in_progress,
        scheduled_auto_completed=auto_completed,
        auto_transition_to_maintenance_state=_either(to_maintenance_state, auto_transition_components),
        auto_transition_to_operational_state=_either(to_operational_state, auto_transition_components),
        auto_transition_deliver_notifications_at_start=_either(
            deliver_notifications_at_start, deliver_notifications
        ),
        auto_transition_deliver_notifications_at_end=_either(
            deliver_notifications_at_end, deliver_notifications
        ),
        metadata_=metadata_value,
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
    record_incident_change(
        session,
        window,
        actor,
        "maintenance.scheduled",
        f"Scheduled maintenance {name!r}",
        after={**_window_state(window), **_times(window)},
    )
    if deliver_notifications:
        record_incident_notification(session, window, EventKind.MAINTENANCE_SCHEDULED, update=update)
    return window


def _either(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def start_window(
    session: Session,
    window: Incident,
    *,
    actor: Actor,
    body: str = "",
    deliver_notifications: bool | None = None,
    components: Mapping[str, ComponentStatus] | None = None,
) -> IncidentUpdate:
    """Put a scheduled window in progress; its components go Under Maintenance when it says so.

    `components` sets statuses of its own choosing (over the automatic ones; a component not
    covered yet becomes covered). Subscribers are told when `deliver_notifications` says so
    (None: the window's own setting for its start). A window that is not scheduled, or was
    cancelled, is a ValidationError. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "start maintenance")
    if window.status is not IncidentStatus.SCHEDULED or window.cancelled_at is not None:
        raise ValidationError("Only a scheduled window can start.", field="status")
    if not _claim(session, window, (IncidentStatus.SCHEDULED,)):
        raise ValidationError("This window has started already.", field="status")
    changes: dict[str, ComponentStatus] = {}
    if window.auto_transition_to_maintenance_state:
        changes = {link.component_id: ComponentStatus.UNDER_MAINTENANCE for link in window.affected}
    changes.update(components or {})
    return _transition(
        session,
        window,
        IncidentStatus.IN_PROGRESS,
        actor=actor,
        body=body,
        deliver_notifications=deliver_notifications,
        components=changes,
    )


def complete_window(
    session: Session,
    window: Incident,
    *,
    actor: Actor,
    body: str = "",
    deliver_notifications: bool | None = None,
    components: Mapping[str, ComponentStatus] | None = None,
) -> IncidentUpdate:
    """Complete a window in progress; its components go back to Operational when it says so.

    `components` sets statuses of its own choosing (over the automatic ones). Subscribers are
    told when `deliver_notifications` says so (None: the window's own setting for its end). A
    window not in progress (or verifying) is a ValidationError. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "complete maintenance")
    if window.status not in ACTIVE:
        raise ValidationError("Only a window in progress can be completed.", field="status")
    if not _claim(session, window, ACTIVE):
        raise ValidationError("This window has been completed already.", field="status")
    if not components:
        return _transition(
            session,
            window,
            IncidentStatus.COMPLETED,
            actor=actor,
            body=body,
            deliver_notifications=deliver_notifications,
            restore_components=window.auto_transition_to_operational_state,
        )
    changes: dict[str, ComponentStatus] = {}
    if window.auto_transition_to_operational_state:
        changes = {link.component_id: ComponentStatus.OPERATIONAL for link in window.affected}
    changes.update(components)
    return _transition(
        session,
        window,
        IncidentStatus.COMPLETED,
        actor=actor,
        body=body,
        deliver_notifications=deliver_notifications,
        components=changes,
        restore_components=False,
    )


def _claim(session: Session, window: Incident, statuses: Iterable[IncidentStatus]) -> bool:
    """Whether the database row of `window` is still in one of `statuses` and not cancelled; the
    UPDATE locks the row until the transaction ends.

    The in-memory status may be stale: another worker (or person) may have moved the window and
    committed since it was loaded. On PostgreSQL a concurrent writer's UPDATE waits for this
    transaction and then finds the status changed, so only one of them records the notice.
    """
    claimed = session.execute(
        update(Incident)
        .where(
            Incident.id == window.id,
            Incident.status.in_(list(statuses)),
            Incident.cancelled_at.is_(None),
        )
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)


def _transition(
    session: Session,
    window: Incident,
    status: IncidentStatus,
    *,
    actor: Actor,
    body: str,
    deliver_notifications: bool | None,
    components: dict[str, ComponentStatus] | None = None,
    restore_components: bool = True,
) -> IncidentUpdate:
    """Post the update that starts (In progress) or completes `window`, with the default message of
    that moment; `deliver_notifications` None takes the window's own setting for it."""
    starting = status is IncidentStatus.IN_PROGRESS
    if deliver_notifications is None:
        deliver_notifications = (
            window.auto_transition_deliver_notifications_at_start
            if starting
            else window.auto_transition_deliver_notifications_at_end
        )
    return post_update(
        session,
        window,
        actor=actor,
        status=status,
        body=body or (STARTED_BODY if starting else COMPLETED_BODY),
        components=components,
        restore_components=restore_components,
        deliver_notifications=deliver_notifications,
    )


def post_window_update(
    session: Session,
    window: Incident,
    *,
    actor: Actor,
    status: IncidentStatus | None = None,
    body: str = "",
    deliver_notifications: bool = True,
    components: Mapping[str, ComponentStatus] | None = None,
) -> IncidentUpdate:
    """Post an update to a window: a new status (forward only), a message, or both.

    Scheduled -> In progress -> Verifying -> Completed. Moving to In progress starts the window
    (components Under Maintenance when it says so), to Completed completes it (components back
    to Operational when it says so). `components` sets statuses of the caller's choosing with
    the update (over the automatic ones). Without a new status the update needs a message or a
    component change. A cancelled window takes messages only. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "post maintenance updates")
    new_status = status or window.status
    if window.cancelled_at is not None and new_status != window.status:
        raise ValidationError(
            "This window was cancelled; post a message without a new status.", field="status"
        )
    if components and window.cancelled_at is not None:
        raise ValidationError("This window was cancelled; its components cannot change.", field="components")
    check_transition(window.status, new_status)
    if new_status != window.status and new_status is IncidentStatus.IN_PROGRESS:
        return start_window(
            session,
            window,
            actor=actor,
            body=body,
            deliver_notifications=deliver_notifications,
            components=components,
        )
    if new_status != window.status and new_status is IncidentStatus.COMPLETED:
        return complete_window(
            session,
            window,
            actor=actor,
            body=body,
            deliver_notifications=deliver_notifications,
            components=components,
        )
    if new_status == window.status and not (body or "").strip() and not components:
        raise ValidationError("Write a message, or choose a new status.", field="body")
    return post_update(
        session,
        window,
        actor=actor,
        status=new_status,
        body=body,
        components=components,
        deliver_notifications=deliver_notifications,
    )


def reschedule_window(
    session: Session,
    window: Incident,
    *,
    actor: Actor,
    scheduled_for: datetime,
    scheduled_until: datetime,
    deliver_notifications: bool = True,
) -> bool:
    """Move a window that is scheduled or in progress to a new start and end.

    The new end must come after the start and not be past; a window already in progress cannot
    have its start moved into the future. A new start means a new reminder: one not yet sent for
    the old start is cancelled, and the reminder comes again before the new start when its time
    is still ahead. When it has passed already, an announced move stands in for the reminder
    (subscribers were just told, inside the reminder's lead time). False, and nothing written,
    when the times are unchanged. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "reschedule maintenance")
    if window.cancelled_at is not None or window.status not in (IncidentStatus.SCHEDULED, *ACTIVE):
        raise ValidationError(
            "Only a scheduled window or one in progress can be rescheduled.", field="scheduled_for"
        )
    starts, ends = ensure_utc(scheduled_for), ensure_utc(scheduled_until)
    if window.scheduled_for == starts and window.scheduled_until == ends:
        return False
    now = utcnow()
    check_window(starts, ends, now=now)
    if window.status in ACTIVE and starts > now:
        raise ValidationError(
            "This window is in progress: its start cannot move into the future.", field="scheduled_for"
        )
    before = _times(window)
    if window.scheduled_for != starts:
        drop_pending_notices(
            session, window, (EventKind.MAINTENANCE_REMINDER,), reason="the maintenance was rescheduled"
        )
        remind_at = reminder_time(starts, _reminder_minutes(session, window))
        if remind_at is None or remind_at > now:
            window.scheduled_reminded_at = None
        elif (
            deliver_notifications
            and window.status is IncidentStatus.SCHEDULED
            and window.scheduled_reminded_at is None
        ):
            window.scheduled_reminded_at = now
    window.scheduled_for, window.scheduled_until = starts, ends
    window.updated_at = now
    after = _times(window)
    record_incident_change(
        session,
        window,
        actor,
        "maintenance.rescheduled",
        f"Rescheduled maintenance {window.name!r}",
        before=before,
        after=after,
    )
    if deliver_notifications:
        record_incident_notification(
            session, window, EventKind.MAINTENANCE_RESCHEDULED, payload={"before": before, "after": after}
        )
    return True


def update_window(
    session: Session,
    window: Incident,
    *,
    actor: Actor,
    name: str | None = None,
    component_ids: list[str] | tuple[str, ...] | None = None,
    remind_prior: bool | None = None,
    auto_in_progress: bool | None = None,
    auto_completed: bool | None = None,
    to_maintenance_state: bool | None = None,
    to_operational_state: bool | None = None,
    deliver_notifications_at_start: bool | None = None,
    deliver_notifications_at_end: bool | None = None,
) -> bool:
    """Change a window's details; an argument left None keeps its value.

    `component_ids` replaces the components covered. While the window is in progress, a newly
    covered component goes Under Maintenance and a dropped one back to Operational, when the
    window's transitions say so. False, and nothing written, when nothing changes. Flushes,
    never commits.
    """
    require_role(actor, STATUS_WRITERS, "edit maintenance")
    before = _window_state(window)
    if name is not None:
        window.name = _clean_name(name)
    flags = {
        "scheduled_remind_prior": remind_prior,
        "scheduled_auto_in_progress": auto_in_progress,
        "scheduled_auto_completed": auto_completed,
        "auto_transition_to_maintenance_state": to_maintenance_state,
        "auto_transition_to_operational_state": to_operational_state,
        "auto_transition_deliver_notifications_at_start": deliver_notifications_at_start,
        "auto_transition_deliver_notifications_at_end": deliver_notifications_at_end,
    }
    for attribute, value in flags.items():
        if value is not None:
            setattr(window, attribute, value)
    if component_ids is not None:
        _cover_components(session, window, list(component_ids), actor=actor)
    after = _window_state(window)
    if after == before:
        return False
    window.updated_at = utcnow()
    record_incident_change(
        session,
        window,
        actor,
        "maintenance.updated",
        f"Edited maintenance {window.name!r}",
        before=before,
        after=after,
        changes_only=True,
    )
    return True


def _cover_components(session: Session, window: Incident, component_ids: list[str], *, actor: Actor) -> None:
    components = load_components(session, window.page_id, component_ids)
    wanted = {c.id for c in components}
    live = window.status in ACTIVE and window.cancelled_at is None
    for link in list(window.affected):
        if link.component_id in wanted:
            continue
        component = link.component
        window.affected.remove(link)
        if (
            live
            and window.auto_transition_to_operational_state
            and component.status is ComponentStatus.UNDER_MAINTENANCE
        ):
            set_component_status(
                session,
                component,
                ComponentStatus.OPERATIONAL,
                actor=actor,
                incident_id=window.id,
                deliver_notifications=window.auto_transition_deliver_notifications_at_end,
            )
    covered = {link.component_id for link in window.affected}
    for component in components:
        if component.id in covered:
            continue
        window.affected.append(IncidentComponent(component_id=component.id, component=component))
        if live and window.auto_transition_to_maintenance_state:
            set_component_status(
                session,
                component,
                ComponentStatus.UNDER_MAINTENANCE,
                actor=actor,
                incident_id=window.id,
                deliver_notifications=window.auto_transition_deliver_notifications_at_start,
            )
    session.flush()


def cancel_window(
    session: Session,
    window: Incident,
    *,
    actor: Actor,
    body: str = "",
    deliver_notifications: bool = True,
) -> IncidentUpdate:
    """Cancel a window that has not started: it is closed with a final update; components untouched.

    A window in progress cannot be cancelled (complete it instead), nor one already closed:
    both are a ValidationError. Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "cancel maintenance")
    if window.cancelled_at is not None:
        raise ValidationError("This window is cancelled already.")
    if window.status in ACTIVE:
        raise ValidationError("A window in progress cannot be cancelled; complete it instead.")
    if window.status is not IncidentStatus.SCHEDULED:
        raise ValidationError("Only a scheduled window can be cancelled.")
    body = _clean_body(body) or CANCELLED_BODY
    now = utcnow()
    window.cancelled_at = now
    window.status = IncidentStatus.COMPLETED
    window.resolved_at = now
    window.updated_at = now
    update = IncidentUpdate(
        incident_id=window.id,
        status=IncidentStatus.COMPLETED,
        body=body,
        display_at=now,
        deliver_notifications=deliver_notifications,
        author_user_id=actor.user_id,
    )
    window.updates.insert(0, update)  # newest first, as the relationship loads them
    record_incident_change(
        session,
        window,
        actor,
        "maintenance.cancelled",
        f"Cancelled maintenance {window.name!r}",
        before={"status": IncidentStatus.SCHEDULED.value, "cancelled_at": None},
        after={"status": window.status.value, "cancelled_at": now.isoformat()},
    )
    drop_pending_notices(session, window, NOTICES_BEFORE_START, reason="the maintenance was cancelled")
    if deliver_notifications:
        record_incident_notification(session, window, EventKind.MAINTENANCE_CANCELLED, update=update)
    return update


def drop_pending_notices(
    session: Session, window: Incident, kinds: Iterable[EventKind], *, reason: str
) -> int:
    """Withdraw `window`'s notices of `kinds` that have not gone out; returns the deliveries cancelled.

    Deliveries still pending become cancelled with `reason` as their last error; one being sent
    or already sent stays as it is. Flushes, never commits.
    """
    kinds = list(kinds)
    now = utcnow()
    # Marked done with no fan-out: the fan-out job finds nothing to do for these events, so no
    # Delivery row is ever created for them.
    session.execute(
        update(NotificationEvent)
        .where(
            NotificationEvent.incident_id == window.id,
            NotificationEvent.kind.in_(kinds),
            NotificationEvent.fanout_status == FanoutStatus.PENDING,
        )
        .values(fanout_status=FanoutStatus.DONE, fanned_out_at=now)
        .execution_options(synchronize_session="fetch")
    )
    events = select(NotificationEvent.id).where(
        NotificationEvent.incident_id == window.id, NotificationEvent.kind.in_(kinds)
    )
    cancelled = session.execute(
        update(Delivery)
        .where(Delivery.event_id.in_(events), Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, last_error=reason, next_attempt_at=None, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(cancelled.rowcount)


def reminder_time(scheduled_for: datetime | None, minutes: int) -> datetime | None:
    """When subscribers are reminded of a window starting at `scheduled_for`: `minutes` before it
    (the page's lead time). None when there is no start, or the page sends no reminders (0)."""
    if scheduled_for is None or minutes <= 0:
        return None
    return scheduled_for - timedelta(minutes=minutes)


def reminder_due(window: Incident, minutes: int, *, now: datetime) -> bool:
    """Whether `window`'s reminder should go out at `now`, for a page whose lead time is `minutes`.

    The window asks for reminders, is still scheduled, not cancelled and not reminded yet; its
    reminder time has come and its start has not. A window announced after its reminder time
    (scheduled ten minutes ahead, say) gets none: its announcement told subscribers already.
    """
    remind_at = reminder_time(window.scheduled_for, minutes)
    return (
        remind_at is not None
        and window.scheduled_for is not None
        and window.kind is IncidentKind.MAINTENANCE
        and window.scheduled_remind_prior
        and window.status is IncidentStatus.SCHEDULED
        and window.cancelled_at is None
        and window.scheduled_reminded_at is None
        and window.started_at < remind_at <= now < window.scheduled_for
    )


def remind_window(session: Session, window: Incident, *, actor: Actor) -> bool:
    """Remind subscribers that `window` starts soon, when reminder_due says it is time. At most once.

    Sets scheduled_reminded_at and writes the reminder to the outbox together; the row changes
    only if it was not reminded yet, so a second run, or a concurrent one, writes nothing and
    answers False (as it does when the reminder is not due). Flushes, never commits.
    """
    require_role(actor, STATUS_WRITERS, "remind subscribers of maintenance")
    minutes = _reminder_minutes(session, window)
    now = utcnow()
    if not reminder_due(window, minutes, now=now):
        return False
    claimed = session.execute(
        update(Incident)
        .where(
            Incident.id == window.id,
            Incident.status == IncidentStatus.SCHEDULED,
            Incident.cancelled_at.is_(None),
            Incident.scheduled_remind_prior.is_(True),
            Incident.scheduled_reminded_at.is_(None),
            Incident.scheduled_for == window.scheduled_for,
        )
        # A reminder is not an edit of the window: updated_at keeps its value.
        .values(scheduled_reminded_at=now, updated_at=Incident.updated_at)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:
        return False
    session.expire(window, ["scheduled_reminded_at"])
    record_incident_change(
        session,
        window,
        actor,
        "maintenance.reminded",
        f"Reminded subscribers of maintenance {window.name!r}",
        after={"scheduled_reminded_at": now.isoformat(), "minutes_before": minutes},
        bump=False,
    )
    record_incident_notification(
        session,
        window,
        EventKind.MAINTENANCE_REMINDER,
        # The start it reminds of: a reminder still waiting when the window moves is not sent.
        payload={
            "minutes_before": minutes,
            "scheduled_for": window.scheduled_for.isoformat() if window.scheduled_for else None,
        },
    )
    return True


def _reminder_minutes(session: Session, window: Incident) -> int:
    page = session.get(Page, window.page_id)
    return page.maintenance_reminder_minutes if page is not None else 0


def _times(window: Incident) -> dict[str, Any]:
    return {
        "scheduled_for": window.scheduled_for.isoformat() if window.scheduled_for else None,
        "scheduled_until": window.scheduled_until.isoformat() if window.scheduled_until else None,
    }


def _window_state(window: Incident) -> dict[str, Any]:
    return {
        "name": window.name,
        "components": sorted(link.component_id for link in window.affected),
        "remind_prior": window.scheduled_remind_prior,
        "auto_in_progress": window.scheduled_auto_in_progress,
        "auto_completed": window.scheduled_auto_completed,
        "to_maintenance_state": window.auto_transition_to_maintenance_state,
        "to_operational_state": window.auto_transition_to_operational_state,
        "notify_at_start": window.auto_transition_deliver_notifications_at_start,
        "notify_at_end": window.auto_transition_deliver_notifications_at_end,
    }

"""Incidents and scheduled maintenance (both are incidents, as in Statuspage's API): the lists, create
(realtime, scheduled or backfilled), get, update, delete, and corrections of past updates.

Every write calls the services the admin screens call, the same way, so the public page, the audit
log and the subscribers' notices are the same whichever side made the change.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g

from admin_ui.api.body import ApiError, Fields, envelope, invalid, page_size, pagination, query
from admin_ui.api.common import commit, current_page, on_page, rename_fields
from admin_ui.api.serializers import COMPONENT_STATUSES, component_json
from admin_ui.api.spec import (
    DATE_TIME,
    NULLABLE_DATE_TIME,
    PAGE_ID,
    PAGINATION,
    Param,
    array_of,
    nullable,
    operation,
    ref,
    schema,
)
from status_platform.db.session import db
from status_platform.errors import ValidationError
from status_platform.timeutil import utcnow
from tenants.components.models import ComponentStatus
from tenants.incidents.models import (
    INCIDENT_STATUSES,
    MAINTENANCE_STATUSES,
    Impact,
    Incident,
    IncidentKind,
    IncidentStatus,
    IncidentUpdate,
)
from tenants.incidents.queries import search_incidents, select_incidents
from tenants.incidents.services import (
    MAX_BODY,
    MAX_REMINDER_INTERVALS,
    affect_components,
    edit_update,
    load_components,
    open_incident,
    post_update,
    update_incident,
)
from tenants.incidents.services import delete_incident as remove_incident
from tenants.maintenance.services import (
    post_window_update,
    reschedule_window,
    schedule_window,
    update_window,
)
from tenants.pages.services import route_of
from tenants.pages.snapshot import iso

TAG = "Incidents"
MAX_NAME = 255
MAX_QUERY = 255

STATUS_VALUES = [status.value for status in IncidentStatus]
REQUEST_STATUSES = (*INCIDENT_STATUSES, *MAINTENANCE_STATUSES)
IMPACT_VALUES = [impact.value for impact in Impact]

# --- objects ------------------------------------------------------------------------------------

AFFECTED_COMPONENT = {
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "The component's id."},
        "name": {"type": "string"},
        "old_status": nullable("string", enum=[*COMPONENT_STATUSES, None]),
        "new_status": {"type": "string", "enum": COMPONENT_STATUSES},
    },
    "required": ["code", "name", "old_status", "new_status"],
    "additionalProperties": False,
}

INCIDENT_UPDATE = schema(
    "IncidentUpdate",
    {
        "id": {"type": "string"},
        "incident_id": {"type": "string"},
        "affected_components": nullable(
            {"type": "array", "items": AFFECTED_COMPONENT},
            description="The component statuses this update changed; null when it changed none.",
        ),
        "body": {"type": "string"},
        "created_at": DATE_TIME,
        "custom_tweet": {"type": "null"},
        "deliver_notifications": {"type": "boolean"},
        "display_at": DATE_TIME,
        "status": {"type": "string", "enum": STATUS_VALUES},
        "tweet_id": {"type": "null"},
        "twitter_updated_at": {"type": "null"},
        "updated_at": DATE_TIME,
        "wants_twitter_update": {"type": "boolean", "description": "Always false: there is no Twitter."},
    },
)

_MAINTENANCE_FLAG = nullable("boolean", description="Null for a realtime incident.")

INCIDENT = schema(
    "Incident",
    {
        "id": {"type": "string"},
        "components": {**array_of("Component"), "description": "The components it affects (or covers)."},
        "created_at": DATE_TIME,
        "impact": {"type": "string", "enum": IMPACT_VALUES},
        "impact_override": nullable("string", enum=[*IMPACT_VALUES, None]),
        "incident_updates": {**array_of("IncidentUpdate"), "description": "Newest first."},
        "metadata": {"type": "object", "additionalProperties": {"type": "object"}},
        "monitoring_at": NULLABLE_DATE_TIME,
        "name": {"type": "string"},
        "page_id": {"type": "string"},
        "postmortem_body": nullable("string", description="The published postmortem, else null."),
        "postmortem_body_last_updated_at": NULLABLE_DATE_TIME,
        "postmortem_ignored": {"type": "boolean"},
        "postmortem_notified_subscribers": {"type": "boolean"},
        "postmortem_notified_twitter": {
            "type": "boolean",
            "description": "Always false: there is no Twitter.",
        },
        "postmortem_published_at": NULLABLE_DATE_TIME,
        "resolved_at": NULLABLE_DATE_TIME,
        "scheduled_auto_completed": {"type": "boolean"},
        "scheduled_auto_in_progress": {"type": "boolean"},
        "scheduled_for": NULLABLE_DATE_TIME,
        "auto_transition_deliver_notifications_at_end": _MAINTENANCE_FLAG,
        "auto_transition_deliver_notifications_at_start": _MAINTENANCE_FLAG,
        "auto_transition_to_maintenance_state": _MAINTENANCE_FLAG,
        "auto_transition_to_operational_state": _MAINTENANCE_FLAG,
        "scheduled_remind_prior": {"type": "boolean"},
        "scheduled_reminded_at": NULLABLE_DATE_TIME,
        "scheduled_until": NULLABLE_DATE_TIME,
        "shortlink": {"type": "string", "description": "The incident's address on the public page."},
        "status": {"type": "string", "enum": STATUS_VALUES},
        "updated_at": DATE_TIME,
        "reminder_intervals": nullable("string"),
    },
)


def update_json(update: IncidentUpdate) -> dict[str, Any]:
    changes = [
        {
            "code": change.component_id or "",
            "name": change.component_name,
            "old_status": change.old_status.value if change.old_status else None,
            "new_status": change.new_status.value,
        }
        for change in update.component_changes
    ]
    return {
        "id": update.id,
        "incident_id": update.incident_id,
        "affected_components": changes or None,
        "body": update.body,
        "created_at": iso(update.created_at),
        "custom_tweet": None,
        "deliver_notifications": update.deliver_notifications,
        "display_at": iso(update.display_at),
        "status": update.status.value,
        "tweet_id": None,
        "twitter_updated_at": None,
        "updated_at": iso(update.updated_at),
        "wants_twitter_update": False,
    }


def public_url() -> str:
    """The address of the path's page, as its public site builds incident links."""
    settings = current_app.config["SETTINGS"]
    route = route_of(db, current_page())
    return route.public_url(settings)


def incident_json(incident: Incident, *, page_url: str) -> dict[str, Any]:
    is_window = incident.kind is IncidentKind.MAINTENANCE
    published = incident.postmortem_published_at is not None
    components = sorted(
        (link.component for link in incident.affected),
        key=lambda component: (component.position, component.created_at, component.id),
    )
    updates = sorted(incident.updates, key=lambda u: (u.display_at, u.created_at, u.id), reverse=True)
    return {
        "id": incident.id,
        "components": [component_json(component) for component in components],
        "created_at": iso(incident.created_at),
        "impact": incident.impact.value,
        "impact_override": incident.impact_override.value if incident.impact_override else None,
        "incident_updates": [update_json(update) for update in updates],
        "metadata": incident.metadata_ or {},
        "monitoring_at": iso(incident.monitoring_at),
        "name": incident.name,
        "page_id": incident.page_id,
        "postmortem_body": incident.postmortem_body if published else None,
        "postmortem_body_last_updated_at": iso(incident.postmortem_body_updated_at) if published else None,
        "postmortem_ignored": incident.postmortem_is_ignored,
        "postmortem_notified_subscribers": incident.postmortem_notified_subscribers,
        "postmortem_notified_twitter": False,
        "postmortem_published_at": iso(incident.postmortem_published_at),
        "resolved_at": iso(incident.resolved_at),
        "scheduled_auto_completed": is_window and incident.scheduled_auto_completed,
        "scheduled_auto_in_progress": is_window and incident.scheduled_auto_in_progress,
        "scheduled_for": iso(incident.scheduled_for),
        "auto_transition_deliver_notifications_at_end": incident.auto_transition_deliver_notifications_at_end
        if is_window
        else None,
        "auto_transition_deliver_notifications_at_start": (
            incident.auto_transition_deliver_notifications_at_start if is_window else None
        ),
        "auto_transition_to_maintenance_state": incident.auto_transition_to_maintenance_state
        if is_window
        else None,
        "auto_transition_to_operational_state": incident.auto_transition_to_operational_state
        if is_window
        else None,
        "scheduled_remind_prior": is_window and incident.scheduled_remind_prior,
        "scheduled_reminded_at": iso(incident.scheduled_reminded_at),
        "scheduled_until": iso(incident.scheduled_until),
        "shortlink": f"{page_url}/incidents/{incident.id}",
        "status": incident.status.value,
        "updated_at": iso(incident.updated_at),
        "reminder_intervals": incident.reminder_intervals,
    }


# --- request bodies -----------------------------------------------------------------------------

_FLAG = {"type": "boolean"}
INCIDENT_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": MAX_NAME},
    "status": {
        "type": "string",
        "enum": [status.value for status in REQUEST_STATUSES],
        "description": "investigating, identified, monitoring or resolved for a realtime incident; "
        "scheduled, in_progress, verifying or completed for maintenance (a maintenance created in "
        "progress or completed is scheduled, then moved on at once).",
    },
    "impact_override": nullable("string", enum=[*IMPACT_VALUES, None]),
    "body": {"type": "string", "maxLength": MAX_BODY, "description": "The message of the update."},
    "components": {
        "type": "object",
        "additionalProperties": {"type": "string", "enum": COMPONENT_STATUSES},
        "description": "Component id -> the status this update gives it (the component is then "
        "affected). A maintenance window that is, and stays, scheduled covers the components and "
        "leaves their statuses for its start.",
    },
    "component_ids": {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 64},
        "description": "Components affected without a status change. On an update of an incident they "
        "are added; of a maintenance window they replace the components it covers.",
    },
    "deliver_notifications": {**_FLAG, "default": True},
    "metadata": {
        "type": "object",
        "additionalProperties": {"type": "object"},
        "description": "Replaces the incident's metadata; every top-level value is an object.",
    },
    "reminder_intervals": nullable(
        "string",
        maxLength=MAX_REMINDER_INTERVALS,
        description='Hours between reminders of an open incident: "4", "[1, 5, 7, 10]", "[]" or null '
        "(the default, 3, 6, 12 and 24). Not used by maintenance.",
    ),
    "scheduled_for": {"type": "string", "format": "date-time"},
    "scheduled_until": {"type": "string", "format": "date-time"},
    "scheduled_remind_prior": _FLAG,
    "scheduled_auto_in_progress": _FLAG,
    "scheduled_auto_transition": {**_FLAG, "description": "The same as scheduled_auto_in_progress."},
    "scheduled_auto_completed": _FLAG,
    "auto_transition_to_maintenance_state": _FLAG,
    "auto_transition_to_operational_state": _FLAG,
    "auto_transition_deliver_notifications_at_start": _FLAG,
    "auto_transition_deliver_notifications_at_end": _FLAG,
    "backfilled": {**_FLAG, "description": "A past incident, resolved at backfill_date; nobody is notified."},
    "backfill_date": {
        "type": "string",
        "description": "When the backfilled incident happened: a date-time with its zone, or a date "
        "(midnight in the page's time zone).",
    },
    **{
        name: {**_FLAG, "description": "Accepted and ignored: there is no Twitter."}
        for name in (
            "auto_tweet_at_beginning",
            "auto_tweet_on_completion",
            "auto_tweet_on_creation",
            "auto_tweet_one_hour_before",
        )
    },
}

CREATE_BODY = {
    "type": "object",
    "properties": {
        "incident": {"type": "object", "properties": INCIDENT_FIELDS, "required": ["name"]},
    },
    "required": ["incident"],
}
UPDATE_BODY = {
    "type": "object",
    "properties": {"incident": {"type": "object", "properties": INCIDENT_FIELDS}},
    "required": ["incident"],
}
INCIDENT_UPDATE_BODY = {
    "type": "object",
    "properties": {
        "incident_update": {
            "type": "object",
            "properties": {
                "body": {"type": "string", "maxLength": MAX_BODY},
                "display_at": {"type": "string", "format": "date-time"},
                "deliver_notifications": {
                    **_FLAG,
                    "description": "The update's notification flag; a correction itself notifies nobody.",
                },
                "wants_twitter_update": {
                    **_FLAG,
                    "description": "Accepted and ignored: there is no Twitter.",
                },
            },
        }
    },
    "required": ["incident_update"],
}

INCIDENT_ID = Param("incident_id", "path", {"type": "string"}, "The incident's id.", required=True)
UPDATE_ID = Param("incident_update_id", "path", {"type": "string"}, "The update's id.", required=True)


# --- reading the body ---------------------------------------------------------------------------


def _component_changes(fields: Fields) -> dict[str, ComponentStatus]:
    raw = fields.mapping("components", default={})
    changes: dict[str, ComponentStatus] = {}
    names = ", ".join(COMPONENT_STATUSES)
    for component_id, value in raw.items():
        if not isinstance(value, str) or value not in COMPONENT_STATUSES:
            raise invalid(
                f"The status of component {component_id} must be one of {names}; got {value!r}.",
                field=fields.path("components"),
            )
        changes[component_id] = ComponentStatus(value)
    return changes


def _check_components(fields: Fields, name: str, component_ids: list[str]) -> None:
    """Refuse an id that is not one of the page's components, naming the field that gave it."""
    try:
        load_components(db, current_page().id, component_ids)
    except ValidationError as error:
        raise invalid(error.message, field=fields.path(name)) from None


def _reminder_intervals(fields: Fields) -> str | None:
    """The given intervals; "" when set to null (back to the default); None when not given."""
    if not fields.has("reminder_intervals"):
        return None
    return fields.text("reminder_intervals", max_length=MAX_REMINDER_INTERVALS) or ""


def _auto_in_progress(fields: Fields, default: bool | None = None) -> bool | None:
    """`scheduled_auto_in_progress`, else its alias `scheduled_auto_transition`, else `default`."""
    value = fields.boolean("scheduled_auto_in_progress")
    return fields.boolean("scheduled_auto_transition", default=default) if value is None else value


def _moment(fields: Fields, name: str, stored: datetime | None) -> Any:
    """The time given as `name`, or `stored` when it is not given or is `stored` as the API shows
    it (to the millisecond): a client sending back what it read changes nothing."""
    given = fields.timestamp(name)
    if given is None or (stored is not None and iso(given) == iso(stored)):
        return stored
    return given


def _backfill_date(fields: Fields) -> datetime:
    raw = fields.raw("backfill_date")
    if raw in (None, ""):
        raise invalid(
            "incident.backfill_date is required for a backfilled incident.",
            field=fields.path("backfill_date"),
        )
    if isinstance(raw, str) and len(raw.strip()) == 10:
        day = fields.day("backfill_date")
        if day.year < 1970:
            raise invalid("incident.backfill_date must be after 1970.", field=fields.path("backfill_date"))
        return datetime.combine(day, time(), tzinfo=ZoneInfo(current_page().time_zone))
    value: datetime = fields.timestamp("backfill_date")
    return value


# --- lists --------------------------------------------------------------------------------------


@operation(
    "GET",
    "/pages/<page_id>/incidents",
    summary="List the page's incidents and maintenance, newest first",
    tag=TAG,
    params=(
        PAGE_ID,
        Param(
            "q",
            "query",
            {"type": "string", "maxLength": MAX_QUERY},
            "Only those with this text in the name, the status, an update or the published postmortem.",
        ),
        Param(
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 100},
            "Results per page: at most 100 (a larger value is taken as 100).",
        ),
        Param(
            "page",
            "query",
            {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
            "Page of results, from 1.",
        ),
    ),
    responses={200: array_of("Incident")},
)
def list_incidents() -> list[dict[str, Any]]:
    args = query()
    text = args.text("q", max_length=MAX_QUERY) or ""
    # A search for control characters finds what a search without them finds.
    text = "".join(ch for ch in text if ch >= " ")
    limit = page_size(args, "limit")
    number = args.integer("page", minimum=1, maximum=1_000_000, default=1)
    rows = search_incidents(db, current_page().id, text=text, number=number, per_page=limit)
    url = public_url()
    return [incident_json(incident, page_url=url) for incident in rows]


def _selection(selection: str) -> list[dict[str, Any]]:
    number, per_page = pagination()
    rows = select_incidents(db, current_page().id, selection, number=number, per_page=per_page)
    url = public_url()
    return [incident_json(incident, page_url=url) for incident in rows]


@operation(
    "GET",
    "/pages/<page_id>/incidents/unresolved",
    summary="List the open (unresolved) incidents, newest first",
    tag=TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Incident")},
)
def list_unresolved_incidents() -> list[dict[str, Any]]:
    return _selection("unresolved")


@operation(
    "GET",
    "/pages/<page_id>/incidents/scheduled",
    summary="List the maintenance windows scheduled and not started, soonest first",
    tag=TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Incident")},
)
def list_scheduled_incidents() -> list[dict[str, Any]]:
    return _selection("scheduled")


@operation(
    "GET",
    "/pages/<page_id>/incidents/upcoming",
    summary="List the maintenance windows scheduled to start in the future, soonest first",
    tag=TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Incident")},
)
def list_upcoming_incidents() -> list[dict[str, Any]]:
    return _selection("upcoming")


@operation(
    "GET",
    "/pages/<page_id>/incidents/active_maintenance",
    summary="List the maintenance windows in progress or verifying",
    tag=TAG,
    params=(PAGE_ID, *PAGINATION),
    responses={200: array_of("Incident")},
)
def list_active_maintenance() -> list[dict[str, Any]]:
    return _selection("active_maintenance")


# --- create -------------------------------------------------------------------------------------


def _advance_window(
    window: Incident,
    status: IncidentStatus,
    *,
    body: str,
    deliver: bool,
    components: dict[str, ComponentStatus],
) -> None:
    """Post `window`'s update to `status`; a window that never started is started first (with the
    default message, telling nobody), since a window is verified or completed only once started."""
    if window.status is IncidentStatus.SCHEDULED and status in (
        IncidentStatus.VERIFYING,
        IncidentStatus.COMPLETED,
    ):
        post_window_update(
            db, window, actor=g.actor, status=IncidentStatus.IN_PROGRESS, deliver_notifications=False
        )
    post_window_update(
        db,
        window,
        actor=g.actor,
        status=status,
        body=body,
        deliver_notifications=deliver,
        components=components or None,
    )


def _schedule(
    fields: Fields,
    *,
    name: str,
    status: IncidentStatus,
    body: str,
    changes: dict[str, ComponentStatus],
    component_ids: list[str],
    deliver: bool,
    impact_override: Impact | None,
    metadata: dict[str, Any] | None,
) -> Incident:
    starts = fields.timestamp("scheduled_for")
    ends = fields.timestamp("scheduled_until")
    if ends is None:
        raise invalid("Maintenance needs incident.scheduled_until.", field=fields.path("scheduled_until"))
    later = status is not IncidentStatus.SCHEDULED
    if starts is None:
        if not later:
            raise invalid(
                "Scheduled maintenance needs incident.scheduled_for.", field=fields.path("scheduled_for")
            )
        starts = utcnow()
    elif later and starts > utcnow():
        raise invalid(
            f"A maintenance created {status.label.lower()} has started: "
            "its scheduled_for cannot be in the future.",
            field=fields.path("scheduled_for"),
        )
    window = schedule_window(
        db,
        current_page(),
        name=name,
        scheduled_for=starts,
        scheduled_until=ends,
        actor=g.actor,
        body="" if later else body,
        component_ids=list(dict.fromkeys([*component_ids, *changes])),
        # A window created already started tells subscribers of the state it is in, once.
        deliver_notifications=deliver and not later,
        remind_prior=fields.boolean("scheduled_remind_prior", default=True),
        auto_in_progress=_auto_in_progress(fields, default=True),
        auto_completed=fields.boolean("scheduled_auto_completed", default=True),
        to_maintenance_state=fields.boolean("auto_transition_to_maintenance_state"),
        to_operational_state=fields.boolean("auto_transition_to_operational_state"),
        deliver_notifications_at_start=fields.boolean(
            "auto_transition_deliver_notifications_at_start", default=deliver
        ),
        deliver_notifications_at_end=fields.boolean(
            "auto_transition_deliver_notifications_at_end", default=deliver
        ),
        impact_override=impact_override,
        metadata=metadata,
    )
    if later:
        _advance_window(window, status, body=body, deliver=deliver, components=changes)
    return window


@operation(
    "POST",
    "/pages/<page_id>/incidents",
    summary="Create an incident, a scheduled maintenance or a backfilled (past) incident",
    tag=TAG,
    params=(PAGE_ID,),
    body=CREATE_BODY,
    responses={201: ref("Incident")},
)
def create_incident() -> tuple[dict[str, Any], int]:
    page = current_page()
    fields = envelope("incident")
    rename_fields(impact="impact_override")
    name = fields.text("name", max_length=MAX_NAME, required=True)
    status = fields.choice("status", IncidentStatus, allowed=REQUEST_STATUSES)
    impact_override = fields.choice("impact_override", Impact)
    body = fields.text("body", max_length=MAX_BODY) or ""
    changes = _component_changes(fields)
    component_ids = fields.ids("component_ids", default=[])
    deliver = fields.boolean("deliver_notifications", default=True)
    metadata = fields.mapping("metadata")
    reminder_intervals = _reminder_intervals(fields) or None
    if fields.boolean("backfilled", default=False):
        for given in ("components", "component_ids"):
            if fields.raw(given):
                raise invalid("A backfilled incident cannot set components.", field=fields.path(given))
        incident = open_incident(
            db,
            page,
            name=name,
            actor=g.actor,
            status=IncidentStatus.RESOLVED,
            body=body,
            impact_override=impact_override,
            deliver_notifications=False,
            backfill_at=_backfill_date(fields),
            metadata=metadata,
            reminder_intervals=reminder_intervals,
        )
    else:
        _check_components(fields, "components", list(changes))
        _check_components(fields, "component_ids", component_ids)
        if status is None:
            status = IncidentStatus.SCHEDULED if fields.raw("scheduled_for") else IncidentStatus.INVESTIGATING
        if status in MAINTENANCE_STATUSES:
            incident = _schedule(
                fields,
                name=name,
                status=status,
                body=body,
                changes=changes,
                component_ids=component_ids,
                deliver=deliver,
                impact_override=impact_override,
                metadata=metadata,
            )
        else:
            incident = open_incident(
                db,
                page,
                name=name,
                actor=g.actor,
                status=status,
                body=body,
                components=changes,
                component_ids=component_ids,
                impact_override=impact_override,
                deliver_notifications=deliver,
                metadata=metadata,
                reminder_intervals=reminder_intervals,
            )
    commit()
    return incident_json(incident, page_url=public_url()), 201


# --- one incident -------------------------------------------------------------------------------


def load_incident(incident_id: str) -> Incident:
    """The path's incident (or maintenance window) of the path's page, else 404."""
    return on_page(
        Incident, incident_id, message="There is no incident with this id on this page.", field="incident_id"
    )


@operation(
    "GET",
    "/pages/<page_id>/incidents/<incident_id>",
    summary="Get an incident",
    tag=TAG,
    params=(PAGE_ID, INCIDENT_ID),
    responses={200: ref("Incident")},
)
def get_incident(incident_id: str) -> dict[str, Any]:
    return incident_json(load_incident(incident_id), page_url=public_url())


def _update_realtime(
    incident: Incident,
    *,
    status: IncidentStatus | None,
    body: str,
    changes: dict[str, ComponentStatus],
    component_ids: list[str] | None,
    deliver: bool,
) -> None:
    if component_ids:
        affect_components(db, incident, component_ids, actor=g.actor)
    # As the admin screen posts it: statuses already in place are no change, and resolving sets
    # the other affected components back to Operational.
    current = {link.component_id: link.component.status for link in incident.affected}
    changes = {cid: new for cid, new in changes.items() if current.get(cid) is not new}
    if status is IncidentStatus.RESOLVED and status is not incident.status:
        for component_id, now in current.items():
            if component_id not in changes and now is not ComponentStatus.OPERATIONAL:
                changes[component_id] = ComponentStatus.OPERATIONAL
    if body.strip() or (status is not None and status is not incident.status) or changes:
        post_update(
            db,
            incident,
            actor=g.actor,
            status=status,
            body=body,
            components=changes,
            deliver_notifications=deliver,
            restore_components=False,
        )


def _update_window(
    window: Incident,
    fields: Fields,
    *,
    status: IncidentStatus | None,
    body: str,
    changes: dict[str, ComponentStatus],
    component_ids: list[str] | None,
    deliver: bool,
) -> None:
    if status is not None and status not in MAINTENANCE_STATUSES:
        names = ", ".join(s.value for s in MAINTENANCE_STATUSES)
        raise invalid(f"The status of a maintenance window is one of {names}.", field=fields.path("status"))
    if changes and (status or window.status) is IncidentStatus.SCHEDULED:
        # A window that has not started covers the components; their statuses wait for its start.
        covered = (
            component_ids if component_ids is not None else [link.component_id for link in window.affected]
        )
        component_ids = list(dict.fromkeys([*covered, *changes]))
        changes = {}
    update_window(
        db,
        window,
        actor=g.actor,
        name=fields.text("name", max_length=MAX_NAME),
        component_ids=component_ids,
        remind_prior=fields.boolean("scheduled_remind_prior"),
        auto_in_progress=_auto_in_progress(fields),
        auto_completed=fields.boolean("scheduled_auto_completed"),
        to_maintenance_state=fields.boolean("auto_transition_to_maintenance_state"),
        to_operational_state=fields.boolean("auto_transition_to_operational_state"),
        deliver_notifications_at_start=fields.boolean("auto_transition_deliver_notifications_at_start"),
        deliver_notifications_at_end=fields.boolean("auto_transition_deliver_notifications_at_end"),
    )
    starts = _moment(fields, "scheduled_for", window.scheduled_for)
    ends = _moment(fields, "scheduled_until", window.scheduled_until)
    if (starts, ends) != (window.scheduled_for, window.scheduled_until):
        reschedule_window(
            db,
            window,
            actor=g.actor,
            scheduled_for=starts,
            scheduled_until=ends,
            deliver_notifications=deliver,
        )
    if body.strip() or (status is not None and status is not window.status) or changes:
        _advance_window(window, status or window.status, body=body, deliver=deliver, components=changes)


def _update_incident(incident_id: str) -> dict[str, Any]:
    incident = load_incident(incident_id)
    fields = envelope("incident")
    rename_fields(impact="impact_override")
    name = fields.text("name", max_length=MAX_NAME)
    status = fields.choice("status", IncidentStatus, allowed=REQUEST_STATUSES)
    impact_override = fields.choice("impact_override", Impact)
    body = fields.text("body", max_length=MAX_BODY) or ""
    changes = _component_changes(fields)
    component_ids = fields.ids("component_ids")
    deliver = fields.boolean("deliver_notifications", default=True)
    metadata = fields.mapping("metadata")
    reminder_intervals = _reminder_intervals(fields)
    _check_components(fields, "components", list(changes))
    _check_components(fields, "component_ids", component_ids or [])
    is_window = incident.kind is IncidentKind.MAINTENANCE
    # The title of a window is edited with its other details (update_window), as on its admin screen.
    edits_title = name is not None and not is_window
    if (
        edits_title
        or fields.has("impact_override")
        or metadata is not None
        or (reminder_intervals is not None and not is_window)
    ):
        update_incident(
            db,
            incident,
            actor=g.actor,
            name=name if edits_title else incident.name,
            impact_override=impact_override if fields.has("impact_override") else incident.impact_override,
            incident_type_id=incident.incident_type_id,
            metadata=metadata,
            reminder_intervals=None if is_window else reminder_intervals,
        )
    arguments = {
        "status": status,
        "body": body,
        "changes": changes,
        "component_ids": component_ids,
        "deliver": deliver,
    }
    if is_window:
        _update_window(incident, fields, **arguments)
    else:
        _update_realtime(incident, **arguments)
    commit()
    return incident_json(incident, page_url=public_url())


@operation(
    "PATCH",
    "/pages/<page_id>/incidents/<incident_id>",
    summary="Update an incident: post an update, edit it, reschedule a maintenance",
    tag=TAG,
    params=(PAGE_ID, INCIDENT_ID),
    body=UPDATE_BODY,
    responses={200: ref("Incident")},
)
def patch_incident(incident_id: str) -> dict[str, Any]:
    return _update_incident(incident_id)


@operation(
    "PUT",
    "/pages/<page_id>/incidents/<incident_id>",
    summary="Update an incident: post an update, edit it, reschedule a maintenance",
    tag=TAG,
    params=(PAGE_ID, INCIDENT_ID),
    body=UPDATE_BODY,
    responses={200: ref("Incident")},
)
def put_incident(incident_id: str) -> dict[str, Any]:
    return _update_incident(incident_id)


@operation(
    "DELETE",
    "/pages/<page_id>/incidents/<incident_id>",
    summary="Delete an incident (or maintenance) with its updates",
    tag=TAG,
    params=(PAGE_ID, INCIDENT_ID),
    responses={200: ref("Incident")},
)
def delete_incident(incident_id: str) -> dict[str, Any]:
    incident = load_incident(incident_id)
    deleted = incident_json(incident, page_url=public_url())
    remove_incident(db, incident, actor=g.actor)
    commit()
    return deleted


# --- past updates -------------------------------------------------------------------------------


def _edit_update(incident_id: str, incident_update_id: str) -> dict[str, Any]:
    incident = load_incident(incident_id)
    update = db.get(IncidentUpdate, incident_update_id)
    if update is None or update.incident_id != incident.id:
        raise ApiError(404, "There is no such update of this incident.", field="incident_update_id")
    fields = envelope("incident_update")
    body = fields.text("body", max_length=MAX_BODY)
    display_at = _moment(fields, "display_at", update.display_at)
    deliver = fields.boolean("deliver_notifications")
    fields.boolean("wants_twitter_update")  # checked, as Statuspage's clients send it; there is no Twitter
    edit_update(
        db,
        update,
        actor=g.actor,
        body=update.body if body is None else body,
        display_at=display_at,
        deliver_notifications=deliver,
    )
    commit()
    return update_json(update)


@operation(
    "PATCH",
    "/pages/<page_id>/incidents/<incident_id>/incident_updates/<incident_update_id>",
    summary="Correct a previous update's message or display time",
    tag=TAG,
    params=(PAGE_ID, INCIDENT_ID, UPDATE_ID),
    body=INCIDENT_UPDATE_BODY,
    responses={200: ref("IncidentUpdate")},
)
def patch_incident_update(incident_id: str, incident_update_id: str) -> dict[str, Any]:
    return _edit_update(incident_id, incident_update_id)


@operation(
    "PUT",
    "/pages/<page_id>/incidents/<incident_id>/incident_updates/<incident_update_id>",
    summary="Correct a previous update's message or display time",
    tag=TAG,
    params=(PAGE_ID, INCIDENT_ID, UPDATE_ID),
    body=INCIDENT_UPDATE_BODY,
    responses={200: ref("IncidentUpdate")},
)
def put_incident_update(incident_id: str, incident_update_id: str) -> dict[str, Any]:
    return _edit_update(incident_id, incident_update_id)

"""Scheduled maintenance of a page: list, schedule (from a template), show, update, edit and cancel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.audiences import component_audiences, flash_span_warning
from admin_ui.formatting import input_datetime
from admin_ui.forms import errors_of, flag, page_number, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError, ValidationError
from status_platform.identity.permissions import STATUS_WRITERS
from status_platform.text import render_markdown
from status_platform.validation import clean_local_datetime
from tenants.components.services import top_level_items
from tenants.incidents import queries as incident_queries
from tenants.incidents.models import Incident, IncidentKind, IncidentStatus, Template
from tenants.maintenance import queries, services
from tenants.maintenance.schemas import (
    check_window,
    clean_local_window,
    clean_maintenance_status,
    next_statuses,
)

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")

# Checkboxes of the schedule form (all checked for a new window) and of the edit form.
SCHEDULE_FLAGS = (
    "auto_in_progress",
    "auto_completed",
    "auto_transition_components",
    "remind_prior",
    "deliver_notifications",
)
EDIT_FLAGS = (
    "auto_in_progress",
    "auto_completed",
    "auto_transition_components",
    "remind_prior",
    "notify_at_start",
    "notify_at_end",
    "notify_reschedule",
)


def _window(incident_id: str) -> Incident:
    window = db.get(Incident, incident_id)
    if window is None or window.page_id != g.page.id or window.kind is not IncidentKind.MAINTENANCE:
        abort(404)
    return window


def _component_ids() -> list[str]:
    return [value for value in request.form.getlist("components") if value]


def _typed_time(raw: str, stored: datetime | None, zone: str, *, field: str, label: str) -> datetime:
    """The moment a time field names: the stored one while the field still shows it, else as typed.

    The form shows the stored time in the page's zone to the minute. Comparing that text, not a
    parse of it, keeps an untouched window where it is: with its seconds, and in the hour the
    autumn clock change repeats, which a parse reads as the first of the two.
    """
    if stored is not None and raw.strip() == input_datetime(stored, zone):
        return stored
    return clean_local_datetime(raw, zone, field=field, label=label)


def _utc_hint(raw: str, zone: str, stored: datetime | None = None) -> str:
    """'= Jan 12, 2027 14:00 UTC' beside a typed local time, or nothing while it does not parse."""
    try:
        moment = _typed_time(raw, stored, zone, field="hint", label="Time")
    except ValidationError:
        return ""
    return "= " + moment.astimezone(UTC).strftime("%b %-d, %Y %H:%M UTC")


def _render_form(
    window: Incident | None, values: dict[str, Any], errors: dict[str, str] | None = None
) -> str:
    zone = g.page.time_zone
    return render_template(
        "admin/maintenance/form.html",
        window=window,
        values=values,
        errors=errors or {},
        zone=zone,
        layout=top_level_items(db, g.page.id),
        templates=_maintenance_templates() if window is None else [],
        hints={
            name: _utc_hint(values.get(name, ""), zone, getattr(window, name) if window else None)
            for name in ("scheduled_for", "scheduled_until")
        },
        reschedulable=window is None or _reschedulable(window),
        audiences=component_audiences(),
    )


def _maintenance_templates() -> list[Template]:
    return incident_queries.templates_of(db, g.page.id, kind=IncidentKind.MAINTENANCE)[0]


def _chosen_template() -> Template | None:
    """The page's maintenance template named by ?template= (a foreign or unknown one is said so)."""
    template_id = request.args.get("template", "").strip()
    if not template_id:
        return None
    template = db.get(Template, template_id)
    if template is None or template.page_id != g.page.id or template.kind is not IncidentKind.MAINTENANCE:
        flash("That template is not one of this page's maintenance templates.", "error")
        return None
    return template


def _reschedulable(window: Incident) -> bool:
    return window.cancelled_at is None and window.status in (IncidentStatus.SCHEDULED, *queries.ACTIVE)


def _posted_values(names: tuple[str, ...], defaults: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": text("name"),
        "scheduled_for": text("scheduled_for"),
        "scheduled_until": text("scheduled_until"),
        "body": text("body"),
        "components": set(_component_ids()),
    }
    values.update({name: flag(name, defaults.get(name, True)) for name in names})
    return values


def _window_values(window: Incident) -> dict[str, Any]:
    return {
        "name": window.name,
        "scheduled_for": input_datetime(window.scheduled_for, g.page.time_zone),
        "scheduled_until": input_datetime(window.scheduled_until, g.page.time_zone),
        "components": {link.component_id for link in window.affected},
        "auto_in_progress": window.scheduled_auto_in_progress,
        "auto_completed": window.scheduled_auto_completed,
        "auto_transition_components": window.auto_transition_to_maintenance_state
        or window.auto_transition_to_operational_state,
        "remind_prior": window.scheduled_remind_prior,
        "notify_at_start": window.auto_transition_deliver_notifications_at_start,
        "notify_at_end": window.auto_transition_deliver_notifications_at_end,
        "notify_reschedule": True,
    }


@bp.get("/")
def index() -> str:
    search = request.args.get("q", "").strip()
    number = page_number()
    windows = queries.list_windows(db, g.page.id, search=search, page=number)
    return render_template(
        "admin/maintenance/index.html",
        windows=windows,
        search=search,
        number=number,
        zone=g.page.time_zone,
    )


@bp.get("/new")
def new() -> str:
    values: dict[str, Any] = {"name": "", "body": "", "scheduled_for": "", "scheduled_until": ""}
    values.update({name: True for name in SCHEDULE_FLAGS})
    values["components"] = set()
    template = _chosen_template()
    if template is not None:
        values.update(
            name=template.title,
            body=template.body,
            components={link.component_id for link in template.components},
            deliver_notifications=template.should_send_notifications,
            template_id=template.id,
        )
    return _render_form(None, values)


@bp.post("/")
@requires(STATUS_WRITERS)
def create() -> Response | str:
    values = _posted_values(SCHEDULE_FLAGS, {})
    try:
        starts, ends = clean_local_window(
            values["scheduled_for"], values["scheduled_until"], g.page.time_zone
        )
        window = services.schedule_window(
            db,
            g.page,
            name=values["name"],
            scheduled_for=starts,
            scheduled_until=ends,
            body=values["body"],
            component_ids=_component_ids(),
            deliver_notifications=values["deliver_notifications"],
            remind_prior=values["remind_prior"],
            auto_in_progress=values["auto_in_progress"],
            auto_completed=values["auto_completed"],
            auto_transition_components=values["auto_transition_components"],
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _render_form(None, values, errors_of(error))
    db.commit()
    flash(f"Scheduled the maintenance {window.name}.")
    flash_span_warning(window, subject="This maintenance")
    return redirect(url_for(".show", incident_id=window.id))


def _render_show(
    window: Incident,
    *,
    errors: dict[str, str] | None = None,
    cancel_errors: dict[str, str] | None = None,
    template: Template | None = None,
) -> str:
    posted = request.method == "POST"
    statuses = next_statuses(window.status) if window.cancelled_at is None else [window.status]
    status = text("status", window.status.value) if posted else window.status.value
    body = text("body") if posted and errors else ""
    notify = flag("deliver_notifications", True) if posted else True
    if template is not None and not posted:
        # A template fills the update in: its words, and its status when that is a next step.
        body, notify = template.body, template.should_send_notifications
        if template.update_status in statuses:
            status = template.update_status.value
    return render_template(
        "admin/maintenance/show.html",
        window=window,
        zone=g.page.time_zone,
        markdown=render_markdown,
        status_options=[
            (status.value, status.label + (" (no change)" if status is window.status else ""))
            for status in statuses
        ],
        values={"status": status, "body": body, "deliver_notifications": notify},
        templates=_maintenance_templates() if window.cancelled_at is None else [],
        template=template,
        errors=errors or {},
        cancel_errors=cancel_errors or {},
        cancellable=window.cancelled_at is None and window.status is IncidentStatus.SCHEDULED,
    )


@bp.get("/<incident_id>")
def show(incident_id: str) -> str:
    window = _window(incident_id)
    return _render_show(window, template=_chosen_template())


@bp.post("/<incident_id>/updates")
@requires(STATUS_WRITERS)
def post_update(incident_id: str) -> Response | str:
    window = _window(incident_id)
    try:
        update = services.post_window_update(
            db,
            window,
            actor=g.actor,
            status=clean_maintenance_status(text("status")),
            body=text("body"),
            deliver_notifications=flag("deliver_notifications", True),
        )
    except DomainError as error:
        db.rollback()
        return _render_show(_window(incident_id), errors=errors_of(error))
    db.commit()
    flash(f"Posted the update: {window.name} is {update.status.label.lower()}.")
    return redirect(url_for(".show", incident_id=window.id))


@bp.get("/<incident_id>/edit")
def edit(incident_id: str) -> str:
    window = _window(incident_id)
    return _render_form(window, _window_values(window))


@bp.post("/<incident_id>")
@requires(STATUS_WRITERS)
def update(incident_id: str) -> Response | str:
    window = _window(incident_id)
    current = _window_values(window)
    values = _posted_values(EDIT_FLAGS, current)
    transitions = values["auto_transition_components"]
    try:
        moved = False
        if _reschedulable(window):
            zone = g.page.time_zone
            starts = _typed_time(
                values["scheduled_for"], window.scheduled_for, zone, field="scheduled_for", label="Start"
            )
            ends = _typed_time(
                values["scheduled_until"], window.scheduled_until, zone, field="scheduled_until", label="End"
            )
            check_window(starts, ends)
            moved = services.reschedule_window(
                db,
                window,
                actor=g.actor,
                scheduled_for=starts,
                scheduled_until=ends,
                deliver_notifications=values["notify_reschedule"],
            )
        services.update_window(
            db,
            window,
            actor=g.actor,
            name=values["name"],
            component_ids=_component_ids(),
            remind_prior=values["remind_prior"],
            auto_in_progress=values["auto_in_progress"],
            auto_completed=values["auto_completed"],
            to_maintenance_state=transitions,
            to_operational_state=transitions,
            deliver_notifications_at_start=values["notify_at_start"],
            deliver_notifications_at_end=values["notify_at_end"],
        )
    except DomainError as error:
        db.rollback()
        return _render_form(_window(incident_id), values, errors_of(error))
    db.commit()
    flash(f"Saved the maintenance {window.name}" + (" and its new time." if moved else "."))
    flash_span_warning(window, subject="This maintenance")
    return redirect(url_for(".show", incident_id=window.id))


@bp.post("/<incident_id>/cancel")
@requires(STATUS_WRITERS)
def cancel(incident_id: str) -> Response | str:
    window = _window(incident_id)
    try:
        services.cancel_window(
            db,
            window,
            actor=g.actor,
            body=text("cancel_body"),
            deliver_notifications=flag("cancel_notify", True),
        )
    except DomainError as error:
        db.rollback()
        errors = errors_of(error)
        if "body" in errors:
            errors = {"cancel_body": errors["body"]}
        return _render_show(_window(incident_id), cancel_errors=errors)
    db.commit()
    flash(f"Cancelled the maintenance {window.name}.")
    return redirect(url_for(".show", incident_id=window.id))

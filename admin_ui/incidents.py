"""Incidents of a page: list, create (from a template), update, edit, backfill, postmortems, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.audiences import component_audiences, flash_span_warning
from admin_ui.formatting import input_datetime
from admin_ui.forms import component_changes, errors_of, flag, page_number, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.permissions import STATUS_WRITERS
from status_platform.text import render_markdown
from status_platform.validation import clean_local_datetime
from tenants.components.models import ComponentStatus
from tenants.incidents import queries, services
from tenants.incidents.models import (
    INCIDENT_STATUSES,
    Incident,
    IncidentKind,
    IncidentStatus,
    IncidentType,
    IncidentUpdate,
    Template,
)
from tenants.incidents.schemas import DERIVED, clean_impact_choice, clean_incident_status

bp = Blueprint("incidents", __name__, url_prefix="/incidents")

STATUS_OPTIONS = [(s.value, s.label) for s in INCIDENT_STATUSES]
IMPACT_OPTIONS = [
    (DERIVED, "Derived from components"),
    ("none", "None"),
    ("minor", "Minor"),
    ("major", "Major"),
    ("critical", "Critical"),
]


def _incident(incident_id: str, *, any_kind: bool = False) -> Incident:
    """This page's incident (maintenance windows live under maintenance, unless `any_kind`)."""
    incident = db.get(Incident, incident_id)
    if incident is None or incident.page_id != g.page.id:
        abort(404)
    if not any_kind and incident.kind is not IncidentKind.INCIDENT:
        abort(404)
    return incident


def _update(incident: Incident, update_id: str) -> IncidentUpdate:
    update = db.get(IncidentUpdate, update_id)
    if update is None or update.incident_id != incident.id:
        abort(404)
    return update


def _timeline_entry(incident_id: str, update_id: str) -> tuple[Incident, IncidentUpdate]:
    """An update of this page's incident or maintenance window, with that incident."""
    incident = _incident(incident_id, any_kind=True)
    return incident, _update(incident, update_id)


def _template(template_id: str) -> Template | None:
    """The page's incident template named by ?template=, None when none is asked for."""
    if not template_id:
        return None
    template = db.get(Template, template_id)
    if template is None or template.page_id != g.page.id or template.kind is not IncidentKind.INCIDENT:
        abort(404)
    return template


def _templates() -> list[Template]:
    return queries.templates_of(db, g.page.id, kind=IncidentKind.INCIDENT)[0]


def _type_options(current: IncidentType | None = None) -> list[tuple[str, str]]:
    """Offered types; an incident keeps showing its own type after that type is retired."""
    options = [("", "No type")]
    options += [(t.id, t.name) for t in queries.incident_types(db, offered_only=True)]
    if current is not None and current.is_retired:
        options.append((current.id, f"{current.name} (retired)"))
    return options


def _chosen_type() -> str | None:
    return text("incident_type_id").strip() or None


def _posted_statuses() -> dict[str, str]:
    return {
        key.removeprefix("component:"): value
        for key, value in request.form.items()
        if key.startswith("component:")
    }


def _timeline_url(incident: Incident) -> str:
    if incident.kind is IncidentKind.MAINTENANCE:
        return url_for("tenant.page.maintenance.show", incident_id=incident.id)
    return url_for(".show", incident_id=incident.id)


@bp.get("/")
def index() -> str:
    search = request.args.get("q", "").strip()
    number = page_number()
    listing = queries.incident_list(db, g.page.id, text=search, number=number)
    return render_template(
        "admin/incidents/index.html", listing=listing, search=search, number=number, args=request.args
    )


def _new_form(
    values: Any = None,
    statuses: dict[str, str] | None = None,
    notify: bool = True,
    errors: dict[str, str] | None = None,
    template: Template | None = None,
) -> str:
    return render_template(
        "admin/incidents/new.html",
        values=values or {},
        statuses=statuses or {},
        notify=notify,
        errors=errors or {},
        layout=queries.component_layout(db, g.page.id),
        status_options=STATUS_OPTIONS,
        impact_options=IMPACT_OPTIONS,
        type_options=_type_options(),
        templates=_templates(),
        template=template,
        audiences=component_audiences(),
    )


@bp.get("/new")
def new() -> str:
    template = _template(request.args.get("template", ""))
    if template is None:
        return _new_form()
    values, statuses, notify = queries.template_form_values(template)
    return _new_form(values, statuses, notify, template=template)


@bp.post("/")
@requires(STATUS_WRITERS)
def create() -> Response | str:
    try:
        incident = services.open_incident(
            db,
            g.page,
            name=text("name"),
            status=clean_incident_status(text("status")),
            body=text("body"),
            components=component_changes(),
            impact_override=clean_impact_choice(text("impact")),
            incident_type_id=_chosen_type(),
            deliver_notifications=flag("deliver_notifications", True),
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _new_form(
            request.form, _posted_statuses(), flag("deliver_notifications", True), errors_of(error)
        )
    db.commit()
    flash(f"Created the incident {incident.name}.")
    flash_span_warning(incident)
    return redirect(url_for(".show", incident_id=incident.id))


def _show(incident: Incident, errors: dict[str, str] | None = None, template: Template | None = None) -> str:
    updates = queries.timeline(db, incident)
    if request.method == "POST":
        values: Any = request.form
        statuses = _posted_statuses()
        notify = flag("deliver_notifications", True)
        restore = flag("restore_components", True)
    else:
        current = incident.status.value if incident.status in INCIDENT_STATUSES else "resolved"
        values = {"status": current}
        statuses = queries.affected_statuses(incident)
        notify, restore = True, True
        if template is not None:
            filled, filled_statuses, notify = queries.template_form_values(template)
            values = {"status": filled.get("status", current), "body": filled["body"]}
            statuses = {**statuses, **filled_statuses}
    return render_template(
        "admin/incidents/show.html",
        incident=incident,
        updates=updates,
        bodies={u.id: render_markdown(u.body) for u in updates},
        authors=queries.author_labels(db, updates),
        layout=queries.component_layout(db, g.page.id),
        status_options=STATUS_OPTIONS,
        values=values,
        statuses=statuses,
        notify=notify,
        restore=restore,
        errors=errors or {},
        templates=_templates(),
        template=template,
        audiences=component_audiences(),
    )


@bp.get("/<incident_id>")
def show(incident_id: str) -> str:
    incident = _incident(incident_id)
    return _show(incident, template=_template(request.args.get("template", "")))


def _update_changes(incident: Incident, status: IncidentStatus, restore: bool) -> dict[str, ComponentStatus]:
    """The form's component statuses without those it leaves as they are; when resolving with
    `restore`, every affected component not set otherwise goes back to Operational."""
    current = {link.component_id: link.component.status for link in incident.affected}
    changes = {cid: new for cid, new in component_changes().items() if current.get(cid) is not new}
    if status is IncidentStatus.RESOLVED and restore:
        for component_id, now in current.items():
            if component_id not in changes and now is not ComponentStatus.OPERATIONAL:
                changes[component_id] = ComponentStatus.OPERATIONAL
    return changes


@bp.post("/<incident_id>/updates")
@requires(STATUS_WRITERS)
def post_update(incident_id: str) -> Response | str:
    incident = _incident(incident_id)
    try:
        status = clean_incident_status(text("status"))
        services.post_update(
            db,
            incident,
            status=status,
            body=text("body"),
            components=_update_changes(incident, status, flag("restore_components", True)),
            deliver_notifications=flag("deliver_notifications", True),
            restore_components=False,
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _show(_incident(incident_id), errors_of(error))
    db.commit()
    flash(f"Posted the {status.label} update of {incident.name}.")
    flash_span_warning(incident)
    return redirect(url_for(".show", incident_id=incident.id))


def _edit_form(incident: Incident, errors: dict[str, str] | None = None) -> str:
    if request.method == "POST":
        values: Any = request.form
    else:
        values = {
            "name": incident.name,
            "impact": incident.impact_override.value if incident.impact_override else DERIVED,
            "incident_type_id": incident.incident_type_id or "",
        }
    return render_template(
        "admin/incidents/edit.html",
        incident=incident,
        values=values,
        errors=errors or {},
        impact_options=IMPACT_OPTIONS,
        type_options=_type_options(incident.incident_type),
    )


@bp.get("/<incident_id>/edit")
def edit(incident_id: str) -> str:
    return _edit_form(_incident(incident_id))


@bp.post("/<incident_id>")
@requires(STATUS_WRITERS)
def update(incident_id: str) -> Response | str:
    incident = _incident(incident_id)
    try:
        services.update_incident(
            db,
            incident,
            name=text("name"),
            impact_override=clean_impact_choice(text("impact")),
            incident_type_id=_chosen_type(),
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _edit_form(_incident(incident_id), errors_of(error))
    db.commit()
    flash(f"Saved the incident {incident.name}.")
    return redirect(url_for(".show", incident_id=incident.id))


def _update_form(incident: Incident, update: IncidentUpdate, errors: dict[str, str] | None = None) -> str:
    if request.method == "POST":
        values: Any = request.form
    else:
        values = {"body": update.body, "display_at": input_datetime(update.display_at, g.page.time_zone)}
    return render_template(
        "admin/incidents/edit_update.html",
        incident=incident,
        update=update,
        values=values,
        errors=errors or {},
        back=_timeline_url(incident),
        is_only=len(incident.updates) == 1,
    )


@bp.get("/<incident_id>/updates/<update_id>/edit")
def edit_update(incident_id: str, update_id: str) -> str:
    return _update_form(*_timeline_entry(incident_id, update_id))


@bp.post("/<incident_id>/updates/<update_id>")
@requires(STATUS_WRITERS)
def save_update(incident_id: str, update_id: str) -> Response | str:
    incident, update = _timeline_entry(incident_id, update_id)
    zone = g.page.time_zone
    raw = text("display_at")
    try:
        # The form shows minutes; an untouched time keeps its seconds (and its place among neighbours).
        if raw.strip() == input_datetime(update.display_at, zone):
            display_at = update.display_at
        else:
            display_at = clean_local_datetime(raw, zone, field="display_at", label="Display time")
        services.edit_update(db, update, body=text("body"), display_at=display_at, actor=g.actor)
    except DomainError as error:
        db.rollback()
        return _update_form(*_timeline_entry(incident_id, update_id), errors_of(error))
    db.commit()
    flash(f"Saved the {update.status.label} update of {incident.name}.")
    return redirect(_timeline_url(incident))


@bp.post("/<incident_id>/updates/<update_id>/delete")
@requires(STATUS_WRITERS)
def delete_update(incident_id: str, update_id: str) -> Response | str:
    incident, update = _timeline_entry(incident_id, update_id)
    label = update.status.label
    try:
        services.delete_update(db, update, actor=g.actor)
    except DomainError as error:
        db.rollback()
        return _update_form(*_timeline_entry(incident_id, update_id), errors_of(error))
    db.commit()
    flash(f"Deleted the {label} update of {incident.name}; it is now {incident.status.label}.")
    return redirect(_timeline_url(incident))


@bp.post("/<incident_id>/delete")
@requires(STATUS_WRITERS)
def delete(incident_id: str) -> Response:
    incident = _incident(incident_id)
    name = incident.name
    services.delete_incident(db, incident, actor=g.actor)
    db.commit()
    flash(f"Deleted the incident {name}.")
    return redirect(url_for(".index"))


def _postmortem_form(incident: Incident, errors: dict[str, str] | None = None) -> str:
    body = text("postmortem_body") if request.method == "POST" else (incident.postmortem_body or "")
    return render_template(
        "admin/incidents/postmortem.html",
        incident=incident,
        body=body,
        notify=flag("notify", True)
        if request.method == "POST"
        else not incident.postmortem_notified_subscribers,
        errors=errors or {},
    )


@bp.get("/<incident_id>/postmortem")
def postmortem(incident_id: str) -> str:
    return _postmortem_form(_incident(incident_id))


@bp.post("/<incident_id>/postmortem")
@requires(STATUS_WRITERS)
def save_postmortem(incident_id: str) -> Response | str:
    incident = _incident(incident_id)
    try:
        services.save_postmortem(db, incident, body=text("postmortem_body"), actor=g.actor)
    except DomainError as error:
        db.rollback()
        return _postmortem_form(_incident(incident_id), errors_of(error))
    db.commit()
    published = incident.postmortem_published_at is not None
    flash(f"Saved the postmortem of {incident.name}" + (" (published)." if published else " as a draft."))
    return redirect(url_for(".postmortem", incident_id=incident.id))


@bp.post("/<incident_id>/postmortem/publish")
@requires(STATUS_WRITERS)
def publish_postmortem(incident_id: str) -> Response | str:
    incident = _incident(incident_id)
    notify = flag("notify", False)
    already_told = incident.postmortem_notified_subscribers
    try:
        services.publish_postmortem(
            db, incident, body=request.form.get("postmortem_body"), notify=notify, actor=g.actor
        )
    except DomainError as error:
        db.rollback()
        return _postmortem_form(_incident(incident_id), errors_of(error))
    told = notify and not already_told and incident.postmortem_notified_subscribers
    db.commit()
    flash(f"Published the postmortem of {incident.name}" + (" and told subscribers." if told else "."))
    return redirect(url_for(".postmortem", incident_id=incident.id))


@bp.post("/<incident_id>/postmortem/unpublish")
@requires(STATUS_WRITERS)
def unpublish_postmortem(incident_id: str) -> Response:
    incident = _incident(incident_id)
    if services.unpublish_postmortem(db, incident, actor=g.actor):
        flash(f"Took the postmortem of {incident.name} off the public page; it is a draft again.")
    db.commit()
    return redirect(url_for(".postmortem", incident_id=incident.id))


def _backfill_form(errors: dict[str, str] | None = None) -> str:
    posted = request.method == "POST"
    return render_template(
        "admin/incidents/backfill.html",
        values=request.form if posted else {"resolution": services.DEFAULT_RESOLUTION, "impact": DERIVED},
        statuses=_posted_statuses() if posted else {},
        errors=errors or {},
        layout=queries.component_layout(db, g.page.id),
        impact_options=IMPACT_OPTIONS,
        type_options=_type_options(),
        audiences=component_audiences(),
    )


@bp.get("/backfill")
def backfill() -> str:
    return _backfill_form()


@bp.post("/backfill")
@requires(STATUS_WRITERS)
def create_backfill() -> Response | str:
    zone = g.page.time_zone
    try:
        incident = services.backfill_incident(
            db,
            g.page,
            name=text("name"),
            started_at=clean_local_datetime(text("started_at"), zone, field="started_at", label="Start"),
            resolved_at=clean_local_datetime(
                text("resolved_at"), zone, field="resolved_at", label="Resolution"
            ),
            body=text("body"),
            resolution=text("resolution"),
            components=component_changes(),
            impact_override=clean_impact_choice(text("impact")),
            incident_type_id=_chosen_type(),
            actor=g.actor,
        )
    except DomainError as error:
        db.rollback()
        return _backfill_form(errors_of(error))
    db.commit()
    flash(f"Added the past incident {incident.name}; nobody was notified.")
    flash_span_warning(incident)
    return redirect(url_for(".show", incident_id=incident.id))

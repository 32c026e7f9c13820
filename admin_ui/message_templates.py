"""Incident and maintenance templates of a page: list, write, edit, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from admin_ui.forms import component_changes, errors_of, flag, page_number, text
from admin_ui.tenant import requires
from status_platform.db.session import db
from status_platform.errors import DomainError
from status_platform.identity.permissions import STATUS_WRITERS
from tenants.incidents import queries, services
from tenants.incidents.models import INCIDENT_STATUSES, MAINTENANCE_STATUSES, Template
from tenants.incidents.schemas import clean_kind, clean_optional_status

bp = Blueprint("templates", __name__, url_prefix="/templates")

KIND_OPTIONS = [("incident", "Incident"), ("maintenance", "Maintenance")]
STATUS_OPTIONS = (
    [("", "Keep the current status")]
    + [(s.value, f"Incident: {s.label}") for s in INCIDENT_STATUSES]
    + [(s.value, f"Maintenance: {s.label}") for s in MAINTENANCE_STATUSES]
)


def _template(template_id: str) -> Template:
    template = db.get(Template, template_id)
    if template is None or template.page_id != g.page.id:
        abort(404)
    return template


@bp.get("/")
def index() -> str:
    search = request.args.get("q", "").strip()
    number = page_number()
    templates, has_more = queries.templates_of(db, g.page.id, text=search, number=number)
    return render_template(
        "admin/templates/index.html",
        templates=templates,
        has_more=has_more,
        number=number,
        search=search,
        args=request.args,
    )


def _form(template: Template | None, errors: dict[str, str] | None = None) -> str:
    if request.method == "POST":
        values: Any = request.form
        statuses = {
            k.removeprefix("component:"): v for k, v in request.form.items() if k.startswith("component:")
        }
        notify = flag("should_send_notifications", True)
    elif template is not None:
        values = {
            "kind": template.kind.value,
            "name": template.name,
            "title": template.title,
            "body": template.body,
            "update_status": template.update_status.value if template.update_status else "",
        }
        statuses = {link.component_id: link.status.value for link in template.components if link.status}
        notify = template.should_send_notifications
    else:
        kind = "maintenance" if request.args.get("kind") == "maintenance" else "incident"
        values, statuses, notify = {"kind": kind}, {}, True
    return render_template(
        "admin/templates/form.html",
        template=template,
        values=values,
        statuses=statuses,
        notify=notify,
        errors=errors or {},
        layout=queries.component_layout(db, g.page.id),
        kind_options=KIND_OPTIONS,
        status_options=STATUS_OPTIONS,
    )


def _fields() -> dict[str, Any]:
    kind = clean_kind(text("kind"))
    return {
        "kind": kind,
        "name": text("name"),
        "title": text("title"),
        "body": text("body"),
        "update_status": clean_optional_status(text("update_status"), kind=kind),
        "should_send_notifications": flag("should_send_notifications", True),
        "components": component_changes(),
    }


@bp.get("/new")
def new() -> str:
    return _form(None)


@bp.post("/")
@requires(STATUS_WRITERS)
def create() -> Response | str:
    try:
        template = services.create_template(db, g.page, actor=g.actor, **_fields())
    except DomainError as error:
        db.rollback()
        return _form(None, errors_of(error))
    db.commit()
    flash(f"Added the {template.kind.value} template {template.name}.")
    return redirect(url_for(".index"))


@bp.get("/<template_id>/edit")
def edit(template_id: str) -> str:
    return _form(_template(template_id))


@bp.post("/<template_id>")
@requires(STATUS_WRITERS)
def update(template_id: str) -> Response | str:
    template = _template(template_id)
    try:
        services.update_template(db, template, actor=g.actor, **_fields())
    except DomainError as error:
        db.rollback()
        return _form(_template(template_id), errors_of(error))
    db.commit()
    flash(f"Saved the template {template.name}.")
    return redirect(url_for(".index"))


@bp.post("/<template_id>/delete")
@requires(STATUS_WRITERS)
def delete(template_id: str) -> Response:
    template = _template(template_id)
    name = template.name
    services.delete_template(db, template, actor=g.actor)
    db.commit()
    flash(f"Deleted the template {name}.")
    return redirect(url_for(".index"))
